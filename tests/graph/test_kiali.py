"""Kiali's graph JSON from the Bookinfo-like mesh: rates, responses, percentages, response
times, mTLS, health, unknown reasons, and the shape a Kiali client reads."""

import gc
import json
import random
from dataclasses import replace

import pytest

from meshview.graph.engine import build_graph
from meshview.graph.kiali import (
    DEGRADED,
    FAILURE,
    HEALTHY,
    NA,
    format_percent,
    format_rate,
    health_status,
    kiali_graph,
    to_kiali_json,
)
from tests.graph.test_engine import (
    DETAILS,
    GATEWAY,
    GATEWAY_NODE,
    LATENCY,
    NOW,
    PRODUCTPAGE,
    RATINGS,
    SA,
    app,
    bookinfo,
    options,
    sample,
    service,
    workload,
)


def elements(kiali: dict) -> tuple[dict, dict]:
    """Node data and edge data of a Kiali graph, by id (and edges also by (source, target))."""
    nodes = {n["data"]["id"]: n["data"] for n in kiali["elements"]["nodes"]}
    edges = {(e["data"]["source"], e["data"]["target"]): e["data"] for e in kiali["elements"]["edges"]}
    return nodes, edges


def test_response_shape_and_order():
    kiali = kiali_graph(bookinfo(), options())

    assert {k: kiali[k] for k in ("timestamp", "duration", "graphType")} == {
        "timestamp": NOW, "duration": 100, "graphType": "workload",
    }
    node_ids = [n["data"]["id"] for n in kiali["elements"]["nodes"]]
    edge_ids = [e["data"]["id"] for e in kiali["elements"]["edges"]]
    assert node_ids == sorted(node_ids)
    assert edge_ids == sorted(edge_ids)
    assert f"{workload('reviews-v2')}->{service('ratings')}:http" in edge_ids


def test_output_does_not_depend_on_sample_order():
    samples = bookinfo()
    shuffled = samples[:]
    random.Random(7).shuffle(shuffled)

    assert json.dumps(kiali_graph(samples, options())) == json.dumps(kiali_graph(shuffled, options()))


def test_canary_split_shows_as_percent_of_requests_per_version():
    _, edges = elements(kiali_graph(bookinfo(), options(graph_type="versionedApp")))

    assert {v: edges[service("reviews"), app("reviews", v)]["traffic"]["rates"] for v in ("v1", "v2", "v3")} == {
        "v1": {"http": "9.00", "httpPercentReq": "90.0"},
        "v2": {"http": "0.500", "httpPercentReq": "5.0"},
        "v3": {"http": "0.500", "httpPercentReq": "5.0"},
    }
    # productpage's outbound HTTP: reviews 1000, details 1000, recommendations 20, cnn 10
    assert edges[app("productpage", "v1"), service("reviews")]["traffic"]["rates"]["httpPercentReq"] == "49.3"

    _, direct = elements(kiali_graph(bookinfo(), options(graph_type="versionedApp",
                                                         inject_service_nodes=False)))
    assert [direct[app("productpage", "v1"), app("reviews", v)]["traffic"]["rates"]["httpPercentReq"]
            for v in ("v1", "v2", "v3")] == ["44.3", "2.5", "2.5"]


def test_circuit_broken_edge():
    nodes, edges = elements(kiali_graph(bookinfo(), options()))

    edge = edges[workload("reviews-v3"), service("ratings")]
    assert edge["traffic"] == {
        "protocol": "http",
        "rates": {"http": "0.500", "http5xx": "0.500", "httpPercentErr": "100.0", "httpPercentReq": "100.0"},
        "responses": {"503": {"flags": {"UO": "100.0"}, "hosts": {}}},
    }
    assert edge["healthStatus"] == FAILURE
    assert nodes[workload("reviews-v3")]["healthStatus"] == FAILURE
    assert nodes[workload("reviews-v3")]["healthData"] == {"inbound": {"http": HEALTHY},
                                                          "outbound": {"http": FAILURE}}
    # ratings' service: 50 OK from reviews-v2, 50 UO from reviews-v3
    assert nodes[service("ratings")]["traffic"] == [
        {"protocol": "http", "rates": {"httpIn": "1.00", "httpIn5xx": "0.500", "httpOut": "0.500"}},
    ]
    assert nodes[service("ratings")]["healthStatus"] == FAILURE
    # the edge into ratings-v1 is judged by reviews' service outbound (failing) and ratings-v1
    assert edges[service("ratings"), workload("ratings-v1")]["healthStatus"] == HEALTHY


