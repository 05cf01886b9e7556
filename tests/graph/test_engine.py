"""The graph engine on a Bookinfo-like mesh: node sets per graph type, service injection, node
flags, telemetry merging, idle and dead nodes, boxes and node focus."""

from dataclasses import replace

import pytest

from meshview.graph.engine import GraphOptions, build_graph, response_code
from meshview.graph.samples import UNKNOWN_SOURCE, Endpoint, TrafficSample
from meshview.mesh.latency import LATENCY_BUCKETS_MS

C = "Kubernetes"
NOW = 1_700_000_000
SA = "spiffe://cluster.local/ns/bookinfo/sa/"

GATEWAY = Endpoint(C, "istio-system", "istio-ingressgateway", "istio-ingressgateway", "",
                   "istio-ingressgateway", gateway="ingress")
PRODUCTPAGE = Endpoint(C, "bookinfo", "productpage-v1", "productpage", "v1", "productpage",
                       principal=SA + "bookinfo-productpage")
REVIEWS = [Endpoint(C, "bookinfo", f"reviews-v{v}", "reviews", f"v{v}", "reviews",
                    principal=SA + "bookinfo-reviews") for v in (1, 2, 3)]
RATINGS = Endpoint(C, "bookinfo", "ratings-v1", "ratings", "v1", "ratings")
DETAILS = Endpoint(C, "bookinfo", "details-v1", "details", "v1", "details")
MONGODB = Endpoint(C, "bookinfo", "mongodb-v1", "mongodb", "v1", "mongodb")
INVENTORY = Endpoint(C, "bookinfo", "inventory-v1", "inventory", "v1", "inventory")
# Destinations that reached no workload: terminal service nodes.
RATINGS_SERVICE = Endpoint(C, "bookinfo", "unknown", "", "", "ratings")
RECOMMENDATIONS = Endpoint(C, "bookinfo", "unknown", "", "", "recommendations")
CNN = Endpoint(C, "bookinfo", "", "", "", "edition.cnn.com", service_entry="MESH_EXTERNAL")
DETAILS_POD = replace(DETAILS, service="")  # kubelet probes reach the pod, not the service

# 1000 requests: 500 in (5, 10] ms, 400 in (10, 25], 100 in (25, 50].
LATENCY = tuple({3: 500, 4: 400, 5: 100}.get(i, 0) for i in range(len(LATENCY_BUCKETS_MS) + 1))


def sample(source: Endpoint, destination: Endpoint, requests: float, code: int = 200, **fields) -> TrafficSample:
    fields.setdefault("protocol", "http")
    fields.setdefault("telemetry", "accesslogs")
    return TrafficSample(source=source, destination=destination, response_code=code, requests=requests,
                         **fields)


def bookinfo() -> list[TrafficSample]:
    """Bookinfo over 100 s, with the traffic Kiali's users ask about most."""
    return [
        sample(GATEWAY, PRODUCTPAGE, 1000, mtls=True, latency_counts=LATENCY, duration_sum_ms=12_000,
               bytes_received=100_000, bytes_sent=5_000_000, upstream_host="10.1.0.5:9080"),
        sample(UNKNOWN_SOURCE, PRODUCTPAGE, 100, unknown_reason="nodeport"),
        sample(UNKNOWN_SOURCE, DETAILS_POD, 20, unknown_reason="probe"),
        # canary split of reviews, 90/5/5
        sample(PRODUCTPAGE, REVIEWS[0], 900, mtls=True, upstream_host="10.1.0.7:9080"),
        sample(PRODUCTPAGE, REVIEWS[1], 50, mtls=True, upstream_host="10.1.0.8:9080"),
        sample(PRODUCTPAGE, REVIEWS[2], 50, mtls=True, upstream_host="10.1.0.9:9080"),
        # half of details' traffic without mTLS (a PERMISSIVE peer authentication)
        sample(PRODUCTPAGE, DETAILS, 500, mtls=True),
        sample(PRODUCTPAGE, DETAILS, 500, mtls=False),
        sample(PRODUCTPAGE, RECOMMENDATIONS, 20, code=404, response_flags="NR"),
        sample(PRODUCTPAGE, CNN, 10, upstream_host="151.101.1.67:443"),
        sample(PRODUCTPAGE, INVENTORY, 90, protocol="grpc", grpc_status="0"),
        sample(PRODUCTPAGE, INVENTORY, 8, protocol="grpc", grpc_status="14"),
        sample(PRODUCTPAGE, INVENTORY, 2, code=0, protocol="grpc", response_flags="DC"),
        sample(REVIEWS[1], RATINGS, 50),
        # reviews-v3's circuit breaker on ratings opened: no workload was reached
        sample(REVIEWS[2], RATINGS_SERVICE, 50, code=503, response_flags="UO"),
        sample(RATINGS, MONGODB, 10, code=0, protocol="tcp", bytes_received=500_000, bytes_sent=1_000_000),
    ]


