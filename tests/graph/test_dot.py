"""Graphviz DOT export of the Bookinfo-like mesh."""

from meshview.graph.dot import edge_label, node_label, quote, to_dot
from meshview.graph.kiali import kiali_graph
from tests.graph.test_engine import GATEWAY_NODE, bookinfo, options, service, workload


def test_quote_escapes_backslashes_quotes_and_newlines():
    assert quote('a"b\\c\nd') == '"a\\"b\\\\c\\nd"'
    assert quote("workload:Kubernetes:bookinfo:reviews-v1") == '"workload:Kubernetes:bookinfo:reviews-v1"'


def test_nodes_edges_and_highlights():
    dot = to_dot(kiali_graph(bookinfo(), options()))
    lines = dot.splitlines()

    assert lines[0] == 'digraph "meshview workload" {'
    assert lines[-1] == "}"
    assert f'  "{workload("reviews-v1")}" [label="bookinfo/reviews-v1"];' in lines
    assert f'  "{service("reviews")}" [label="bookinfo/reviews", shape=triangle];' in lines
    assert '  "unknown" [label="unknown", style="rounded,filled", fillcolor=lightcoral, color=gray50];' in lines
    assert f'  "{GATEWAY_NODE}" [label="istio-system/istio-ingressgateway", color=gray50];' in lines
    # a failing edge: rate, error share, red
    assert (f'  "{workload("reviews-v3")}" -> "{service("ratings")}" '
            '[label="0.500 rps\\n100.0% err", color=red3];') in lines
    assert f'  "{workload("ratings-v1")}" -> "{service("mongodb")}" [label="5000.00 B/s", style=dashed];' in lines
    assert f'  "{GATEWAY_NODE}" -> "{service("productpage")}" [label="10.00 rps"];' in lines
    assert sum(" -> " in line for line in lines) == len(kiali_graph(bookinfo(), options())["elements"]["edges"])


def test_boxes_become_nested_clusters():
    dot = to_dot(kiali_graph(bookinfo(), options(graph_type="versionedApp",
                                                 box_by=frozenset({"namespace", "app"}))))

    start = dot.index('  subgraph "cluster_box:namespace:Kubernetes:bookinfo" {')
    inner = dot.index('    subgraph "cluster_box:app:Kubernetes:bookinfo:reviews" {', start)
    member = dot.index('      "app:Kubernetes:bookinfo:reviews:v2" [label="bookinfo/reviews v2"];', inner)
    assert start < inner < member
    assert dot.count("{") == dot.count("}")


def test_labels():
    assert node_label({"nodeType": "app", "namespace": "bookinfo", "app": "reviews", "version": "v2"}) == \
        "bookinfo/reviews v2"
    assert node_label({"nodeType": "workload", "namespace": "istio-system", "workload": "istio-ingressgateway",
                       "isInaccessible": True}) == "istio-system/istio-ingressgateway (inaccessible)"
    assert node_label({"nodeType": "box", "isBox": "cluster", "cluster": "east"}) == "east"
    assert edge_label({"traffic": {"protocol": "http", "rates": {}, "responses": {}}}) == "idle"
    assert edge_label({"traffic": {"protocol": "grpc", "rates": {"grpc": "1.00", "grpcPercentErr": "10.0"}}}) == \
        "1.00 rps\n10.0% err"
