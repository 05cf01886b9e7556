"""Spans become requests at ingest, whatever the order and the process their halves arrive in.

The reference is the Bookinfo minute exported at once: every split of the same spans into
exports, in any order, posted to one process or two sharing the database, with a process killed
between the two halves, must give the same graph once the pairing store has settled.
"""

import random
import signal
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from django.db import transaction
from django.test import Client, override_settings
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1 import trace_pb2 as tr

from meshview.core.actions import issue_token
from meshview.graph.sources import Window
from meshview.graph.sources.spans import collect
from meshview.mesh import rollups
from meshview.mesh.models import SpanRollup
from meshview.traces import pairing
from meshview.traces.actions import store_spans
from meshview.traces.decode import decode_otlp_protobuf
from meshview.traces.models import SpanHalf
from tests.conftest import Server, database_url
from tests.graph.spansim import render
from tests.meshsim import bookinfo_calls

C = "Kubernetes"
START = datetime.now(UTC).replace(microsecond=0)
T0 = int(START.timestamp()) // 60 * 60
PB = "application/x-protobuf"


def minute() -> Window:
    return Window(end=T0 + 180, duration=240, namespaces=frozenset(), cluster=C)


def bookinfo() -> ExportTraceServiceRequest:
    return render(bookinfo_calls(datetime.fromtimestamp(T0, UTC)))


def one_span_each(request: ExportTraceServiceRequest) -> list[ExportTraceServiceRequest]:
    """Every span of `request` in an export of its own, with its resource and scope."""
    exports = []
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                exports.append(ExportTraceServiceRequest(resource_spans=[tr.ResourceSpans(
                    resource=resource_spans.resource,
                    scope_spans=[tr.ScopeSpans(scope=scope_spans.scope, spans=[span])],
                )]))
    return exports


def graph() -> Counter:
    return Counter({
        (s.source.workload, s.destination.workload, s.destination.service, s.protocol, s.response_code,
         s.upstream_host, s.unknown_reason): s.requests
        for s in collect(minute())
    })


def store(request: ExportTraceServiceRequest) -> int:
    return store_spans(decode_otlp_protobuf(request.SerializeToString()))


def settle_all() -> None:
    pairing.settle(time.time() + 3600)


@pytest.fixture
def reference() -> Counter:
    """The Bookinfo minute's graph from one export, settled (then rolled back)."""
    with transaction.atomic():
        store(bookinfo())
        expected = graph()
        settle_all()
        assert graph() == expected  # settling changes nothing that was decided
        assert not SpanHalf.objects.exists()
        transaction.set_rollback(True)
    assert not SpanRollup.objects.exists()
    assert sum(expected.values()) > 50
    return expected


@pytest.mark.django_db
@pytest.mark.parametrize("order", ["parents first", "children first", "shuffled"])
def test_halves_in_different_exports_in_any_order_pair_as_in_one(reference: Counter, order: str) -> None:
    exports = one_span_each(bookinfo())
    if order == "children first":
        exports.reverse()
    elif order == "shuffled":
        random.Random(8).shuffle(exports)
    for export in exports:
        store(export)
    assert graph() == reference  # waiting callers are drawn as what they are so far
    settle_all()
    assert graph() == reference
    assert not SpanHalf.objects.exists()


@pytest.mark.django_db
def test_a_replayed_export_counts_nothing_twice(reference: Counter) -> None:
    request = bookinfo()
    stored = store(request)
    assert stored > 50
    assert store(request) == 0  # an exporter's retry of an export that was in fact stored
    settle_all()
    assert graph() == reference


