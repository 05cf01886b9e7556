"""The service graph from access logs through GET /api/v1/graph, in Kiali's JSON."""

import json
import time
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client, override_settings

from meshview.core.actions import issue_token
from meshview.graph import build
from meshview.mesh import actions
from meshview.mesh.models import Workload
from tests import meshsim

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("bookinfo")]
START = datetime(2026, 11, 26, 12, 0, 5, tzinfo=UTC)
QUERY = {
    "namespaces": "bookinfo",
    "queryTime": str(int(START.timestamp()) + 55),
    "duration": "60s",
    "sources": "accesslogs",
    "injectServiceNodes": "true",  # as Kiali's UI asks
}


@pytest.fixture
def bookinfo(client: Client):
    with override_settings(MESHVIEW_ANONYMOUS_ACCESS=True, MESHVIEW_PROMETHEUS_URL=""):
        lines = "\n".join(meshsim.envoy_envelopes(meshsim.bookinfo_calls(START)))
        answer = client.post("/api/v1/ingest/envoy", lines, content_type="application/x-ndjson").json()
        assert answer["rejected"] == 0
        actions.settle_expired(now=time.time() + 60)
        yield


def graph(client: Client, **params: str) -> dict:
    response = client.get("/api/v1/graph", {**QUERY, **params})
    assert response.status_code == 200, response.content
    return response.json()


def nodes(body: dict) -> dict[str, dict]:
    return {n["data"]["id"]: n["data"] for n in body["elements"]["nodes"]}


def edges(body: dict) -> dict[tuple[str, str], dict]:
    return {(e["data"]["source"], e["data"]["target"]): e["data"] for e in body["elements"]["edges"]}


W = "workload:Kubernetes:bookinfo:"
S = "service:Kubernetes:bookinfo:"
GATEWAY = "workload:Kubernetes:istio-system:istio-ingressgateway"


def test_workload_graph_of_the_bookinfo_minute(client: Client) -> None:
    body = graph(client, graphType="workload")
    assert (body["graphType"], body["duration"], body["warnings"]) == ("workload", 60, [])
    assert set(nodes(body)) == {
        GATEWAY,
        "unknown",
        *(
            W + w
            for w in (
                "productpage-v1",
                "reviews-v1",
                "reviews-v2",
                "reviews-v3",
                "ratings-v1",
                "details-v1",
                "mongodb-v1",
            )
        ),
        *(S + s for s in ("productpage", "reviews", "ratings", "details", "mongodb", "ratings-canary")),
    }
    unknown = nodes(body)["unknown"]
    assert (unknown["nodeType"], unknown["isRoot"], unknown["isInaccessible"]) == ("unknown", True, True)
    assert "isOutside" not in unknown
    assert set(unknown["unknownReason"]) == {"nodeport", "probe"}
    assert nodes(body)[GATEWAY]["isRoot"] is True and nodes(body)[GATEWAY]["isOutside"] is True
    e = edges(body)
    # the canary split, as shares of the reviews service's traffic
    assert [
        e[(S + "reviews", W + f"reviews-{v}")]["traffic"]["rates"]["httpPercentReq"] for v in ("v1", "v2", "v3")
    ] == ["90.0", "5.0", "5.0"]
    broken = e[(W + "productpage-v1", S + "reviews")]["traffic"]
    assert broken["responses"]["503"]["flags"] == {"UO": "9.1"}
    assert broken["rates"]["http5xx"] == "0.033"  # 2 requests in 60 s
    nr = e[(W + "productpage-v1", S + "ratings-canary")]
    assert nr["traffic"]["responses"]["404"]["flags"] == {"NR": "100.0"}
    assert nodes(body)[S + "ratings-canary"]["healthStatus"] == "Failure"
    assert e[(W + "ratings-v1", S + "mongodb")]["traffic"]["protocol"] == "tcp"
    assert e[(S + "ratings", W + "ratings-v1")]["isMTLS"] == "50.0"
    assert e[("unknown", S + "productpage")]["traffic"]["rates"]["http"] == "0.067"  # 4 NodePort requests
    # p95 interpolated in the (25, 50] ms bucket holding all 18 requests, as histogram_quantile does
    assert e[(S + "reviews", W + "reviews-v1")]["responseTime"] == "48.75"


