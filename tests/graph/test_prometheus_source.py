"""The Prometheus telemetry source against a real Prometheus holding the Bookinfo minute's Istio
metrics (backfilled by promtool, see conftest.py): exact samples, reporter deduplication, the
unknown source, terminal service nodes, TCP, mTLS, latency, namespaces, clusters and failures."""

import socket
import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from django.test import override_settings
from prometheus_api_client import PrometheusConnect

from meshview.graph.engine import GraphOptions
from meshview.graph.kiali import kiali_graph
from meshview.graph.samples import UNKNOWN, UNKNOWN_SOURCE, Endpoint, TrafficSample
from meshview.graph.sources import SourceError, Window
from meshview.graph.sources import prometheus as source
from meshview.mesh.latency import LATENCY_BUCKETS_MS, bucket_index, quantile
from tests.graph.conftest import bookinfo_minute
from tests.graph.promsim import QUERY_TIME, WINDOW_S, reporters
from tests.meshsim import PRODUCTPAGE as PRODUCTPAGE_POD
from tests.meshsim import SERVICES, Call, Pod, Service

pytestmark = pytest.mark.prometheus

C = "Kubernetes"
NS = "bookinfo"
GATEWAY = Endpoint(C, "istio-system", "istio-ingressgateway", "istio-ingressgateway", "latest", gateway="ingress")
PRODUCTPAGE = Endpoint(C, NS, "productpage-v1", "productpage", "v1")
REVIEWS = {v: Endpoint(C, NS, f"reviews-{v}", "reviews", v) for v in ("v1", "v2", "v3")}
RATINGS = Endpoint(C, NS, "ratings-v1", "ratings", "v1")


def window(*namespaces: str, end: int = QUERY_TIME, cluster: str = C) -> Window:
    return Window(end=end, duration=WINDOW_S, namespaces=frozenset(namespaces), cluster=cluster)


def collect(url: str, win: Window) -> list[TrafficSample]:
    with override_settings(MESHVIEW_PROMETHEUS_URL=url):
        return source.collect(win)


def served(endpoint: Endpoint, service: str) -> Endpoint:
    """A workload as the destination of a request to `service`."""
    return Endpoint(endpoint.cluster, endpoint.namespace, endpoint.workload, endpoint.app, endpoint.version,
                    service=service)


def terminal(service: str, namespace: str = NS) -> Endpoint:
    """The destination of a request that reached no workload."""
    return Endpoint(C, namespace, UNKNOWN, UNKNOWN, UNKNOWN, service=service)


def between(samples: list[TrafficSample], src: Endpoint, dst: Endpoint) -> list[TrafficSample]:
    """The samples from `src` to `dst`, whatever principals they name."""
    return [s for s in samples
            if replace(s.source, principal="") == src and replace(s.destination, principal="") == dst]


@pytest.fixture(scope="module")
def samples(bookinfo_prometheus: str) -> list[TrafficSample]:
    return collect(bookinfo_prometheus, window(NS))


def test_increase_over_the_window_reads_back_every_backfilled_report_exactly(bookinfo_prometheus):
    calls = bookinfo_minute()
    expected = Counter(r for call in calls if call.protocol != "tcp" for r in reporters(call))
    prometheus = PrometheusConnect(bookinfo_prometheus, disable_ssl=True)

    result = prometheus.custom_query(f"sum(increase(istio_requests_total[{WINDOW_S}s])) by (reporter)",
                                     params={"time": QUERY_TIME})

    assert {r["metric"]["reporter"]: r["value"][1] for r in result} == {
        reporter: str(count) for reporter, count in expected.items()
    }
    assert expected == {"source": 20 * 3 + 2 + 3, "destination": 20 * 3 + 2 + 4 + 3}


def test_every_call_is_counted_once_though_both_proxies_reported_it(samples):
    def edge(src: str, service: str, dst: str, code: int, flags: str) -> tuple:
        return src, service, dst, code, flags

    expected = Counter(
        edge(c.source.workload if c.source else UNKNOWN, c.service.name,
             c.destination.workload if c.destination else UNKNOWN, 0 if c.protocol == "tcp" else c.code, c.flags)
        for c in bookinfo_minute()
    )
    counted: Counter = Counter()
    for s in samples:
        counted[edge(s.source.workload, s.destination.service, s.destination.workload, s.response_code,
                     s.response_flags)] += s.requests

    assert counted == expected
    assert {s.telemetry for s in samples} == {"prometheus"}


