"""The spans telemetry source: a Bookinfo minute sent as OTLP to /v1/traces, read back as the
traffic samples and the Kiali graph they draw; window edges, clock skew and span shapes that
are not plain client/server pairs."""

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client, override_settings
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1 import trace_pb2 as tr

from meshview.graph.engine import GraphOptions
from meshview.graph.kiali import kiali_graph
from meshview.graph.samples import UNKNOWN, UNKNOWN_SOURCE, Endpoint, TrafficSample
from meshview.graph.sources import Window
from meshview.graph.sources.spans import collect
from meshview.mesh.latency import LATENCY_BUCKETS_MS, quantile
from tests.graph.spansim import export, kv, ns, render
from tests.meshsim import (
    DETAILS,
    GATEWAY,
    NS,
    PRODUCTPAGE,
    RATINGS,
    REVIEWS,
    SERVICES,
    Call,
    Pod,
    bookinfo_calls,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("anonymous")]

C = "Kubernetes"
START = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)
T0 = int(START.timestamp())
MINUTE = Window(end=T0 + 60, duration=60, namespaces=frozenset(), cluster=C)
BUCKETS = len(LATENCY_BUCKETS_MS) + 1
CLIENT, SERVER = tr.Span.SPAN_KIND_CLIENT, tr.Span.SPAN_KIND_SERVER

# the gateway's pod names no version: Istio's canonical revision is then "latest"
GATEWAY_EP = Endpoint(C, "istio-system", "istio-ingressgateway", "istio-ingressgateway", "latest", gateway="ingress")
PRODUCTPAGE_EP = Endpoint(C, NS, "productpage-v1", "productpage", "v1")
MONGODB_EP = Endpoint(C, NS, "mongodb-v1", "mongodb", "v1")
RATINGS_EP = Endpoint(C, NS, "ratings-v1", "ratings", "v1")


@pytest.fixture
def anonymous():
    # Spans of March 2025, posted over OTLP/HTTP: kept as long as the retention says.
    with override_settings(MESHVIEW_ANONYMOUS_ACCESS=True, MESHVIEW_TRACE_RETENTION_SECONDS=100 * 365 * 86_400):
        yield


def send(client: Client, request: ExportTraceServiceRequest) -> None:
    response = client.post("/v1/traces", request.SerializeToString(), content_type="application/x-protobuf")
    assert response.status_code == 200, response.content


@pytest.fixture
def bookinfo(client: Client) -> None:
    send(client, render(bookinfo_calls(START)))


def window(end: float, duration: int = 60, namespaces: frozenset[str] = frozenset()) -> Window:
    return Window(end=int(end), duration=duration, namespaces=namespaces, cluster=C)


def brief(s: TrafficSample) -> tuple:
    return (s.source.workload, s.destination.workload, s.destination.service, s.protocol, s.response_code,
            s.requests, s.mtls, s.unknown_reason)


def histogram(**counts: int) -> tuple[int, ...]:
    """A latency histogram from {"b<index>": count}."""
    return tuple(counts.get(f"b{i}", 0) for i in range(BUCKETS))


def by_edge(samples: list[TrafficSample]) -> dict[tuple[str, str, int], TrafficSample]:
    keyed = {(s.source.workload, s.destination.service if s.destination.workload == UNKNOWN
              else s.destination.workload, s.response_code): s for s in samples}
    assert len(keyed) == len(samples)
    return keyed


def test_bookinfo_minute_gives_one_sample_per_edge_and_code(bookinfo):
    samples = collect(MINUTE)

    assert Counter(brief(s) for s in samples) == Counter([
        ("istio-ingressgateway", "productpage-v1", "productpage", "http", 200, 20, True, None),
        ("productpage-v1", "details-v1", "details", "http", 200, 20, True, None),
        ("productpage-v1", "reviews-v1", "reviews", "http", 200, 18, True, None),
        ("productpage-v1", "reviews-v2", "reviews", "http", 200, 1, True, None),
        ("productpage-v1", "reviews-v3", "reviews", "http", 200, 1, True, None),
        ("reviews-v2", "ratings-v1", "ratings", "http", 200, 1, True, None),
        ("reviews-v3", "ratings-v1", "ratings", "http", 200, 1, False, None),
        # from outside the mesh: to the pod's address or a node's, so through no service
        (UNKNOWN, "productpage-v1", "", "http", 200, 4, False, "nodeport"),
        (UNKNOWN, "details-v1", "", "http", 200, 3, False, "probe"),
        # reached no workload: terminal service nodes
        ("productpage-v1", UNKNOWN, "reviews", "http", 503, 2, False, None),
        ("productpage-v1", UNKNOWN, "ratings-canary", "http", 404, 1, False, None),
        ("ratings-v1", "mongodb-v1", "mongodb", "tcp", 0, 1, True, None),
    ])
    assert {s.telemetry for s in samples} == {"spans"}
    assert {s.response_flags for s in samples} == {"-"}  # spans carry no Envoy flags