def options(**fields) -> GraphOptions:
    """Graph options as Kiali's UI asks for them: service nodes injected."""
    fields.setdefault("namespaces", frozenset({"bookinfo"}))
    fields.setdefault("inject_service_nodes", True)
    fields.setdefault("duration_s", 100)
    return GraphOptions(query_time=NOW, **fields)


def workload(name: str, namespace: str = "bookinfo") -> str:
    return f"workload:{C}:{namespace}:{name}"


def service(name: str) -> str:
    return f"service:{C}:bookinfo:{name}"


def app(name: str, version: str | None = None, namespace: str = "bookinfo") -> str:
    return f"app:{C}:{namespace}:{name}" + (f":{version}" if version else "")


GATEWAY_NODE = workload("istio-ingressgateway", "istio-system")


def test_workload_graph_injects_service_nodes_between_caller_and_workload():
    graph = build_graph(bookinfo(), options())

    assert set(graph) == {
        "unknown", GATEWAY_NODE,
        service("productpage"), workload("productpage-v1"),
        service("reviews"), workload("reviews-v1"), workload("reviews-v2"), workload("reviews-v3"),
        service("ratings"), workload("ratings-v1"), service("details"), workload("details-v1"),
        service("recommendations"), service("edition.cnn.com"),
        service("inventory"), workload("inventory-v1"), service("mongodb"), workload("mongodb-v1"),
    }
    assert set(graph.successors(GATEWAY_NODE)) == {service("productpage")}
    assert set(graph.successors(service("reviews"))) == {workload(f"reviews-v{v}") for v in (1, 2, 3)}
    # the probe reached the pod without a service: no service node in between
    assert set(graph.successors("unknown")) == {service("productpage"), workload("details-v1")}
    assert set(graph.successors(workload("reviews-v3"))) == {service("ratings")}
    assert list(graph.successors(service("ratings"))) == [workload("ratings-v1")]
    assert graph.nodes[workload("reviews-v2")] == {
        "nodeType": "workload", "cluster": C, "namespace": "bookinfo", "workload": "reviews-v2",
        "app": "reviews", "version": "v2", "destServices": {(C, "bookinfo", "reviews")},
    }
    assert graph.nodes[service("reviews")] == {
        "nodeType": "service", "cluster": C, "namespace": "bookinfo", "service": "reviews",
    }


def test_workload_graph_without_injection_keeps_service_nodes_only_where_no_workload():
    graph = build_graph(bookinfo(), options(inject_service_nodes=False))

    assert set(graph) == {
        "unknown", GATEWAY_NODE, workload("productpage-v1"),
        workload("reviews-v1"), workload("reviews-v2"), workload("reviews-v3"),
        workload("ratings-v1"), service("ratings"), workload("details-v1"),
        service("recommendations"), service("edition.cnn.com"), workload("inventory-v1"),
        workload("mongodb-v1"),
    }
    assert set(graph.successors(workload("productpage-v1"))) == {
        workload("reviews-v1"), workload("reviews-v2"), workload("reviews-v3"), workload("details-v1"),
        service("recommendations"), service("edition.cnn.com"), workload("inventory-v1"),
    }
    assert graph.nodes[workload("details-v1")]["destServices"] == {(C, "bookinfo", "details")}
    assert graph[workload("productpage-v1")][workload("details-v1")]["http"]["traffic"].requests == 1000