def test_no_route_to_a_service_without_workloads():
    nodes, edges = elements(kiali_graph(bookinfo(), options()))

    edge = edges[workload("productpage-v1"), service("recommendations")]
    assert edge["traffic"] == {
        "protocol": "http",
        "rates": {"http": "0.200", "http4xx": "0.200", "httpPercentErr": "100.0", "httpPercentReq": "1.0"},
        "responses": {"404": {"flags": {"NR": "100.0"}, "hosts": {}}},
    }
    # productpage's outbound has 1% 4xx (healthy) but recommendations' inbound is all 4xx
    assert edge["healthStatus"] == FAILURE
    assert nodes[service("recommendations")]["isDead"] is True
    assert "traffic" in nodes[service("recommendations")]


def test_tcp_edge():
    nodes, edges = elements(kiali_graph(bookinfo(), options()))

    assert edges[workload("ratings-v1"), service("mongodb")]["traffic"] == {
        "protocol": "tcp", "rates": {"tcp": "5000.00"},
        "responses": {"-": {"flags": {"-": "100.0"}, "hosts": {}}},
    }
    assert edges[workload("ratings-v1"), service("mongodb")]["healthStatus"] == NA
    assert nodes[workload("mongodb-v1")]["traffic"] == [{"protocol": "tcp", "rates": {"tcpIn": "5000.00"}}]
    assert nodes[workload("mongodb-v1")]["healthStatus"] == NA
    assert nodes[workload("ratings-v1")]["traffic"] == [
        {"protocol": "http", "rates": {"httpIn": "0.500"}},
        {"protocol": "tcp", "rates": {"tcpOut": "5000.00"}},
    ]
    for rate_tcp, expected in (("received", "10000.00"), ("total", "15000.00")):
        _, edges = elements(kiali_graph(bookinfo(), options(rate_tcp=rate_tcp)))
        assert edges[workload("ratings-v1"), service("mongodb")]["traffic"]["rates"] == {"tcp": expected}


def test_grpc_edge_files_responses_by_grpc_status():
    nodes, edges = elements(kiali_graph(bookinfo(), options()))

    edge = edges[workload("productpage-v1"), service("inventory")]
    assert edge["traffic"] == {
        "protocol": "grpc",
        "rates": {"grpc": "1.00", "grpcErr": "0.080", "grpcNoResponse": "0.020", "grpcPercentErr": "10.0",
                  "grpcPercentReq": "100.0"},
        "responses": {"0": {"flags": {"-": "90.0"}, "hosts": {}}, "14": {"flags": {"-": "8.0"}, "hosts": {}},
                      "-": {"flags": {"DC": "2.0"}, "hosts": {}}},
    }
    # 8% errors and 2% without response: each degraded, neither failing
    assert edge["healthStatus"] == DEGRADED
    assert nodes[workload("inventory-v1")]["traffic"] == [
        {"protocol": "grpc", "rates": {"grpcIn": "1.00", "grpcInErr": "0.080", "grpcInNoResponse": "0.020"}},
    ]
    productpage = nodes[workload("productpage-v1")]
    assert productpage["traffic"] == [
        {"protocol": "http", "rates": {"httpIn": "11.00", "httpOut": "20.30"}},
        {"protocol": "grpc", "rates": {"grpcOut": "1.00"}},
    ]
    assert productpage["healthData"] == {"inbound": {"http": HEALTHY},
                                         "outbound": {"http": HEALTHY, "grpc": DEGRADED}}
    assert productpage["healthStatus"] == DEGRADED