def test_samples_carry_identity_latency_bytes_and_hosts(bookinfo):
    edges = by_edge(collect(MINUTE))

    assert edges["istio-ingressgateway", "productpage-v1", 200] == TrafficSample(
        source=GATEWAY_EP,
        destination=Endpoint(C, NS, "productpage-v1", "productpage", "v1", service="productpage"),
        protocol="http", response_code=200, mtls=True, requests=20,
        # 12 ms each, as the server measured it: the bucket (10, 25]
        latency_counts=histogram(b4=20), duration_sum_ms=240.0,
        bytes_sent=20 * 295, upstream_host="productpage.bookinfo.svc.cluster.local", telemetry="spans",
    )
    assert edges["productpage-v1", "reviews", 503] == TrafficSample(
        source=PRODUCTPAGE_EP, destination=Endpoint(C, NS, UNKNOWN, UNKNOWN, UNKNOWN, service="reviews"),
        protocol="http", response_code=503, requests=2, latency_counts=histogram(b0=2),
        bytes_sent=2 * 81, upstream_host="reviews.bookinfo.svc.cluster.local", telemetry="spans",
    )
    assert edges["ratings-v1", "mongodb-v1", 0] == TrafficSample(
        source=RATINGS_EP, destination=Endpoint(C, NS, "mongodb-v1", "mongodb", "v1", service="mongodb"),
        protocol="tcp", response_code=0, mtls=True, requests=1, bytes_received=512, bytes_sent=2048,
        upstream_host="mongodb.bookinfo.svc.cluster.local", telemetry="spans",
    )
    nodeport = edges[UNKNOWN, "productpage-v1", 200]
    assert (nodeport.source, nodeport.destination, nodeport.upstream_host) == (
        UNKNOWN_SOURCE, PRODUCTPAGE_EP, "10.128.0.9:30080",
    )

    reviews_v1 = edges["productpage-v1", "reviews-v1", 200]
    # 18 requests of 40 ms (the server's span; the client's is 0.5 ms longer) in (25, 50]
    assert reviews_v1.duration_sum_ms == 18 * 40.0
    assert quantile(reviews_v1.latency_counts, 0.5) == 37.5
    assert quantile(reviews_v1.latency_counts, 0.99) == pytest.approx(49.75)


def test_bookinfo_minute_as_a_kiali_graph(bookinfo):
    graph = kiali_graph(collect(MINUTE), GraphOptions(namespaces=frozenset({NS}), query_time=T0 + 60,
                                                      duration_s=60, inject_service_nodes=True))
    nodes = {n["data"]["id"]: n["data"] for n in graph["elements"]["nodes"]}
    edges = {(e["data"]["source"], e["data"]["target"]): e["data"] for e in graph["elements"]["edges"]}
    workload = f"workload:{C}:{NS}:".__add__
    service = f"service:{C}:{NS}:".__add__
    gateway = f"workload:{C}:istio-system:istio-ingressgateway"

    unknown = nodes["unknown"]
    assert (unknown["nodeType"], unknown["isRoot"], unknown["isInaccessible"]) == ("unknown", True, True)
    assert unknown["unknownReason"] == {"nodeport": "0.067", "probe": "0.050"}
    assert edges["unknown", workload("details-v1")]["unknownReason"] == {"probe": "0.050"}
    assert nodes[gateway]["isRoot"] is True and nodes[gateway]["isOutside"] is True

    # the circuit-broken calls end at the reviews service node, next to the traffic it passed on
    # productpage sends 43 requests: 22 to reviews (2 of them 503), 20 to details, 1 to ratings-canary
    into_reviews = edges[workload("productpage-v1"), service("reviews")]["traffic"]
    assert into_reviews["rates"] == {"http": "0.367", "http5xx": "0.033", "httpPercentErr": "9.1",
                                     "httpPercentReq": "51.2"}
    assert into_reviews["responses"]["503"] == {"flags": {"-": "9.1"},
                                                "hosts": {"reviews.bookinfo.svc.cluster.local": "9.1"}}
    assert edges[service("reviews"), workload("reviews-v1")]["traffic"]["rates"]["http"] == "0.300"
    # the 404 ends at a service no workload backs
    canary = nodes[service("ratings-canary")]
    assert (canary["nodeType"], canary.get("isDead")) == ("service", True)
    assert edges[workload("productpage-v1"), service("ratings-canary")]["traffic"]["rates"] == {
        "http": "0.017", "http4xx": "0.017", "httpPercentErr": "100.0", "httpPercentReq": "2.3",
    }
    mongodb = edges[service("mongodb"), workload("mongodb-v1")]
    assert mongodb["traffic"]["protocol"] == "tcp" and mongodb["traffic"]["rates"] == {"tcp": "8.53"}
    assert {e["telemetry"] == ["spans"] for e in edges.values()} == {True}
    # productpage → reviews: 2 in [0, 0.5] ms (the 503s), 18 in (25, 50], 2 in (50, 100];
    # the 11th of 22 is the 9th of the 18 in (25, 50]
    assert edges[workload("productpage-v1"), service("reviews")]["responseTimes"]["p50"] == "37.50"


