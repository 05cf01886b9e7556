"""Namespace isolation on every read path: a token restricted to `team-a` reads nothing of
`secret-ns` but what meshview.core.access allows (the service names and timing of the spans of
a trace that crosses into it, and the graph's inaccessible nodes).

`test_every_read_endpoint_is_probed` walks the URL conf and the websocket routes: an endpoint
added without a probe here fails it."""

import asyncio
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver
from opentelemetry.proto.trace.v1 import trace_pb2 as tr

from meshview.core.actions import issue_token
from meshview.envoy.parser import LogParser
from meshview.live.routing import websocket_urlpatterns
from meshview.mesh import actions
from meshview.traces.visibility import HIDDEN_SPAN_NAME
from tests import meshsim
from tests.alerts.isolation import SECRET_ID, store_secret_ns_alerts
from tests.traces.test_store_and_query import export, span

CROSSING = 0xA1  # team-a's frontend calls secret-ns's db
HIDDEN = 0xB2  # vault calls keystore, both in secret-ns
NAMESAKE = 0xC3  # a service of secret-ns named as team-a's frontend
CROSSING_ID, HIDDEN_ID = f"{CROSSING:032x}", f"{HIDDEN:032x}"
SECRET_STATEMENT = "SELECT number FROM cards"
NAMESAKE_OPERATION = "open-vault"
SECRET_REQUEST_ID = "5ec2e7a1-0000-4000-8000-00000000b2b2"
FRONTEND = meshsim.Pod("team-a", "frontend-v1", "frontend", "v1", "10.9.0.2")
VAULT = meshsim.Pod("secret-ns", "vault-v1", "vault", "v1", "10.9.0.7")
VAULT_SERVICE = meshsim.Service("vault", "secret-ns", cluster_ip="10.96.9.7")
VAULT_HOST = "vault.secret-ns.svc.cluster.local"
WS_HEADERS = [(b"host", b"127.0.0.1"), (b"origin", b"http://127.0.0.1")]


@dataclass(frozen=True)
class Probe:
    """A request for data of `secret-ns`: the unrestricted token's answer shows every `hidden`
    string (so the probe asks for hidden data), the restricted token's shows none of them, or
    is refused with `refused` when that is the rule."""

    path: str
    hidden: tuple[str, ...]
    refused: int | None = None