def test_mtls_share_and_principals():
    _, edges = elements(kiali_graph(bookinfo(), options()))

    assert edges[workload("productpage-v1"), service("details")]["isMTLS"] == "50.0"
    assert edges[GATEWAY_NODE, service("productpage")]["isMTLS"] == "100.0"
    assert "isMTLS" not in edges["unknown", service("productpage")]
    to_reviews = edges[workload("productpage-v1"), service("reviews")]
    assert to_reviews["sourcePrincipal"] == SA + "bookinfo-productpage"
    assert to_reviews["destPrincipal"] == SA + "bookinfo-reviews"


def test_unknown_source_and_its_reasons():
    nodes, edges = elements(kiali_graph(bookinfo(), options()))

    assert nodes["unknown"] == {
        "id": "unknown", "nodeType": "unknown", "cluster": "unknown", "namespace": "unknown",
        "workload": "unknown", "app": "unknown", "version": "unknown", "isInaccessible": True, "isRoot": True,
        "traffic": [{"protocol": "http", "rates": {"httpOut": "1.20"}}],
        "unknownReason": {"nodeport": "1.00", "probe": "0.200"},
    }
    assert edges["unknown", service("productpage")]["unknownReason"] == {"nodeport": "1.00"}
    assert edges["unknown", workload("details-v1")]["unknownReason"] == {"probe": "0.200"}
    # the reason belongs to where the unknown source's traffic leaves it, not further on
    assert "unknownReason" not in edges[service("productpage"), workload("productpage-v1")]
    assert "unknownReason" not in nodes[service("productpage")]


def test_response_times_from_the_latency_histogram():
    _, edges = elements(kiali_graph(bookinfo(), options()))

    edge = edges[GATEWAY_NODE, service("productpage")]
    assert edge["responseTimes"] == {"avg": "12.00", "p50": "10.00", "p95": "37.50", "p99": "47.50"}
    assert edge["responseTime"] == "37.50"
    assert "responseTime" not in edges[workload("productpage-v1"), service("details")]  # no histogram
    for response_time, expected in (("avg", "12.00"), ("50", "10.00"), ("99", "47.50")):
        _, edges = elements(kiali_graph(bookinfo(), options(response_time=response_time)))
        assert edges[GATEWAY_NODE, service("productpage")]["responseTime"] == expected


def test_throughput():
    _, edges = elements(kiali_graph(bookinfo(), options()))
    assert edges[GATEWAY_NODE, service("productpage")]["throughput"] == "50000.00"

    _, edges = elements(kiali_graph(bookinfo(), options(throughput_type="request")))
    assert edges[GATEWAY_NODE, service("productpage")]["throughput"] == "1000.00"


def test_without_appenders_only_traffic_is_reported():
    nodes, edges = elements(kiali_graph(bookinfo(), options(appenders=frozenset())))

    edge = edges[GATEWAY_NODE, service("productpage")]
    assert set(edge) == {"id", "source", "target", "traffic", "telemetry"}
    assert set(nodes[workload("reviews-v3")]) == {"id", "nodeType", "cluster", "namespace", "workload",
                                                  "app", "version", "destServices", "traffic"}
    assert "isDead" not in nodes[service("recommendations")]


def test_edge_seen_by_two_telemetry_sources_lists_both():
    samples = [sample(PRODUCTPAGE, DETAILS, 900, telemetry="accesslogs"),
               sample(PRODUCTPAGE, DETAILS, 1000, telemetry="prometheus")]

    _, edges = elements(kiali_graph(samples, options(inject_service_nodes=False)))

    edge = edges[workload("productpage-v1"), workload("details-v1")]
    assert edge["traffic"]["rates"] == {"http": "10.00", "httpPercentReq": "100.0"}
    assert edge["telemetry"] == ["accesslogs", "prometheus"]