def test_window_without_the_spans_gives_nothing(bookinfo):
    assert collect(window(T0)) == []
    assert collect(window(T0 + 120)) == []
    assert collect(window(T0 + 1, duration=1)) != []


def test_namespace_filter_keeps_edges_with_an_end_in_the_namespaces(bookinfo):
    assert {brief(s) for s in collect(window(T0 + 60, namespaces=frozenset({"istio-system"})))} == {
        ("istio-ingressgateway", "productpage-v1", "productpage", "http", 200, 20, True, None),
    }
    assert len(collect(window(T0 + 60, namespaces=frozenset({NS})))) == 12
    assert collect(window(T0 + 60, namespaces=frozenset({"default"}))) == []


def test_the_bookinfo_minute_costs_three_queries(bookinfo, django_assert_num_queries):
    # the window's spans, their resources, the children of the spans near its edges
    with django_assert_num_queries(3):
        collect(MINUTE)


def test_a_request_counts_once_in_the_window_in_which_its_caller_ended(client):
    # It starts in the first minute and ends in the second, as istio_requests_total counts it.
    end = START + timedelta(minutes=1)
    just_before = end - timedelta(microseconds=100)
    send(client, render([Call(PRODUCTPAGE, SERVICES["reviews"], REVIEWS["v1"], start=just_before)]))

    first, second = collect(window(T0 + 60)), collect(window(T0 + 120))

    assert first == []
    assert [brief(s) for s in second] == [("productpage-v1", "reviews-v1", "reviews", "http", 200, 1, True, None)]


def test_a_callee_whose_clock_runs_behind_is_counted_with_its_caller(client):
    # the caller's span starts 100 ms into the second minute, the callee's (300 ms behind) in the first
    request = render([Call(PRODUCTPAGE, SERVICES["details"], DETAILS, start=START + timedelta(seconds=60.1))])
    server = next(s for r in request.resource_spans for s in r.scope_spans[0].spans if s.kind == SERVER)
    server.start_time_unix_nano -= 300_000_000
    server.end_time_unix_nano -= 300_000_000
    send(client, request)

    assert collect(window(T0 + 60)) == []
    assert [brief(s) for s in collect(window(T0 + 120))] == [
        ("productpage-v1", "details-v1", "details", "http", 200, 1, True, None),
    ]


def span(trace: int, sid: int, parent: int = 0, kind: int = tr.Span.SPAN_KIND_INTERNAL, at_ms: int = 0,
         duration_ms: int = 5, error: bool = False, **attributes: object) -> tr.Span:
    start = ns(START) + at_ms * 1_000_000
    return tr.Span(
        trace_id=trace.to_bytes(16, "big"), span_id=sid.to_bytes(8, "big"),
        parent_span_id=parent.to_bytes(8, "big") if parent else b"", name=f"op-{sid}", kind=kind,
        start_time_unix_nano=start, end_time_unix_nano=start + duration_ms * 1_000_000,
        attributes=[kv(k.replace("__", "."), v) for k, v in attributes.items()],
        status=tr.Status(code=tr.Status.STATUS_CODE_ERROR) if error else tr.Status(),
    )