def test_each_request_counts_once_though_both_sides_reported(client: Client) -> None:
    e = edges(graph(client, graphType="workload"))
    assert e[(GATEWAY, S + "productpage")]["traffic"]["rates"]["http"] == "0.333"  # 20 requests in 60 s
    # the service node also passes on the 4 NodePort requests: 24 in 60 s
    assert e[(S + "productpage", W + "productpage-v1")]["traffic"]["rates"]["http"] == "0.400"


def test_app_versioned_app_and_service_graphs(client: Client) -> None:
    app = nodes(graph(client, graphType="app"))
    assert "app:Kubernetes:bookinfo:reviews" in app
    assert not any(i.startswith("workload:") and "bookinfo" in i for i in app)
    versioned = edges(graph(client, graphType="versionedApp"))
    assert (
        versioned[(S + "reviews", "app:Kubernetes:bookinfo:reviews:v2")]["traffic"]["rates"]["httpPercentReq"] == "5.0"
    )
    service = graph(client, graphType="service")
    assert {n["nodeType"] for n in nodes(service).values()} <= {"service", "unknown", "workload"}
    assert (S + "productpage", S + "reviews") in edges(service)
    assert ("unknown", S + "productpage") in edges(service)


def test_inject_service_nodes_off_draws_direct_edges(client: Client) -> None:
    e = edges(graph(client, graphType="workload", injectServiceNodes="false"))
    assert (W + "productpage-v1", W + "reviews-v1") in e
    assert (W + "productpage-v1", S + "reviews") in e  # the 503s reached no workload


def test_replay_of_another_window_is_empty(client: Client) -> None:
    body = graph(client, queryTime=str(int(START.timestamp()) - 3600))
    assert body["elements"] == {"nodes": [], "edges": []}


def test_dot_export(client: Client) -> None:
    response = client.get("/api/v1/graph", {**QUERY, "format": "dot"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/vnd.graphviz")
    text = response.content.decode()
    assert text.startswith("digraph") and '"unknown"' in text and "productpage" in text


def test_node_detail_graph(client: Client) -> None:
    response = client.get("/api/v1/graph/node", {**QUERY, "namespace": "bookinfo", "workload": "reviews-v2"})
    assert response.status_code == 200, response.content
    ids = set(nodes(response.json()))
    assert W + "reviews-v2" in ids and S + "ratings" in ids
    assert W + "details-v1" not in ids
    assert client.get("/api/v1/graph/node", {**QUERY, "namespace": "bookinfo"}).status_code == 400


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("graphType", "galaxy"),
        ("duration", "forever"),
        ("queryTime", "yesterday"),
        ("sources", "tarot"),
        ("injectServiceNodes", "maybe"),
        ("boxBy", "planet"),
        ("appenders", "sparkles"),
        ("rateTcp", "lots"),
    ],
)
def test_bad_parameters_are_400s_naming_them(client: Client, param: str, value: str) -> None:
    response = client.get("/api/v1/graph", {**QUERY, param: value})
    assert response.status_code == 400
    assert param.lower().replace("_", "") in response.json()["detail"].lower().replace("_", "")