def test_gateway_traffic_enters_productpage(samples):
    (sample,) = between(samples, GATEWAY, served(PRODUCTPAGE, "productpage"))

    assert (sample.protocol, sample.response_code, sample.response_flags, sample.requests) == ("http", 200, "-", 20)
    assert sample.mtls
    assert sample.upstream_host == "productpage.bookinfo.svc.cluster.local"
    assert sample.bytes_sent == 20 * 295
    assert sample.bytes_received == 0


def test_canary_split_of_reviews(samples):
    requests = {v: sum(s.requests for s in between(samples, PRODUCTPAGE, served(ep, "reviews")))
                for v, ep in REVIEWS.items()}

    assert requests == {"v1": 18, "v2": 1, "v3": 1}


def test_callers_outside_the_mesh_are_the_unknown_source_without_a_reason(samples):
    (nodeport,) = between(samples, UNKNOWN_SOURCE, served(PRODUCTPAGE, "productpage"))
    (probe,) = between(samples, UNKNOWN_SOURCE, served(Endpoint(C, NS, "details-v1", "details", "v1"), "details"))

    assert (nodeport.requests, probe.requests) == (4, 3)
    # Istio's labels carry no user agent nor port: why the source is unknown cannot be said.
    assert nodeport.unknown_reason is None and probe.unknown_reason is None
    assert not nodeport.mtls and not probe.mtls


def test_requests_that_reached_no_workload_end_at_service_nodes(samples):
    (circuit_broken,) = between(samples, PRODUCTPAGE, terminal("reviews"))
    (no_route,) = between(samples, PRODUCTPAGE, terminal("ratings-canary"))

    assert (circuit_broken.response_code, circuit_broken.response_flags, circuit_broken.requests) == (503, "UO", 2)
    assert circuit_broken.upstream_host == "reviews.bookinfo.svc.cluster.local"
    assert (no_route.response_code, no_route.response_flags, no_route.requests) == (404, "NR", 1)


def test_tcp_to_mongodb_counts_connections_and_bytes_in_both_directions(samples):
    (tcp,) = between(samples, RATINGS, served(Endpoint(C, NS, "mongodb-v1", "mongodb", "v1"), "mongodb"))

    assert (tcp.protocol, tcp.response_code, tcp.requests) == ("tcp", 0, 1)
    # what the client sent (istio_tcp_received_bytes_total) and what came back
    assert (tcp.bytes_received, tcp.bytes_sent) == (512, 2048)
    assert tcp.mtls
    assert tcp.latency_counts is None


def test_mtls_is_read_from_the_destination_report(samples):
    mtls = {v: [(s.mtls, s.requests) for s in between(samples, REVIEWS[v], served(RATINGS, "ratings"))]
            for v in ("v2", "v3")}

    assert mtls == {"v2": [(True, 1)], "v3": [(False, 1)]}


def test_latency_histogram_gives_the_median(samples, bookinfo_prometheus):
    (v1,) = between(samples, PRODUCTPAGE, served(REVIEWS["v1"], "reviews"))
    (gateway,) = between(samples, GATEWAY, served(PRODUCTPAGE, "productpage"))

    assert v1.latency_counts is not None and gateway.latency_counts is not None
    assert len(v1.latency_counts) == len(LATENCY_BUCKETS_MS) + 1
    assert v1.latency_counts[bucket_index(40)] == 18 == sum(v1.latency_counts)
    assert v1.duration_sum_ms == 18 * 40
    assert quantile(v1.latency_counts, 0.5) == 37.5  # halfway through (25, 50]
    # as Prometheus itself estimates it from the same buckets
    (median,) = PrometheusConnect(bookinfo_prometheus, disable_ssl=True).custom_query(
        "histogram_quantile(0.5, sum(rate(istio_request_duration_milliseconds_bucket"
        f'{{reporter="destination", destination_workload="reviews-v1"}}[{WINDOW_S}s])) by (le))',
        params={"time": QUERY_TIME},
    )
    assert float(median["value"][1]) == 37.5
    assert quantile(gateway.latency_counts, 0.5) == 17.5  # halfway through (10, 25]
    (circuit_broken,) = between(samples, PRODUCTPAGE, terminal("reviews"))
    assert circuit_broken.latency_counts == (2,) + (0,) * len(LATENCY_BUCKETS_MS)