def test_app_graph_merges_versions():
    graph = build_graph(bookinfo(), options(graph_type="app"))

    assert set(graph) == {
        "unknown", app("istio-ingressgateway", namespace="istio-system"),
        service("productpage"), app("productpage"), service("reviews"), app("reviews"),
        service("ratings"), app("ratings"), service("details"), app("details"),
        service("recommendations"), service("edition.cnn.com"), service("inventory"), app("inventory"),
        service("mongodb"), app("mongodb"),
    }
    assert graph[service("reviews")][app("reviews")]["http"]["traffic"].requests == 1000
    # reviews-v2 (50 OK) and reviews-v3 (50 circuit broken) are one caller of ratings
    to_ratings = graph[app("reviews")][service("ratings")]["http"]["traffic"]
    assert to_ratings.requests == 100
    assert to_ratings.flags == {"200": {"-": 50}, "503": {"UO": 50}}
    assert graph.nodes[app("reviews")] == {
        "nodeType": "app", "cluster": C, "namespace": "bookinfo", "app": "reviews",
        "destServices": {(C, "bookinfo", "reviews")},
    }


def test_versioned_app_graph_has_one_node_per_version():
    graph = build_graph(bookinfo(), options(graph_type="versionedApp"))

    assert set(graph) == {
        "unknown", app("istio-ingressgateway", namespace="istio-system"),
        service("productpage"), app("productpage", "v1"),
        service("reviews"), app("reviews", "v1"), app("reviews", "v2"), app("reviews", "v3"),
        service("ratings"), app("ratings", "v1"), service("details"), app("details", "v1"),
        service("recommendations"), service("edition.cnn.com"), service("inventory"),
        app("inventory", "v1"), service("mongodb"), app("mongodb", "v1"),
    }
    assert graph.nodes[app("reviews", "v3")]["version"] == "v3"
    assert {v: graph[service("reviews")][app("reviews", v)]["http"]["traffic"].requests
            for v in ("v1", "v2", "v3")} == {"v1": 900, "v2": 50, "v3": 50}


def test_service_graph_is_reduced_to_services():
    graph = build_graph(bookinfo(), options(graph_type="service"))

    # The gateway serves no traffic here and the probe reached a pod: both stay workloads.
    assert set(graph) == {
        "unknown", GATEWAY_NODE, workload("details-v1"), service("productpage"), service("reviews"),
        service("ratings"), service("details"), service("recommendations"), service("edition.cnn.com"),
        service("inventory"), service("mongodb"),
    }
    assert set(graph.edges(keys=True)) == {
        (GATEWAY_NODE, service("productpage"), "http"),
        ("unknown", service("productpage"), "http"),
        ("unknown", workload("details-v1"), "http"),
        (service("productpage"), service("reviews"), "http"),
        (service("productpage"), service("details"), "http"),
        (service("productpage"), service("recommendations"), "http"),
        (service("productpage"), service("edition.cnn.com"), "http"),
        (service("productpage"), service("inventory"), "grpc"),
        (service("reviews"), service("ratings"), "http"),
        (service("ratings"), service("mongodb"), "tcp"),
    }
    assert graph[service("reviews")][service("ratings")]["http"]["traffic"].requests == 100


def test_service_graph_names_a_caller_by_the_service_it_was_reached_through():
    # productpage-v1 backs "productpage" (mostly) and "productpage-canary" (a little).
    canary = replace(PRODUCTPAGE, service="productpage-canary")
    samples = [sample(GATEWAY, PRODUCTPAGE, 90), sample(GATEWAY, canary, 10),
               sample(replace(PRODUCTPAGE, service=""), DETAILS, 5)]

    graph = build_graph(samples, options(graph_type="service"))

    assert set(graph.predecessors(service("details"))) == {service("productpage")}