@pytest.mark.django_db
def test_the_settle_timeout_decides_unknown_callers_and_unreached_calls() -> None:
    """A caller whose child never comes is a call that reached no traced workload; a server
    span whose parent never comes is not counted; a root server span has an unknown caller."""
    from tests.graph.spansim import kv

    start = T0 * 10**9
    trace = bytes(range(16))

    def span(span_id: int, kind: int, parent: int = 0, **attributes: object) -> tr.Span:
        return tr.Span(trace_id=trace, span_id=span_id.to_bytes(8, "big"),
                       parent_span_id=parent.to_bytes(8, "big") if parent else b"", name="GET /", kind=kind,
                       start_time_unix_nano=start + span_id, end_time_unix_nano=start + span_id + 5 * 10**6,
                       attributes=[kv(k, v) for k, v in attributes.items()])

    resource = {"attributes": [kv("service.name", "cart"), kv("k8s.namespace.name", "shop"),
                               kv("k8s.deployment.name", "cart-v1")]}
    request = ExportTraceServiceRequest(resource_spans=[tr.ResourceSpans(resource=resource, scope_spans=[
        tr.ScopeSpans(spans=[
            span(1, tr.Span.SPAN_KIND_SERVER, **{"user_agent.original": "kube-probe/1.29", "server.port": 8080}),
            span(2, tr.Span.SPAN_KIND_CLIENT, parent=1, **{"server.address": "payments", "http.status_code": 503}),
            span(3, tr.Span.SPAN_KIND_CLIENT, parent=1),  # names no host: the unknown destination service
            span(4, tr.Span.SPAN_KIND_SERVER, parent=99),  # its caller's span never arrives
        ]),
    ])])
    with override_settings(MESHVIEW_SPAN_PAIR_SECONDS=10):
        store(request)
        now = time.time()
        waiting = Counter(SpanHalf.objects.values_list("waiting", flat=True))
        assert waiting == {"children": 2, "parent": 1}
        assert pairing.settle(now + 5) == 0  # not waited long enough
        expected = Counter({
            ("unknown", "cart-v1", "", "http", 200, None, "probe"): 1,
            ("cart-v1", "unknown", "payments", "http", 503, "payments.shop.svc.cluster.local", None): 1,
            ("cart-v1", "unknown", "unknown", "http", 200, None, None): 1,
        })
        assert graph() == expected  # the waiting callers as they stand
        assert pairing.settle(now + 11) == 3
    assert not SpanHalf.objects.exists()
    assert graph() == expected
    unknown_destination = [s for s in collect(minute()) if s.destination.service == "unknown"]
    assert [(d.namespace, d.workload) for d in (s.destination for s in unknown_destination)] == [
        ("unknown", "unknown")
    ]


def metric(client: Client, name: str) -> float:
    for line in client.get("/metrics").content.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} is not in /metrics")


@pytest.mark.django_db
def test_the_pairing_store_is_bounded_and_says_in_metrics_what_it_holds_and_dropped(client: Client) -> None:
    dropped = metric(client, "meshview_span_pairing_dropped_total")
    exports = one_span_each(bookinfo())
    with override_settings(MESHVIEW_SPAN_PAIR_MAX=3):
        for export in reversed(exports):  # children first: each waits for its parent
            store(export)
        assert SpanHalf.objects.count() == 3
    assert metric(client, "meshview_span_pairing_waiting_spans") == 3
    # Every span but the three kept was dropped; a client span waiting for its parent and for
    # its children was dropped from both waits.
    assert metric(client, "meshview_span_pairing_dropped_total") >= dropped + len(exports) - 3


def post(url: str, request: ExportTraceServiceRequest, token: str) -> None:
    headers = {"content-type": PB, "authorization": f"Bearer {token}"}
    response = requests.post(f"{url}/v1/traces", data=request.SerializeToString(), headers=headers, timeout=30)
    assert response.status_code == 200, response.text


@pytest.mark.django_db(transaction=True)
def test_two_serve_processes_share_the_pairing_and_a_kill_between_halves_loses_nothing(
    tmp_path: Path, reference: Counter
) -> None:
    """Callers' spans go to one process, callees' to another; the first is killed (SIGKILL, no
    clean-up) after its half and before the other half arrives."""
    _, token = issue_token("exporter", ["ingest"])
    env = {"DATABASE_URL": database_url()}
    first = Server(tmp_path / "first", env=env, args=("--no-worker",)).wait_ready()
    second = Server(tmp_path / "second", env=env, args=("--no-worker",)).wait_ready()
    try:
        exports = one_span_each(bookinfo())
        callers = [e for e in exports if e.resource_spans[0].scope_spans[0].spans[0].kind == tr.Span.SPAN_KIND_CLIENT]
        others = [e for e in exports if e not in callers]
        for export in callers:
            post(first.url, export, token)
        first.process.send_signal(signal.SIGKILL)
        first.process.wait()
        for export in others:
            post(second.url, export, token)
    finally:
        first.stop()
        second.stop()
    assert graph() == reference
    settle_all()
    assert graph() == reference
    assert rollups.read(rollups.SPANS, minute().start, minute().end)