SEARCH = "service=vault"
V3_WINDOW = "query.startTimeMin=2020-01-01T00:00:00Z&query.startTimeMax=2100-01-01T00:00:00Z"
PROBES: dict[str, list[Probe]] = {
    "api/v1/traces": [Probe(f"/api/v1/traces?{SEARCH}", ("read-secret", HIDDEN_ID))],
    "api/v1/workloads": [Probe("/api/v1/workloads", ("vault-v1",))],
    "api/v1/namespaces": [Probe("/api/v1/namespaces", ("secret-ns",))],
    "api/v1/graph": [Probe("/api/v1/graph?namespaces=team-a,secret-ns&duration=5m&sources=accesslogs", (VAULT_HOST,))],
    "api/v1/graph/metrics": [
        # vault's inbound requests: 5 in one 10-second step, 0.5 per second.
        Probe("/api/v1/graph/metrics?namespace=secret-ns&workload=vault-v1&duration=5m&step=10", ("0.5",),
              refused=403)
    ],
    "api/v1/traces/request-ids/<str:request_id>": [
        Probe(f"/api/v1/traces/request-ids/{SECRET_REQUEST_ID}?start=0&end=4102444800000000", (HIDDEN_ID,))
    ],
    "api/v1/graph/node": [
        Probe("/api/v1/graph/node?namespace=secret-ns&workload=vault-v1&sources=accesslogs", ("vault",), refused=403)
    ],
    "kiali/api/namespaces/graph": [Probe("/kiali/api/namespaces/graph?namespaces=team-a&duration=5m", (VAULT_HOST,))],
    "kiali/api/namespaces/<str:namespace>/workloads/<str:workload>/graph": [
        Probe("/kiali/api/namespaces/secret-ns/workloads/vault-v1/graph?duration=5m", ("vault",), refused=403)
    ],
    "kiali/api/namespaces/<str:namespace>/applications/<str:app>/graph": [
        Probe("/kiali/api/namespaces/secret-ns/applications/vault/graph?graphType=app&duration=5m", ("vault",),
              refused=403)
    ],
    "kiali/api/namespaces/<str:namespace>/applications/<str:app>/versions/<str:version>/graph": [
        Probe("/kiali/api/namespaces/secret-ns/applications/vault/versions/v1/graph?graphType=versionedApp"
              "&duration=5m", ("vault",), refused=403)
    ],
    "kiali/api/namespaces/<str:namespace>/services/<str:service>/graph": [
        Probe("/kiali/api/namespaces/secret-ns/services/vault/graph?duration=5m", ("vault",), refused=403)
    ],
    "jaeger/api/services": [Probe("/jaeger/api/services", ("vault", "keystore"))],
    "jaeger/api/services/<path:service>/operations": [
        Probe("/jaeger/api/services/vault/operations", ("read-secret",)),
        Probe("/jaeger/api/services/frontend/operations", (NAMESAKE_OPERATION,)),
    ],
    "jaeger/api/operations": [
        Probe("/jaeger/api/operations?service=vault", ("read-secret",)),
        Probe("/jaeger/api/operations?service=frontend", (NAMESAKE_OPERATION,)),
        Probe("/jaeger/api/operations", (NAMESAKE_OPERATION,)),
    ],
    "jaeger/api/traces": [
        Probe(f"/jaeger/api/traces?{SEARCH}", ("read-secret", HIDDEN_ID)),
        Probe(f"/jaeger/api/traces?traceID={HIDDEN_ID}&traceID={CROSSING_ID}", ("read-secret", SECRET_STATEMENT)),
    ],
    "jaeger/api/traces/<str:trace_id>": [
        Probe(f"/jaeger/api/traces/{CROSSING_ID}", (SECRET_STATEMENT, "db.statement", "query-cards")),
        Probe(f"/jaeger/api/traces/{HIDDEN_ID}", ("read-secret",), refused=404),
    ],
    "jaeger/api/dependencies": [Probe("/jaeger/api/dependencies", ("keystore",))],
    "jaeger/api/v3/services": [Probe("/jaeger/api/v3/services", ("vault", "keystore"))],
    "jaeger/api/v3/operations": [
        Probe("/jaeger/api/v3/operations?service=vault", ("read-secret",)),
        Probe("/jaeger/api/v3/operations?service=frontend", (NAMESAKE_OPERATION,)),
    ],
    "jaeger/api/v3/traces": [
        Probe(f"/jaeger/api/v3/traces?{V3_WINDOW}&query.serviceName=vault", ("read-secret",), refused=404)
    ],
    "jaeger/api/v3/traces/<str:trace_id>": [
        Probe(f"/jaeger/api/v3/traces/{CROSSING_ID}", (SECRET_STATEMENT, "query-cards")),
        Probe(f"/jaeger/api/v3/traces/{HIDDEN_ID}", ("read-secret",), refused=404),
    ],
    "jaeger/api/v3/trace-summaries": [
        Probe(f"/jaeger/api/v3/trace-summaries?{V3_WINDOW}&query.serviceName=vault", (HIDDEN_ID,)),
        Probe(f"/jaeger/api/v3/trace-summaries?{V3_WINDOW}&query.serviceName=frontend", ('"errorSpanCount": 1',)),
    ],
    "ws/traces/": [Probe("/ws/traces/", ("read-secret", HIDDEN_ID, '"errorSpanCount": 1'))],
    "ws/graph/": [Probe("/ws/graph/?namespaces=team-a,secret-ns&duration=5m&sources=accesslogs", (VAULT_HOST,))],
    "api/v1/alerts": [Probe("/api/v1/alerts", ("vault-v1",))],
    "api/v1/alerts/(?P<pk>[^/.]+)": [Probe(f"/api/v1/alerts/{SECRET_ID}", ("vault-v1",), refused=404)],
    "api/v1/alerts/rules": [Probe("/api/v1/alerts/rules", ("vault-errors",))],
    "api/v1/alerts/rules/(?P<pk>[^/.]+)": [Probe(f"/api/v1/alerts/rules/{SECRET_ID}", ("vault-errors",), refused=404)],
    "api/v1/alerts/silences": [Probe("/api/v1/alerts/silences", ("vault maintenance",))],
    "api/v1/alerts/silences/(?P<pk>[^/.]+)": [
        Probe(f"/api/v1/alerts/silences/{SECRET_ID}", ("vault maintenance",), refused=404)
    ],
    "api/v1/alerts/deliveries": [Probe("/api/v1/alerts/deliveries", ("vault-v1",))],
    "api/v1/alerts/deliveries/(?P<pk>[^/.]+)": [
        Probe(f"/api/v1/alerts/deliveries/{SECRET_ID}", ("vault-v1",), refused=404)
    ],
}
# Endpoints that serve no namespaced data, and why.
UNNAMESPACED = {
    "healthz": "a liveness probe",
    "readyz": "the state of the database, broker and worker",
    "metrics": "meshview's own counters",
    "api/schema/": "the API's description",
    "api/docs/": "the API's description",
    "api/v1/tokens": "tokens (admin scope)",
    "v1/traces": "ingest (write only)",
    "api/v2/spans": "ingest (write only)",
    "jaeger/api/transform": "converts the OTLP JSON it is sent; reads nothing stored",
    "api/v1/ingest/envoy": "ingest (write only)",
    "admin/": "Django's admin (staff)",
    "accounts/": "login and logout",
    "": "the browser app's page",
    "graph": "the browser app's page",
    "traces": "the browser app's page",
    "traces/<str:trace_id>": "the browser app's page",
    "alerts": "the browser app's page",
    "dependencies": "the browser app's page",
    "(?P<path>.+)": "the browser app's page-not-found, for any other address",
    "api/v1/alerts/receivers": "where notifications go: URLs, no mesh data (secrets are never returned)",
    "api/v1/alerts/rules/test": "POST only; what it finds is filtered by the caller's namespaces (tests/alerts)",
    "api/v1/alerts/rules/(?P<pk>[^/.]+)/test": "POST only; a hidden rule is a 404, findings filtered (tests/alerts)",
}