def test_node_flags():
    graph = build_graph(bookinfo(), options())
    nodes = graph.nodes

    # Kiali (graph/types.go Id, finalizer/outsider.go): the unknown source is nodeType unknown,
    # unknown throughout, inaccessible, and a root
    assert nodes["unknown"] == {
        "nodeType": "unknown", "cluster": "unknown", "namespace": "unknown", "workload": "unknown",
        "app": "unknown", "version": "unknown", "isInaccessible": True, "isRoot": True,
    }
    assert nodes[GATEWAY_NODE]["isRoot"] is True
    assert nodes[GATEWAY_NODE]["isOutside"] is True  # istio-system was not requested
    assert nodes[GATEWAY_NODE]["isGateway"] == {"ingressInfo": {}}
    assert {n for n, attrs in nodes(data=True) if attrs.get("isRoot")} == {"unknown", GATEWAY_NODE}
    assert not any(attrs.get("isOutside") for n, attrs in nodes(data=True) if n != GATEWAY_NODE)
    assert nodes[service("edition.cnn.com")]["isServiceEntry"] == {
        "hosts": ["edition.cnn.com"], "location": "MESH_EXTERNAL",
    }
    # 404 NR to a service no workload backs is drawn, and marked dead
    assert nodes[service("recommendations")]["isDead"] is True
    # ratings only answered UO to reviews-v3, but reviews-v2 reached its workload: alive
    assert "isDead" not in nodes[service("ratings")]
    assert "isDead" not in nodes[service("edition.cnn.com")]


def test_unknown_source_edges_carry_their_reason():
    graph = build_graph(bookinfo(), options())

    assert graph["unknown"][service("productpage")]["http"]["traffic"].unknown_reasons == {"nodeport": 100}
    assert graph["unknown"][workload("details-v1")]["http"]["traffic"].unknown_reasons == {"probe": 20}


def test_unknown_node_is_never_outside_even_when_only_other_namespaces_are_requested():
    graph = build_graph(bookinfo(), options(namespaces=frozenset({"istio-system"})))

    # Only traffic touching istio-system is drawn: the gateway's.
    assert set(graph) == {GATEWAY_NODE, service("productpage"), workload("productpage-v1")}
    assert "isOutside" not in graph.nodes[GATEWAY_NODE]
    assert graph.nodes[workload("productpage-v1")]["isOutside"] is True

    graph = build_graph([sample(UNKNOWN_SOURCE, PRODUCTPAGE, 1, unknown_reason="nodeport")],
                        options(namespaces=frozenset({"bookinfo"})))
    assert "isOutside" not in graph.nodes["unknown"]


def test_inaccessible_namespace_keeps_identity():
    graph = build_graph(bookinfo(), options(accessible_namespaces=frozenset({"bookinfo"})))

    # Kiali (finalizer/outsider.go): a node outside the requested namespaces in a namespace the
    # user cannot read keeps namespace, workload, app and version, and is flagged isInaccessible
    assert graph.nodes[GATEWAY_NODE] == {
        "nodeType": "workload", "cluster": C, "namespace": "istio-system", "workload": "istio-ingressgateway",
        "app": "istio-ingressgateway", "isGateway": {"ingressInfo": {}}, "isInaccessible": True,
        "isRoot": True, "isOutside": True,
    }
    # two different inaccessible workloads stay two nodes, with their own edges
    other = Endpoint(C, "istio-system", "istio-eastwestgateway", "istio-eastwestgateway", "")
    graph = build_graph([*bookinfo(), sample(other, PRODUCTPAGE, 5)],
                        options(accessible_namespaces=frozenset({"bookinfo"})))
    callers = {n for n in graph.predecessors(service("productpage")) if n != "unknown"}
    assert callers == {GATEWAY_NODE, workload("istio-eastwestgateway", "istio-system")}
    assert all(graph.nodes[n]["isInaccessible"] for n in callers)


def test_the_unknown_destination_is_a_service_node_apart_from_the_unknown_source():
    no_route = Endpoint("", "unknown", "unknown", "unknown", "unknown", "unknown")
    no_upstream = Endpoint(C, "bookinfo", "unknown")  # a client-side record without upstream host
    samples = [*bookinfo(), sample(PRODUCTPAGE, no_route, 4, code=404, response_flags="NR"),
               sample(GATEWAY, no_upstream, 2, code=404, response_flags="NR")]

    for graph_type in ("workload", "app", "versionedApp", "service"):
        graph = build_graph(samples, options(graph_type=graph_type))
        # Kiali (graph/types.go Id): unknown workload, app and service make the service node
        # "unknown", one per namespace Istio names (none: namespace unknown)
        destination = "service:unknown:unknown:unknown"
        assert graph.nodes[destination] == {
            "nodeType": "service", "cluster": "unknown", "namespace": "unknown", "service": "unknown",
            "isInaccessible": True,  # Kiali: a service in namespace unknown is inaccessible
        }
        assert graph.nodes[f"service:{C}:bookinfo:unknown"]["nodeType"] == "service"
        # the unknown source sends traffic and receives none: it stays a root
        assert graph.in_degree("unknown") == 0 and graph.nodes["unknown"]["isRoot"]
        assert "unknown" not in set(graph.predecessors(destination))