def test_inaccessible_node_keeps_identity_but_no_health():
    gateway = replace(GATEWAY, principal="spiffe://cluster.local/ns/istio-system/sa/gateway")
    nodes, edges = elements(kiali_graph([sample(gateway, PRODUCTPAGE, 100, mtls=True)],
                                        options(accessible_namespaces=frozenset({"bookinfo"}))))

    # Kiali: the node keeps its identity (finalizer/outsider.go) and the health appender skips
    # inaccessible nodes (appender/health.go); the edge keeps its security data
    inaccessible = nodes[GATEWAY_NODE]
    assert (inaccessible["workload"], inaccessible["app"], inaccessible["isInaccessible"]) == (
        "istio-ingressgateway", "istio-ingressgateway", True)
    assert "healthData" not in inaccessible and "healthStatus" not in inaccessible
    edge = edges[GATEWAY_NODE, service("productpage")]
    assert edge["sourcePrincipal"] == "spiffe://cluster.local/ns/istio-system/sa/gateway"
    assert edge["isMTLS"] == "100.0"


def test_edge_health_is_the_edges_own():
    # productpage calls details at 100 % 200 while reviews-v3 fails half its calls to ratings:
    # productpage's outbound and ratings' inbound are degraded, but Kiali rates an edge by its own
    # responses (appender/health.go calculateEdgeHealthStatus)
    samples = [sample(PRODUCTPAGE, DETAILS, 100), sample(PRODUCTPAGE, RATINGS, 50),
               sample(PRODUCTPAGE, RATINGS, 50, code=500), sample(DETAILS, RATINGS, 100)]
    nodes, edges = elements(kiali_graph(samples, options(inject_service_nodes=False)))

    assert nodes[workload("productpage-v1")]["healthData"]["outbound"] == {"http": FAILURE}
    assert edges[workload("productpage-v1"), workload("details-v1")]["healthStatus"] == HEALTHY
    assert edges[workload("details-v1"), workload("ratings-v1")]["healthStatus"] == HEALTHY
    assert edges[workload("productpage-v1"), workload("ratings-v1")]["healthStatus"] == FAILURE


def test_grpc_message_edge_json():
    inventory = replace(DETAILS, workload="inventory-v1", app="inventory", service="inventory")
    grpc = sample(PRODUCTPAGE, inventory, 100, protocol="grpc", grpc_status="0", request_messages=200,
                  response_messages=50, upstream_host="inventory.bookinfo.svc.cluster.local")
    nodes, edges = elements(kiali_graph([grpc], options(rate_grpc="sent", inject_service_nodes=False)))

    # Kiali (graph/api/testdata/test_rates_sent_graph.expected): messages per second, a share of
    # the source's messages, responses under "-" with hosts only, no error rates
    edge = edges[workload("productpage-v1"), workload("inventory-v1")]
    assert edge["traffic"] == {
        "protocol": "grpc", "rates": {"grpc": "2.00", "grpcPercentReq": "100.0"},
        "responses": {"-": {"hosts": {"inventory.bookinfo.svc.cluster.local": "100.0"}}},
    }
    assert nodes[workload("inventory-v1")]["traffic"] == [{"protocol": "grpc", "rates": {"grpcIn": "2.00"}}]


def test_idle_edge():
    nodes, edges = elements(kiali_graph([sample(RATINGS, replace(DETAILS, service=""), 0)],
                                        options(include_idle_edges=True)))

    edge = edges[workload("ratings-v1"), workload("details-v1")]
    assert edge["traffic"] == {"protocol": "http", "rates": {}, "responses": {}}
    assert edge["healthStatus"] == NA
    assert nodes[workload("ratings-v1")]["isIdle"] is True
    assert "traffic" not in nodes[workload("ratings-v1")]


def test_boxes_in_json():
    nodes, _ = elements(to_kiali_json(build_graph(bookinfo(), options(box_by=frozenset({"namespace"})))))

    assert nodes["box:namespace:Kubernetes:bookinfo"] == {
        "id": "box:namespace:Kubernetes:bookinfo", "nodeType": "box", "isBox": "namespace",
        "cluster": "Kubernetes", "namespace": "bookinfo",
    }
    assert nodes[workload("reviews-v1")]["parent"] == "box:namespace:Kubernetes:bookinfo"
    assert "parent" not in nodes["unknown"]