def test_kiali_graph_from_prometheus(samples):
    kiali = kiali_graph(samples, GraphOptions(namespaces=frozenset({NS}), query_time=QUERY_TIME,
                                              duration_s=WINDOW_S, inject_service_nodes=True))
    nodes = {n["data"]["id"]: n["data"] for n in kiali["elements"]["nodes"]}
    edges = {(e["data"]["source"], e["data"]["target"]): e["data"] for e in kiali["elements"]["edges"]}
    gateway = f"workload:{C}:istio-system:istio-ingressgateway"
    productpage, reviews = f"workload:{C}:{NS}:productpage-v1", f"service:{C}:{NS}:reviews"

    assert nodes["unknown"]["nodeType"] == "unknown"
    assert nodes["unknown"]["isRoot"] and nodes["unknown"]["isInaccessible"]
    assert "unknownReason" not in nodes["unknown"]
    assert nodes[gateway]["isRoot"] and nodes[gateway]["isGateway"] == {"ingressInfo": {}}
    assert nodes[gateway]["isOutside"]
    assert nodes[f"service:{C}:{NS}:ratings-canary"]["isDead"]
    assert set(edges) >= {
        ("unknown", f"service:{C}:{NS}:productpage"), ("unknown", f"service:{C}:{NS}:details"),
        (gateway, f"service:{C}:{NS}:productpage"), (productpage, reviews),
        (reviews, f"workload:{C}:{NS}:reviews-v1"), (productpage, f"service:{C}:{NS}:ratings-canary"),
        (f"workload:{C}:{NS}:ratings-v1", f"service:{C}:{NS}:mongodb"),
    }
    # 20 reached a reviews workload, 2 were turned away by the circuit breaker
    to_reviews = edges[productpage, reviews]
    assert to_reviews["traffic"]["rates"]["http5xx"] == format(2 / WINDOW_S, ".3f")
    assert to_reviews["traffic"]["rates"]["httpPercentErr"] == "9.1"
    assert to_reviews["traffic"]["responses"]["503"]["flags"] == {"UO": "9.1"}
    assert to_reviews["traffic"]["responses"]["200"]["flags"] == {"-": "90.9"}
    assert to_reviews["healthStatus"] == "Degraded"
    assert edges[gateway, f"service:{C}:{NS}:productpage"]["isMTLS"] == "100.0"
    assert edges[f"workload:{C}:{NS}:ratings-v1", f"service:{C}:{NS}:mongodb"]["traffic"]["rates"] == {
        "tcp": format(512 / WINDOW_S, ".3f")
    }
    assert to_reviews["telemetry"] == ["prometheus"]


def test_mtls_share_of_reviews_to_ratings_in_the_app_graph(samples):
    kiali = kiali_graph(samples, GraphOptions(namespaces=frozenset({NS}), query_time=QUERY_TIME,
                                              duration_s=WINDOW_S, graph_type="app", inject_service_nodes=True))
    edges = {(e["data"]["source"], e["data"]["target"]): e["data"] for e in kiali["elements"]["edges"]}

    assert edges[f"app:{C}:{NS}:reviews", f"service:{C}:{NS}:ratings"]["isMTLS"] == "50.0"


def test_a_window_without_traffic_is_empty_not_an_error(bookinfo_prometheus):
    assert collect(bookinfo_prometheus, window(NS, end=QUERY_TIME - 3600)) == []


def test_the_gateway_namespace_sees_only_what_its_proxies_sent(bookinfo_prometheus):
    (sample,) = collect(bookinfo_prometheus, window("istio-system"))

    assert between([sample], GATEWAY, served(PRODUCTPAGE, "productpage")) == [sample]
    assert sample.requests == 20
    assert not sample.mtls  # only the destination's report knows


SHOP = "shop"
FRONTEND_POD = Pod(SHOP, "frontend-v1", "frontend", "v1", "10.0.2.10")
CART_POD = Pod(SHOP, "cart-v1", "cart", "v1", "10.0.2.20")
CART = Service("cart", SHOP, cluster_ip="10.96.2.1")


def shop_calls() -> list[Call]:
    """Traffic in a second namespace (the cart in another cluster), and into Bookinfo."""
    start = datetime.fromtimestamp(QUERY_TIME - 60, UTC)
    return [
        *(Call(FRONTEND_POD, CART, CART_POD, start=start) for _ in range(5)),
        *(Call(FRONTEND_POD, SERVICES["productpage"], PRODUCTPAGE_POD, start=start) for _ in range(2)),
    ]