def test_kiali_defaults_draw_no_service_node_in_front_of_a_workload():
    # Kiali graph/options.go: injectServiceNodes defaults to false, rateGrpc and rateHttp to
    # requests, rateTcp to sent, graphType to workload, duration to 10m
    defaults = GraphOptions(namespaces=frozenset({"bookinfo"}), query_time=NOW)
    assert (defaults.inject_service_nodes, defaults.graph_type, defaults.duration_s) == (False, "workload", 600)
    assert (defaults.rate_http, defaults.rate_grpc, defaults.rate_tcp) == ("requests", "requests", "sent")
    graph = build_graph(bookinfo(), defaults)
    assert service("productpage") not in graph
    assert graph.has_edge(GATEWAY_NODE, workload("productpage-v1"))
    # graphType=service always injects them (Kiali: "Service graphs require service injection")
    assert service("productpage") in build_graph(bookinfo(), replace(defaults, graph_type="service"))


def test_grpc_message_rates():
    messages = [sample(PRODUCTPAGE, INVENTORY, 10, protocol="grpc", grpc_status="0", request_messages=30,
                       response_messages=70, upstream_host="inventory:9080")]
    for rate, expected in (("sent", 30), ("received", 70), ("total", 100)):
        graph = build_graph(messages, options(rate_grpc=rate, inject_service_nodes=False))
        traffic = graph[workload("productpage-v1")][workload("inventory-v1")]["grpc"]["traffic"]
        # Kiali istio.go: sent reads istio_request_messages_total, received
        # istio_response_messages_total, total both; messages carry no response code
        assert traffic.messages and traffic.codes == {"-": expected}
        assert traffic.flags == {} and traffic.hosts == {"-": {"inventory:9080": expected}}
    # an edge without message counts is no gRPC message traffic
    assert build_graph([replace(messages[0], request_messages=0, response_messages=0)],
                       options(rate_grpc="sent")).number_of_edges() == 0


def test_rate_http_none_removes_http_edges_and_http_only_nodes():
    graph = build_graph(bookinfo(), options(rate_http="none"))
    # Kiali istio.go: with rateHttp=none no HTTP series is read; only the gRPC and TCP flows remain
    assert {p for _, _, p in graph.edges(keys=True)} == {"grpc", "tcp"}
    assert set(graph) == {workload("productpage-v1"), service("inventory"), workload("inventory-v1"),
                          workload("ratings-v1"), service("mongodb"), workload("mongodb-v1")}


def test_same_traffic_from_two_telemetry_sources_is_counted_once():
    seen_by_logs = sample(PRODUCTPAGE, DETAILS, 900, telemetry="accesslogs")
    seen_by_prometheus = [sample(PRODUCTPAGE, DETAILS, 990, telemetry="prometheus"),
                          sample(PRODUCTPAGE, DETAILS, 10, code=503, response_flags="URX",
                                 telemetry="prometheus")]
    seen_by_spans = sample(PRODUCTPAGE, DETAILS, 9, telemetry="spans")
    only_spans = sample(PRODUCTPAGE, RATINGS, 3, telemetry="spans")

    graph = build_graph([seen_by_spans, seen_by_logs, *seen_by_prometheus, only_spans],
                        options(inject_service_nodes=False))

    merged = graph[workload("productpage-v1")][workload("details-v1")]["http"]["traffic"]
    assert merged.requests == 1000
    assert merged.flags == {"200": {"-": 990}, "503": {"URX": 10}}
    assert merged.telemetry == {"accesslogs", "prometheus", "spans"}
    alone = graph[workload("productpage-v1")][workload("ratings-v1")]["http"]["traffic"]
    assert (alone.requests, alone.telemetry) == (3, {"spans"})