def test_inaccessible_namespaces_keep_identity_and_refuse_their_own_node_graphs(client: Client) -> None:
    with override_settings(MESHVIEW_ACCESSIBLE_NAMESPACES=["bookinfo"]):
        body = graph(client)
        node = client.get("/api/v1/graph/node", {**QUERY, "namespace": "istio-system",
                                                  "workload": "istio-ingressgateway"})
    # Kiali finalizer/outsider.go: an outside node of an unreadable namespace keeps its identity
    gateway = [n for n in nodes(body).values() if n.get("namespace") == "istio-system"]
    assert len(gateway) == 1 and gateway[0]["isInaccessible"] is True
    assert gateway[0]["workload"] == "istio-ingressgateway"
    assert node.status_code == 403
    _, raw = issue_token("narrow", ["read"], namespaces=["istio-system"])
    with override_settings(MESHVIEW_ANONYMOUS_ACCESS=False):
        response = client.get("/api/v1/graph", QUERY, HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200, response.content
    productpage = [n for n in nodes(response.json()).values() if n.get("workload") == "productpage-v1"]
    assert len(productpage) == 1 and productpage[0]["isInaccessible"] is True


def test_without_namespaces_the_graph_covers_every_namespace_the_caller_may_read(client: Client) -> None:
    explicit = graph(client, namespaces="istio-system,bookinfo")
    everything = graph(client, namespaces="")
    assert edges(everything) and edges(everything) == edges(explicit)
    assert not any(n.get("isOutside") for n in nodes(everything).values())
    with override_settings(MESHVIEW_ACCESSIBLE_NAMESPACES=["bookinfo"]):
        readable = graph(client, namespaces="")
    assert edges(readable) == edges(graph(client, namespaces="bookinfo"))
    gateway = [n for n in nodes(readable).values() if n.get("namespace") == "istio-system"]
    assert len(gateway) == 1 and gateway[0]["isInaccessible"] is True and gateway[0]["isOutside"] is True
    _, raw = issue_token("none", ["read"], namespaces=[])
    with override_settings(MESHVIEW_ANONYMOUS_ACCESS=False):
        response = client.get("/api/v1/graph", {**QUERY, "namespaces": ""}, HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200 and response.json()["elements"] == {"nodes": [], "edges": []}
    kiali = client.get("/kiali/api/namespaces/graph", {k: v for k, v in QUERY.items() if k != "namespaces"})
    assert kiali.status_code == 400 and "namespace" in kiali.json()["error"]


def test_an_unreachable_prometheus_is_a_warning_not_an_error(client: Client) -> None:
    with override_settings(MESHVIEW_PROMETHEUS_URL="http://127.0.0.1:1"):
        body = graph(client, sources="prometheus,accesslogs")
    assert len(body["warnings"]) == 1 and body["warnings"][0].startswith("prometheus:")
    assert W + "productpage-v1" in nodes(body)


def test_the_graph_costs_a_fixed_number_of_queries(client: Client, django_assert_max_num_queries) -> None:
    # A rollup read is two queries (the tiers' watermarks, then every tier at once), and one more
    # reads the clusters ingest requests named; spans add the callers still waiting for a child.
    with django_assert_max_num_queries(3):
        graph(client)
    with django_assert_max_num_queries(3):
        graph(client, sources="spans")
    with django_assert_max_num_queries(6):
        graph(client, sources="accesslogs,spans")


@pytest.fixture(params=["locmem", "redis"])
def shared_cache(request: pytest.FixtureRequest):
    if request.param == "locmem":
        config = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    else:
        url = request.getfixturevalue("redis_url")
        config = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}}
    with override_settings(CACHES=config):
        from django.core.cache import caches

        caches["default"].clear()
        yield
        caches["default"].clear()