def test_span_shapes_beyond_client_server_pairs(client):
    send(client, export({
        PRODUCTPAGE: [
            # a framework's client span around the HTTP library's: one request, through the inner one
            span(1, 1, kind=CLIENT, duration_ms=30),
            span(1, 2, parent=1, kind=CLIENT, at_ms=1, duration_ms=20, server__address="details", server__port=9080),
            # an internal span calling across a process boundary with no client span (Jaeger's dependency)
            span(2, 10, duration_ms=20),
            # a refused connection to a host outside the mesh: no response
            span(3, 20, kind=CLIENT, error=True, url__full="https://api.example.com/v1/books"),
            # gRPC to a callee that is not instrumented, by IP address
            span(4, 30, kind=CLIENT, server__address="10.0.1.99", server__port=7070, rpc__system="grpc",
                 rpc__grpc__status_code=14),
            # root server spans: a Prometheus scrape, and a caller that says nothing about itself
            span(5, 40, kind=SERVER, user_agent__original="Prometheus/2.53.0", server__port=15020),
            span(6, 50, kind=SERVER, client__address="10.0.9.9", server__port=9080),
            # a workload calling its own service
            span(9, 80, kind=CLIENT, server__address="productpage.bookinfo.svc.cluster.local"),
            span(9, 81, parent=80, kind=SERVER, at_ms=1, duration_ms=3, http__response__status_code=200),
        ],
        DETAILS: [
            span(1, 3, parent=2, kind=SERVER, at_ms=2, duration_ms=10, http__response__status_code=500),
            span(2, 11, parent=10, at_ms=1, duration_ms=8),
        ],
        GATEWAY: [span(7, 60, kind=SERVER, client__address="203.0.113.7", server__port=80)],
        RATINGS: [
            # a probe, and an internal span of the same workload under it: not a request by itself
            span(8, 70, kind=SERVER, duration_ms=9, user_agent__original="kube-probe/1.29"),
            span(8, 71, parent=70, at_ms=1, duration_ms=2),
        ],
    }))

    assert Counter(brief(s) for s in collect(MINUTE)) == Counter([
        ("productpage-v1", "details-v1", "details", "http", 500, 1, False, None),
        ("productpage-v1", "details-v1", "", "http", 200, 1, False, None),
        ("productpage-v1", "productpage-v1", "productpage", "http", 200, 1, False, None),
        ("productpage-v1", UNKNOWN, "api.example.com", "http", 0, 1, False, None),
        ("productpage-v1", UNKNOWN, "PassthroughCluster", "grpc", 200, 1, False, None),
        (UNKNOWN, "productpage-v1", "", "http", 200, 1, False, "scrape"),
        (UNKNOWN, "productpage-v1", "", "http", 200, 1, False, "no-peer-identity"),
        (UNKNOWN, "ratings-v1", "", "http", 200, 1, False, "probe"),
    ])
    edges = {(s.source.workload, s.destination.service, s.protocol): s for s in collect(MINUTE)}
    external = edges["productpage-v1", "api.example.com", "http"]
    assert (external.destination.namespace, external.destination.service_entry, external.upstream_host) == (
        NS, "MESH_EXTERNAL", "api.example.com",
    )
    grpc = edges["productpage-v1", "PassthroughCluster", "grpc"]
    assert (grpc.grpc_status, grpc.upstream_host) == ("14", "10.0.1.99:7070")


def test_identity_from_resource_attributes(client):
    reviews_v2 = Pod(NS, "reviews-v2", "reviews", "v2", "10.0.1.21")
    request = export({PRODUCTPAGE: [span(1, 1, kind=CLIENT, server__address="reviews:9080")],
                      reviews_v2: [span(1, 2, parent=1, kind=SERVER, at_ms=1)]})
    # Istio's proxies name their service <app>.<namespace>; a collector adds pod labels and the cluster
    attributes = request.resource_spans[1].resource.attributes
    del attributes[:]
    attributes.extend([kv("service.name", "reviews.bookinfo"), kv("k8s.namespace.name", NS),
                       kv("k8s.pod.name", "reviews-v2-7d9c5f8b4c-qx2lm"), kv("k8s.pod.labels.version", "v2"),
                       kv("k8s.pod.labels.pod-template-hash", "7d9c5f8b4c"), kv("k8s.cluster.name", "east")])
    send(client, request)

    (sample,) = collect(MINUTE)
    assert sample.destination == Endpoint("east", NS, "reviews-v2", "reviews", "v2", service="reviews")
    assert sample.upstream_host == "reviews.bookinfo.svc.cluster.local"


def test_an_unsampled_caller_is_not_unknown(client):
    # the server span's parent was never stored: a traced caller, just not in the store
    send(client, export({DETAILS: [span(1, 2, parent=1, kind=SERVER)]}))

    assert collect(MINUTE) == []