def _routes(patterns: list, prefix: str = "") -> list[str]:
    routes = []
    for pattern in patterns:
        text = prefix + str(pattern.pattern).lstrip("^").rstrip("$")
        if isinstance(pattern, URLResolver):
            routes += _routes(pattern.url_patterns, text)
        elif isinstance(pattern, URLPattern):
            routes.append(text)
    return routes


def _unnamespaced(route: str) -> bool:
    return route in UNNAMESPACED or any(route.startswith(prefix) for prefix in UNNAMESPACED if prefix)


def test_every_read_endpoint_is_probed() -> None:
    routes = _routes(get_resolver().url_patterns) + _routes(websocket_urlpatterns)
    unprobed = sorted({r for r in routes if r not in PROBES and not _unnamespaced(r)})
    assert not unprobed, (
        f"endpoints without a namespace-isolation probe: {unprobed}. Make each view filter what it "
        "reads through meshview.core.access.request_access(request) (NamespaceAccess.allows / "
        ".namespaces), then add to PROBES in tests/core/test_isolation.py a request for data of "
        "secret-ns and the strings its answer must not show to a team-a token (or to UNNAMESPACED, "
        "with the reason, an endpoint that serves no namespaced data)."
    )
    assert not set(PROBES) - set(routes), f"probes of routes that no longer exist: {set(PROBES) - set(routes)}"


def _ingest_secret_ns(client: Client, admin: str) -> None:
    exports = [
        export(
            "frontend",
            [span(CROSSING, 1, "GET /checkout", dur_ms=50), span(CROSSING, 2, "charge", parent=1, start_ms=5,
                                                                 kind=tr.Span.SPAN_KIND_CLIENT)],
            {"k8s.namespace.name": "team-a"},
        ),
        export(
            "db",
            [
                span(CROSSING, 3, "query-cards", parent=2, start_ms=10, dur_ms=20,
                     attributes={"db.statement": SECRET_STATEMENT},
                     status=tr.Status(code=tr.Status.STATUS_CODE_ERROR, message="card table locked")),
            ],
            {"k8s.namespace.name": "secret-ns", "k8s.pod.name": "db-0"},
        ),
        export(
            "vault",
            [span(HIDDEN, 1, "read-secret", attributes={"guid:x-request-id": SECRET_REQUEST_ID})],
            {"k8s.namespace.name": "secret-ns"},
        ),
        export("keystore", [span(HIDDEN, 2, "unseal", parent=1, start_ms=2)], {"service.namespace": "secret-ns"}),
        export("frontend", [span(NAMESAKE, 1, NAMESAKE_OPERATION)], {"k8s.namespace.name": "secret-ns"}),
    ]
    for body in exports:
        response = client.post(
            "/v1/traces", body, content_type="application/x-protobuf", HTTP_AUTHORIZATION=f"Bearer {admin}"
        )
        assert response.status_code == 200, response.content
    start = datetime.now(UTC) - timedelta(seconds=20)
    lines = meshsim.envoy_envelopes([meshsim.Call(FRONTEND, VAULT_SERVICE, VAULT, start=start) for _ in range(5)])
    actions.ingest_envoy_lines(list(lines), "ndjson", LogParser("auto"), None)
    actions.settle_expired(now=time.time() + 60)
    store_secret_ns_alerts()