def test_samples_of_one_flow_are_summed_and_an_empty_cluster_is_the_default_cluster():
    minutes = [sample(replace(PRODUCTPAGE, cluster=""), DETAILS, 60, telemetry="prometheus")
               for _ in range(5)]

    graph = build_graph(minutes, options(inject_service_nodes=False))

    assert graph[workload("productpage-v1")][workload("details-v1")]["http"]["traffic"].requests == 300


def test_idle_edges_are_drawn_only_when_asked():
    samples = [*bookinfo(), sample(REVIEWS[0], RATINGS, 0)]

    assert not build_graph(samples, options()).has_edge(workload("reviews-v1"), service("ratings"))

    graph = build_graph(samples, options(include_idle_edges=True))
    assert graph[workload("reviews-v1")][service("ratings")]["http"]["traffic"].idle
    assert "isIdle" not in graph.nodes[workload("reviews-v1")]  # it still answers productpage

    lonely = build_graph([sample(RATINGS, MONGODB, 0, code=0, protocol="tcp")],
                         options(include_idle_edges=True))
    assert all(attrs.get("isIdle") for _, attrs in lonely.nodes(data=True))


def test_dead_node_appender_removes_idle_services_without_workloads():
    samples = [sample(PRODUCTPAGE, RECOMMENDATIONS, 0), sample(PRODUCTPAGE, DETAILS, 10)]

    graph = build_graph(samples, options(include_idle_edges=True))
    assert service("recommendations") not in graph

    kept = build_graph(samples, options(include_idle_edges=True, appenders=frozenset()))
    assert service("recommendations") in kept
    assert "isDead" not in kept.nodes[service("recommendations")]


def test_idle_node_appender_draws_inventory_without_traffic():
    inventory = [RATINGS, replace(REVIEWS[0], workload="reviews-v4", version="v4"),
                 Endpoint(C, "bookinfo", "", service="legacy")]

    graph = build_graph([sample(PRODUCTPAGE, DETAILS, 10)], options(), inventory)

    assert graph.nodes[workload("reviews-v4")]["isIdle"] is True
    assert graph.nodes[workload("ratings-v1")]["isIdle"] is True
    # a service no workload backs is dead and, without traffic, removed
    assert service("legacy") not in graph
    assert "isIdle" not in graph.nodes[workload("details-v1")]

    without = build_graph([sample(PRODUCTPAGE, DETAILS, 10)], options(appenders=frozenset()), inventory)
    assert workload("reviews-v4") not in without


def test_box_by_app_groups_versions_and_their_service():
    graph = build_graph(bookinfo(), options(graph_type="versionedApp", box_by=frozenset({"app"})))

    box = f"box:app:{C}:bookinfo:reviews"
    assert graph.nodes[box] == {"nodeType": "box", "isBox": "app", "cluster": C, "namespace": "bookinfo",
                                "app": "reviews"}
    assert {n for n, parent in graph.nodes(data="parent") if parent == box} == {
        service("reviews"), app("reviews", "v1"), app("reviews", "v2"), app("reviews", "v3"),
    }
    assert graph.nodes[app("mongodb", "v1")]["parent"] == f"box:app:{C}:bookinfo:mongodb"
    # a lone node is not boxed, nor is the unknown node
    assert "parent" not in graph.nodes[service("edition.cnn.com")]
    assert "parent" not in graph.nodes[app("istio-ingressgateway", namespace="istio-system")]
    assert "parent" not in graph.nodes["unknown"]


def test_box_by_cluster_namespace_and_app_nests_boxes():
    graph = build_graph(bookinfo(), options(box_by=frozenset({"app", "namespace", "cluster"})))

    assert graph.nodes[workload("reviews-v1")]["parent"] == f"box:app:{C}:bookinfo:reviews"
    assert graph.nodes[f"box:app:{C}:bookinfo:reviews"]["parent"] == f"box:namespace:{C}:bookinfo"
    assert graph.nodes[f"box:namespace:{C}:bookinfo"]["parent"] == f"box:cluster:{C}"
    assert graph.nodes[service("edition.cnn.com")]["parent"] == f"box:namespace:{C}:bookinfo"
    assert graph.nodes[GATEWAY_NODE]["parent"] == f"box:namespace:{C}:istio-system"