@pytest.fixture(scope="module")
def two_namespaces(prometheus_with) -> str:
    # The cart runs in cluster "east"; the other proxies report no cluster name.
    return prometheus_with([*bookinfo_minute(), *shop_calls()],
                           cluster_of=lambda pod: "east" if pod is CART_POD else UNKNOWN)


def test_namespace_filter_keeps_traffic_touching_the_requested_namespaces(two_namespaces):
    def edges(*namespaces: str) -> set[tuple[str, str]]:
        return {(s.source.workload, s.destination.workload)
                for s in collect(two_namespaces, window(*namespaces, cluster="west"))}

    bookinfo, shop, everything = edges(NS), edges(SHOP), edges()

    assert ("frontend-v1", "cart-v1") not in bookinfo
    assert ("frontend-v1", "productpage-v1") in bookinfo
    assert shop == {("frontend-v1", "cart-v1"), ("frontend-v1", "productpage-v1")}
    assert everything == bookinfo | shop
    assert ("productpage-v1", "reviews-v1") in everything


def test_clusters_come_from_the_labels_else_the_window(two_namespaces):
    samples = collect(two_namespaces, window(SHOP, cluster="west"))
    (cart,) = [s for s in samples if s.destination.workload == "cart-v1"]

    # Kiali's edges name the principals Istio reported (source_principal, destination_principal)
    assert cart.destination == Endpoint("east", SHOP, "cart-v1", "cart", "v1", service="cart",
                                        principal="spiffe://cluster.local/ns/shop/sa/shop-cart")
    assert cart.source == Endpoint("west", SHOP, "frontend-v1", "frontend", "v1",
                                   principal="spiffe://cluster.local/ns/shop/sa/shop-frontend")
    assert cart.requests == 5


def test_latency_counts_from_cumulative_buckets():
    # > 0 drops the empty low buckets; a missing bound counts as the one below it
    counts = source.latency_counts({5.0: 2, 50.0: 10, 250.0: 11, float("inf"): 12})

    assert counts is not None
    assert [(i, n) for i, n in enumerate(counts) if n] == [
        (bucket_index(5), 2), (bucket_index(50), 8), (bucket_index(250), 1), (len(LATENCY_BUCKETS_MS), 1),
    ]
    # without +Inf, the largest count is the total; extrapolated counts are rounded
    assert sum(source.latency_counts({10.0: 2.9, 25.0: 4.2}) or ()) == 4
    assert source.latency_counts({}) is None


def test_unreachable_prometheus_is_a_source_error_at_once():
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    started = time.monotonic()

    with pytest.raises(SourceError, match=f"cannot connect to Prometheus at http://127.0.0.1:{port}"):
        collect(f"http://127.0.0.1:{port}", window(NS))
    assert time.monotonic() - started < 2


def test_prometheus_that_does_not_answer_times_out(monkeypatch):
    monkeypatch.setattr(source, "TIMEOUT_S", 0.5)
    with socket.socket() as silent:  # accepts connections (the kernel does) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        port = silent.getsockname()[1]
        started = time.monotonic()

        with pytest.raises(SourceError, match=r"did not answer within 0\.5 s"):
            collect(f"http://127.0.0.1:{port}", window(NS))
        assert time.monotonic() - started < 3


def test_http_error_is_a_source_error(bookinfo_prometheus):
    with pytest.raises(SourceError, match="answered with an error: HTTP Status Code 404"):
        collect(f"{bookinfo_prometheus}/not-prometheus", window(NS))


def test_not_configured_is_a_source_error():
    with pytest.raises(SourceError, match="MESHVIEW_PROMETHEUS_URL"):
        collect("", window(NS))


def test_queries_select_as_kiali_does():
    promql = {(q.measure, q.reporter, q.promql) for q in source.queries(window(NS))}

    by = ", ".join(source.EDGE_LABELS)
    assert ("requests", "destination",
            'sum(increase(istio_requests_total{reporter="destination", destination_workload_namespace="bookinfo"}'
            f"[600s])) by ({by}) > 0") in promql
    assert ("requests", "source",
            'sum(increase(istio_requests_total{reporter="source", destination_workload="unknown", '
            f'destination_service_namespace="bookinfo"}}[600s])) by ({by}) > 0') in promql
    assert ("latency", "source",
            'sum(increase(istio_request_duration_milliseconds_bucket{reporter="source", '
            f'source_workload_namespace="bookinfo"}}[600s])) by (le, {by}) > 0') in promql
    assert len(promql) == 3 * len(source.MEASURES)