@pytest.mark.usefixtures("shared_cache")
def test_many_viewers_of_the_live_graph_cost_one_computation(
    client: Client, django_assert_num_queries, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The viewers come within the cache's lifetime however slow the machine is.
    monkeypatch.setattr(build, "LIVE_TTL_SECONDS", 60)
    live = {k: v for k, v in QUERY.items() if k != "queryTime"}
    first = client.get("/api/v1/graph", live).json()
    with django_assert_num_queries(0):
        for _ in range(20):
            assert client.get("/api/v1/graph", live).json() == first


def _hosts(body: dict) -> set[str]:
    return {
        host
        for edge in body["elements"]["edges"]
        for answer in edge["data"]["traffic"].get("responses", {}).values()
        for host in answer["hosts"]
    }


def test_edges_name_no_upstream_host_of_a_hidden_namespace(client: Client) -> None:
    assert any("bookinfo" in host for host in _hosts(graph(client, namespaces="istio-system,bookinfo")))
    with override_settings(MESHVIEW_ACCESSIBLE_NAMESPACES=["istio-system"]):
        body = graph(client, namespaces="istio-system,bookinfo")
    assert body["elements"]["edges"]
    assert not any("bookinfo" in host or host.startswith("10.0.1.") for host in _hosts(body))


def test_each_workload_is_in_the_cluster_its_ingest_request_named(client: Client) -> None:
    # Kiali (telemetry/istio/istio.go): every node is in its own cluster; the access-log source
    # learns it from the `cluster` of the ingest request that carried the workload's own records
    calls = meshsim.bookinfo_calls(START)
    envelopes = list(meshsim.envoy_envelopes(calls))
    west = [e for e in envelopes if json.loads(e)["kubernetes"]["pod_name"].startswith("productpage")]
    east = [e for e in envelopes if e not in west]
    with override_settings(MESHVIEW_ANONYMOUS_ACCESS=True):
        for cluster, lines in (("west", west), ("east", east)):
            answer = client.post(f"/api/v1/ingest/envoy?cluster={cluster}", "\n".join(lines),
                                 content_type="application/x-ndjson").json()
            assert answer["rejected"] == 0
        actions.settle_expired(now=time.time() + 60)
        body = graph(client, boxBy="cluster")
        refused = client.post("/api/v1/ingest/envoy?cluster=no%20such", "\n".join(west[:1]),
                              content_type="application/x-ndjson")
    drawn = nodes(body)
    assert drawn["workload:west:bookinfo:productpage-v1"]["parent"] == "box:cluster:west"
    assert drawn["workload:east:bookinfo:reviews-v1"]["cluster"] == "east"
    assert drawn["service:east:bookinfo:reviews"]["cluster"] == "east"
    # the unknown source stays in no cluster; Kiali draws it in cluster "unknown"
    assert drawn["unknown"]["cluster"] == "unknown"
    assert (W + "productpage-v1") not in drawn  # no node is left in the home cluster
    assert refused.status_code == 400 and "cluster" in refused.json()["detail"]


def test_ingest_envoy_names_the_cluster_of_its_files(tmp_path) -> None:
    calls = meshsim.bookinfo_calls(START)[:5]
    log = tmp_path / "access.ndjson"
    log.write_text("\n".join(meshsim.envoy_envelopes(calls)) + "\n")
    call_command("ingest_envoy", str(log), "--ndjson", "--cluster", "east", stdout=StringIO(), stderr=StringIO())
    reporters = {pod.workload for call in calls for pod in (call.source, call.destination) if pod is not None}
    assert set(Workload.objects.filter(cluster="east").values_list("name", flat=True)) == reporters


def test_a_client_side_record_without_upstream_goes_to_the_unknown_destination(client: Client) -> None:
    line = ('[2026-11-26T12:00:30.000Z] "GET /nothing HTTP/1.1" 404 NR route_not_found - "-" 0 0 0 - "-" '
            '"curl/8.5.0" "nr-1" "-" "-" - - 10.244.0.12:8080 10.244.0.1:51532 - -')
    reporter = "namespace=istio-system&workload=istio-ingressgateway&role=ingress-gateway"
    with override_settings(MESHVIEW_ANONYMOUS_ACCESS=True):
        answer = client.post(f"/api/v1/ingest/envoy?{reporter}", line, content_type="text/plain").json()
    assert answer["accepted"] == 1, answer
    body = graph(client, namespaces="istio-system")
    # Kiali (graph/types.go Id): a request that names no destination service goes to the
    # service node "unknown" of namespace unknown, not to the unknown source, which stays a root
    assert (GATEWAY, "service:unknown:unknown:unknown") in edges(body)
    assert "unknown" not in nodes(body)  # no unknown caller reached istio-system