def test_node_focus_keeps_callers_and_callees_through_adjacent_services():
    graph = build_graph(bookinfo(), options(node_focus=REVIEWS[1]))

    assert set(graph) == {workload("productpage-v1"), service("reviews"), workload("reviews-v2"),
                          service("ratings"), workload("ratings-v1")}
    assert set(graph.edges()) == {
        (workload("productpage-v1"), service("reviews")), (service("reviews"), workload("reviews-v2")),
        (workload("reviews-v2"), service("ratings")), (service("ratings"), workload("ratings-v1")),
    }
    assert graph.nodes[workload("productpage-v1")]["isRoot"] is True


def test_node_focus_on_a_service_and_on_a_node_without_traffic():
    graph = build_graph(bookinfo(), options(node_focus=RATINGS_SERVICE))
    assert set(graph) == {workload("reviews-v2"), workload("reviews-v3"), service("ratings"),
                          workload("ratings-v1")}

    idle = build_graph(bookinfo(), options(node_focus=replace(RATINGS, workload="ratings-v9")))
    assert list(idle.nodes(data=True)) == [(workload("ratings-v9"), {
        "nodeType": "workload", "cluster": C, "namespace": "bookinfo", "workload": "ratings-v9",
        "app": "ratings", "version": "v1", "isIdle": True,
    })]


def test_rate_none_drops_the_protocol():
    graph = build_graph(bookinfo(), options(rate_tcp="none", rate_grpc="none"))

    assert {key for _, _, key in graph.edges(keys=True)} == {"http"}
    assert workload("mongodb-v1") not in graph


def test_response_codes():
    assert response_code(sample(PRODUCTPAGE, DETAILS, 1, code=503)) == "503"
    assert response_code(sample(PRODUCTPAGE, DETAILS, 1, code=0)) == "-"
    assert response_code(sample(PRODUCTPAGE, INVENTORY, 1, protocol="grpc", grpc_status="5")) == "5"
    # a proxy's 503 to a gRPC call is UNAVAILABLE
    assert response_code(sample(PRODUCTPAGE, INVENTORY, 1, code=503, protocol="grpc")) == "14"
    assert response_code(sample(PRODUCTPAGE, INVENTORY, 1, code=0, protocol="grpc")) == "-"
    assert response_code(sample(RATINGS, MONGODB, 1, code=0, protocol="tcp")) == "-"


@pytest.mark.parametrize("bad", [
    {"graph_type": "services"}, {"box_by": frozenset({"pod"})}, {"appenders": frozenset({"sidecarsCheck"})},
    {"response_time": "90"}, {"rate_tcp": "requests"}, {"duration_s": 0},
])
def test_options_reject_unknown_values(bad):
    with pytest.raises(ValueError):
        options(**bad)


def test_unknown_protocol_and_telemetry_are_rejected():
    with pytest.raises(ValueError, match="protocol"):
        build_graph([sample(PRODUCTPAGE, DETAILS, 1, protocol="udp")], options())
    with pytest.raises(ValueError, match="telemetry"):
        build_graph([sample(PRODUCTPAGE, DETAILS, 1, telemetry="zipkin")], options())


def test_passthrough_and_egress_gateway_nodes():
    passthrough = Endpoint(C, "bookinfo", "unknown", service="PassthroughCluster")
    egress = Endpoint(C, "istio-system", "istio-egressgateway", "istio-egressgateway", "",
                      "istio-egressgateway", gateway="egress")
    samples = [sample(PRODUCTPAGE, passthrough, 5, upstream_host="93.184.216.34:443"),
               sample(PRODUCTPAGE, egress, 3), sample(egress, CNN, 3)]

    graph = build_graph(samples, options(inject_service_nodes=False))

    # Kiali (finalizer/outsider.go): Envoy's passthrough clusters are inaccessible
    assert graph.nodes[service("PassthroughCluster")] == {
        "nodeType": "service", "cluster": C, "namespace": "bookinfo", "service": "PassthroughCluster",
        "isInaccessible": True,
    }
    egress_node = workload("istio-egressgateway", "istio-system")
    assert graph.nodes[egress_node]["isGateway"] == {"egressInfo": {}}
    assert "isRoot" not in graph.nodes[egress_node]
    assert list(graph.successors(egress_node)) == [service("edition.cnn.com")]