@pytest.fixture
def tokens(client: Client) -> tuple[str, str]:
    """(a read token for everything, a read token for team-a) with secret-ns's data stored."""
    _, admin = issue_token("admin", ["admin"])
    _ingest_secret_ns(client, admin)
    _, everything = issue_token("everything", ["read"])
    _, team_a = issue_token("team-a", ["read"], namespaces=["team-a"])
    return everything, team_a


def _get(client: Client, path: str, token: str) -> tuple[int, str]:
    response = client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}")
    return response.status_code, json.dumps(json.loads(response.content), indent=None)


async def _socket(path: str, token: str) -> tuple[int, str]:
    from meshview.asgi import application

    headers = [*WS_HEADERS, (b"authorization", f"Bearer {token}".encode())]
    socket = WebsocketCommunicator(application, path, headers=headers)
    connected, code = await socket.connect()
    if not connected:
        return code, ""
    message = await socket.receive_from(timeout=10)
    await socket.disconnect()
    return 200, json.dumps(json.loads(message))


def _answer(client: Client, route: str, path: str, token: str) -> tuple[int, str]:
    if route.startswith("ws/"):
        try:
            return asyncio.run(_socket(path, token))
        finally:
            connections.close_all()
    return _get(client, path, token)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("route", sorted(PROBES))
def test_a_restricted_token_reads_nothing_of_a_hidden_namespace(client: Client, tokens, route: str) -> None:
    everything, team_a = tokens
    for probe in PROBES[route]:
        status, body = _answer(client, route, probe.path, everything)
        assert status == 200, (probe.path, body)
        for hidden in probe.hidden:
            assert hidden in body, f"{probe.path} shows no {hidden!r} even unrestricted: the probe asks for nothing"
        status, body = _answer(client, route, probe.path, team_a)
        assert status == (probe.refused or 200), (probe.path, status, body)
        for hidden in probe.hidden:
            assert hidden not in body, f"{probe.path} shows {hidden!r} to a token restricted to team-a"


@pytest.mark.django_db
def test_a_trace_crossing_namespaces_shows_hidden_spans_as_service_and_timing(client: Client, tokens) -> None:
    everything, team_a = tokens
    full = client.get(f"/jaeger/api/traces/{CROSSING_ID}", HTTP_AUTHORIZATION=f"Bearer {everything}").json()
    shown = client.get(f"/jaeger/api/traces/{CROSSING_ID}", HTTP_AUTHORIZATION=f"Bearer {team_a}").json()
    (full_trace,), (shown_trace,) = full["data"], shown["data"]
    by_id = {s["spanID"]: s for s in shown_trace["spans"]}
    assert len(by_id) == 3
    for original in full_trace["spans"]:
        reduced = by_id[original["spanID"]]
        assert (reduced["startTime"], reduced["duration"], reduced["references"]) == (
            original["startTime"], original["duration"], original["references"]
        )
        process = shown_trace["processes"][reduced["processID"]]
        if process["serviceName"] == "frontend":
            assert reduced["operationName"] == original["operationName"] and reduced["tags"] == original["tags"]
        else:
            assert process == {"serviceName": "db", "tags": []}
            assert (reduced["operationName"], reduced["tags"], reduced["logs"]) == (HIDDEN_SPAN_NAME, [], [])
    summaries = client.get(
        f"/jaeger/api/v3/trace-summaries?{V3_WINDOW}&query.serviceName=frontend", HTTP_AUTHORIZATION=f"Bearer {team_a}"
    ).json()["summaries"]
    assert [(s["traceId"], s["spanCount"], s["errorSpanCount"], s["rootOperationName"]) for s in summaries] == [
        (CROSSING_ID, 3, 0, "GET /checkout")
    ]
    links = client.get("/jaeger/api/dependencies", HTTP_AUTHORIZATION=f"Bearer {team_a}").json()["data"]
    assert {(link["parent"], link["child"]) for link in links} == {("frontend", "db")}


@pytest.mark.django_db
def test_accessible_namespaces_restrict_anonymous_callers_as_a_token(client: Client, tokens) -> None:
    with override_settings(MESHVIEW_ANONYMOUS_ACCESS=True, MESHVIEW_ACCESSIBLE_NAMESPACES=["team-a"]):
        assert client.get("/jaeger/api/services").json()["data"] == ["frontend"]
        assert client.get(f"/jaeger/api/traces/{HIDDEN_ID}").status_code == 404
        assert client.get("/api/v1/namespaces").json() == {"namespaces": ["team-a"]}