@pytest.mark.parametrize(("value", "expected"), [
    (12.345678, "12.35"), (1, "1.00"), (0.5, "0.500"), (0.0123, "0.012"), (0.0004, "0.0004"),
    (0.000012, "0.00001"),
])
def test_format_rate(value, expected):
    assert format_rate(value) == expected


@pytest.mark.parametrize(("value", "expected"), [(49.2611, "49.3"), (100, "100.0"), (0.01, "0.01")])
def test_format_percent(value, expected):
    assert format_percent(value) == expected


@pytest.mark.parametrize(("protocol", "counts", "expected"), [
    # http counts: total, 3xx, 4xx, 5xx, no response
    ("http", (1000, 0, 0, 0, 0), HEALTHY),
    ("http", (1000, 500, 0, 0, 0), HEALTHY),
    ("http", (1000, 0, 0, 1, 0), DEGRADED),
    ("http", (1000, 0, 0, 99, 0), DEGRADED),
    ("http", (1000, 0, 0, 100, 0), FAILURE),
    ("http", (1000, 0, 99, 0, 0), HEALTHY),
    ("http", (1000, 0, 100, 0, 0), DEGRADED),
    ("http", (1000, 0, 199, 0, 0), DEGRADED),
    ("http", (1000, 0, 200, 0, 0), FAILURE),
    ("http", (1000, 0, 0, 0, 1), DEGRADED),
    ("http", (1000, 0, 0, 0, 100), FAILURE),
    ("http", (0, 0, 0, 0, 0), NA),
    # grpc counts: total, status 1-16, no response
    ("grpc", (100, 1, 0), DEGRADED),
    ("grpc", (100, 10, 0), FAILURE),
    ("grpc", (100, 0, 10), FAILURE),
    ("tcp", (1000,), NA),
])
def test_health_tolerances(protocol, counts, expected):
    assert health_status(protocol, counts) == expected


def test_gateway_is_a_root_even_in_a_single_namespace_view():
    nodes, _ = elements(kiali_graph(bookinfo(), options(namespaces=frozenset({"istio-system"}))))

    assert nodes[GATEWAY_NODE]["isRoot"] is True
    assert nodes[GATEWAY_NODE]["isGateway"] == {"ingressInfo": {}}
    assert "isOutside" not in nodes[GATEWAY_NODE]


def test_response_times_of_an_edge_merge_its_callers_histograms():
    slow = tuple(1000 if i == 6 else 0 for i in range(len(LATENCY)))  # all in (50, 100] ms
    samples = [sample(PRODUCTPAGE, DETAILS, 1000, latency_counts=LATENCY, duration_sum_ms=12_000),
               sample(RATINGS, DETAILS, 1000, latency_counts=slow, duration_sum_ms=75_000)]

    _, edges = elements(kiali_graph(samples, options()))

    assert edges[service("details"), workload("details-v1")]["responseTimes"] == {
        "avg": "43.50", "p50": "50.00", "p95": "95.00", "p99": "99.00",
    }


@pytest.mark.parametrize("graph_type", ["workload", "versionedApp", "service"])
def test_a_graph_and_its_json_are_freed_without_the_garbage_collector(graph_type):
    # graph_json pauses collections while it works: what it allocated must go when its
    # references do, so no reference cycle may hold the graph (networkx's edge views make one).
    drawn = options(graph_type=graph_type, box_by=frozenset({"app", "namespace"}))
    kiali_graph(bookinfo(), drawn)  # first uses of library code may leave garbage of their own
    gc.collect()
    gc.disable()
    try:
        kiali_graph(bookinfo(), drawn)
        unreachable = gc.collect()
    finally:
        gc.enable()
    assert unreachable == 0
