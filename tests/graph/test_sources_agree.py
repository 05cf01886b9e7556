"""The same Bookinfo minute fed through access logs, spans and Prometheus draws the same graph,
and fed through all three at once counts every request once."""

import time

import pytest
from django.test import override_settings

from meshview.envoy.parser import LogParser
from meshview.graph.build import graph_json, parse_request
from meshview.mesh import actions
from meshview.traces.actions import store_spans
from meshview.traces.decode import decode_otlp_protobuf
from tests import meshsim
from tests.graph import promsim, spansim
from tests.graph.conftest import bookinfo_minute

pytestmark = pytest.mark.django_db
PARAMS = {"namespaces": "bookinfo", "queryTime": str(promsim.QUERY_TIME), "duration": f"{promsim.WINDOW_S}s"}


@pytest.fixture
def fed(bookinfo_prometheus: str):
    calls = bookinfo_minute()
    actions.ingest_envoy_lines(list(meshsim.envoy_envelopes(calls)), "ndjson", LogParser("auto"), None)
    actions.settle_expired(now=time.time() + 3600)
    store_spans(decode_otlp_protobuf(spansim.render(calls).SerializeToString()))
    with override_settings(MESHVIEW_PROMETHEUS_URL=bookinfo_prometheus):
        yield


def drawn(sources: str, graph_type: str) -> tuple[set[str], dict[tuple[str, str, str], str], dict]:
    graph = graph_json(parse_request({**PARAMS, "sources": sources, "graphType": graph_type}, None))
    assert graph["warnings"] == []
    nodes = {n["data"]["id"] for n in graph["elements"]["nodes"]}
    rates = {}
    for e in graph["elements"]["edges"]:
        traffic = e["data"]["traffic"]
        rate = traffic["rates"].get("http") or traffic["rates"].get("grpc") or traffic["rates"].get("tcp", "")
        rates[(e["data"]["source"], e["data"]["target"], traffic["protocol"])] = rate
    return nodes, rates, graph


@pytest.mark.usefixtures("fed")
@pytest.mark.parametrize("graph_type", ["workload", "app", "versionedApp", "service"])
def test_every_source_alone_draws_the_same_nodes_and_edges(graph_type: str) -> None:
    accesslogs = drawn("accesslogs", graph_type)
    for other in ("spans", "prometheus"):
        nodes, rates, _ = drawn(other, graph_type)
        assert nodes == accesslogs[0], other
        http = {k: v for k, v in rates.items() if k[2] != "tcp"}
        assert http == {k: v for k, v in accesslogs[1].items() if k[2] != "tcp"}, other
        assert {k for k in rates if k[2] == "tcp"} == {k for k in accesslogs[1] if k[2] == "tcp"}, other


@pytest.mark.usefixtures("fed")
def test_all_three_together_count_each_request_once() -> None:
    alone = drawn("accesslogs", "workload")
    nodes, rates, graph = drawn("accesslogs,spans,prometheus", "workload")
    assert nodes == alone[0]
    assert rates == alone[1]
    telemetry = {tuple(e["data"]["telemetry"]) for e in graph["elements"]["edges"]}
    assert ("accesslogs", "prometheus", "spans") in telemetry


@pytest.fixture
def fed_without_mongodb_spans():
    """The same minute, but MongoDB sends no spans (it is not instrumented): spans end its
    callers' connections at the mongodb service, access logs at the mongodb-v1 workload."""
    calls = bookinfo_minute()
    actions.ingest_envoy_lines(list(meshsim.envoy_envelopes(calls)), "ndjson", LogParser("auto"), None)
    actions.settle_expired(now=time.time() + 3600)
    export = spansim.render(calls)
    traced = [r for r in export.resource_spans
              if not any(a.key == "service.name" and a.value.string_value == "mongodb" for a in r.resource.attributes)]
    del export.resource_spans[:]
    export.resource_spans.extend(traced)
    store_spans(decode_otlp_protobuf(export.SerializeToString()))


@pytest.mark.usefixtures("fed_without_mongodb_spans")
@pytest.mark.parametrize("graph_type", ["workload", "versionedApp"])
def test_a_call_spans_end_at_a_service_counts_once_with_the_access_logs_that_reached_its_workload(
    graph_type: str,
) -> None:
    alone = drawn("accesslogs", graph_type)
    nodes, rates, graph = drawn("accesslogs,spans", graph_type)
    assert nodes == alone[0]
    assert rates == alone[1]
    tcp = [e["data"] for e in graph["elements"]["edges"] if e["data"]["traffic"]["protocol"] == "tcp"]
    assert tcp and all(float(e["isMTLS"]) == 100 for e in tcp), tcp
    assert all("spans" in e["telemetry"] for e in tcp)
