"""Kiali's graph API at Kiali's paths, against a real Prometheus holding the Istio metrics of a
two-cluster mesh: an unknown caller, gRPC with request and response messages, TCP both ways, an
inaccessible namespace called from an accessible one, a request with no route, and principals.

Every assertion names the Kiali rule it checks and the kiali/kiali file the rule comes from.
"""

from collections.abc import Iterator

import pytest
from django.test import Client, override_settings

from tests.graph import promsim
from tests.graph.conftest import PrometheusWith
from tests.meshsim import Call, Pod, Service

pytestmark = pytest.mark.django_db

WEST, EAST = "west", "east"
FRONTEND = Pod("shop", "frontend-v1", "frontend", "v1", "10.2.0.10")
INVENTORY = {v: Pod("shop", f"inventory-{v}", "inventory", v, f"10.2.0.2{i}") for i, v in enumerate(("v1", "v2"))}
DB = Pod("shop", "db-v1", "db", "v1", "10.2.0.30", 5432)
BILLING = Pod("payments", "billing-v1", "billing", "v1", "10.3.0.10")
SERVICES = {name: Service(name, "shop") for name in ("frontend", "inventory", "db")}
BILLING_SERVICE = Service("billing", "payments")
NO_ROUTE = Service("unknown", "unknown")

W = "workload:"
UNKNOWN_DESTINATION = "service:unknown:unknown:unknown"
FRONTEND_NODE = f"{W}{WEST}:shop:frontend-v1"
INVENTORY_NODES = {v: f"{W}{EAST}:shop:inventory-{v}" for v in ("v1", "v2")}
DB_NODE = f"{W}{WEST}:shop:db-v1"
BILLING_NODE = f"{W}{WEST}:payments:billing-v1"
SA = "spiffe://cluster.local/ns/"


def mesh() -> list[Call]:
    """Ten minutes of the shop mesh: 600 calls are 1.00 a second."""
    calls = [Call(None, SERVICES["frontend"], FRONTEND, mtls=False) for _ in range(600)]
    calls += [Call(FRONTEND, SERVICES["inventory"], INVENTORY["v1"], protocol="grpc") for _ in range(600)]
    calls += [Call(FRONTEND, SERVICES["inventory"], INVENTORY["v2"], protocol="grpc") for _ in range(300)]
    calls += [Call(FRONTEND, BILLING_SERVICE, BILLING) for _ in range(300)]
    calls += [Call(FRONTEND, NO_ROUTE, None, code=404, flags="NR") for _ in range(60)]
    calls += [Call(INVENTORY["v1"], SERVICES["db"], DB, protocol="tcp", bytes_received=1000, bytes_sent=5000)
              for _ in range(120)]
    return calls


def cluster_of(pod: Pod) -> str:
    return EAST if pod.app == "inventory" else WEST


@pytest.fixture(scope="module")
def shop_prometheus(prometheus_with: PrometheusWith) -> str:
    return prometheus_with(mesh(), cluster_of=cluster_of)


@pytest.fixture
def client_on(shop_prometheus: str, client: Client) -> Iterator[Client]:
    with override_settings(MESHVIEW_ANONYMOUS_ACCESS=True, MESHVIEW_PROMETHEUS_URL=shop_prometheus,
                           MESHVIEW_ACCESSIBLE_NAMESPACES=None):
        yield client


def get(client: Client, path: str, status: int = 200, **params: str) -> dict:
    response = client.get(path, {"queryTime": str(promsim.QUERY_TIME), **params})
    assert response.status_code == status, response.content
    return response.json()


def kiali(client: Client, path: str = "/kiali/api/namespaces/graph", **params: str) -> dict:
    params.setdefault("namespaces", "shop") if path.endswith("/namespaces/graph") else None
    return get(client, path, **params)


def nodes(body: dict) -> dict[str, dict]:
    return {n["data"]["id"]: n["data"] for n in body["elements"]["nodes"]}


def edges(body: dict) -> dict[tuple[str, str, str], dict]:
    return {(e["data"]["source"], e["data"]["target"], e["data"]["traffic"]["protocol"]): e["data"]
            for e in body["elements"]["edges"]}


def rate(edge: dict) -> str:
    traffic = edge["traffic"]
    return traffic["rates"][traffic["protocol"]]


def test_kiali_defaults(client_on: Client) -> None:
    body = kiali(client_on)
    # graph/options.go: graphType workload, duration 10m, no service nodes injected; the
    # answer has Kiali's top-level shape and no meshview extras
    assert set(body) == {"timestamp", "duration", "graphType", "elements"}
    assert (body["timestamp"], body["duration"], body["graphType"]) == (promsim.QUERY_TIME, 600, "workload")
    drawn = edges(body)
    assert set(drawn) == {
        ("unknown", FRONTEND_NODE, "http"),
        (FRONTEND_NODE, INVENTORY_NODES["v1"], "grpc"),
        (FRONTEND_NODE, INVENTORY_NODES["v2"], "grpc"),
        (FRONTEND_NODE, BILLING_NODE, "http"),
        (FRONTEND_NODE, UNKNOWN_DESTINATION, "http"),
        (INVENTORY_NODES["v1"], DB_NODE, "tcp"),
    }
    # graph/options.go: rateGrpc=requests and rateTcp=sent (telemetry/istio/istio.go reads the
    # client's bytes from istio_tcp_received_bytes_total)
    assert rate(drawn[FRONTEND_NODE, INVENTORY_NODES["v1"], "grpc"]) == "1.00"
    assert rate(drawn[INVENTORY_NODES["v1"], DB_NODE, "tcp"]) == "200.00"


@pytest.mark.parametrize(("rate_grpc", "expected"), [("requests", "1.00"), ("sent", "3.00"), ("received", "7.00"),
                                                      ("total", "10.00")])
def test_grpc_rates(client_on: Client, rate_grpc: str, expected: str) -> None:
    drawn = edges(kiali(client_on, rateGrpc=rate_grpc))
    # graph/options.go and telemetry/istio/istio.go: sent counts istio_request_messages_total,
    # received istio_response_messages_total, total both
    assert rate(drawn[FRONTEND_NODE, INVENTORY_NODES["v1"], "grpc"]) == expected
    # the other protocols are drawn as before
    assert rate(drawn[FRONTEND_NODE, BILLING_NODE, "http"]) == "0.500"


def test_grpc_and_tcp_rates_none_and_tcp_directions(client_on: Client) -> None:
    # graph/options.go rateGrpc=none, rateTcp=none: the protocol leaves the graph
    assert {p for _, _, p in edges(kiali(client_on, rateGrpc="none", rateTcp="none"))} == {"http"}
    # telemetry/istio/istio.go: received reads istio_tcp_sent_bytes_total, total both
    for rate_tcp, expected in (("received", "1000.00"), ("total", "1200.00")):
        drawn = edges(kiali(client_on, rateTcp=rate_tcp))
        assert rate(drawn[INVENTORY_NODES["v1"], DB_NODE, "tcp"]) == expected


def test_rate_http_none_removes_http_edges_and_http_only_nodes(client_on: Client) -> None:
    body = kiali(client_on, rateHttp="none")
    # telemetry/istio/istio.go: without HTTP requests no HTTP series is read, so the nodes only
    # HTTP reached (the unknown source, billing, the unknown destination) are not drawn
    assert {p for _, _, p in edges(body)} == {"grpc", "tcp"}
    assert set(nodes(body)) == {FRONTEND_NODE, *INVENTORY_NODES.values(), DB_NODE}


@pytest.mark.parametrize("graph_type", ["workload", "app", "versionedApp", "service"])
def test_the_two_unknowns_stay_apart(client_on: Client, graph_type: str) -> None:
    body = kiali(client_on, graphType=graph_type)
    drawn = nodes(body)
    # graph/types.go Id: unknown namespace, workload and app with no service is the unknown
    # source; finalizer/outsider.go makes it inaccessible, traffic_generator.go a root
    assert drawn["unknown"] == {**drawn["unknown"], "nodeType": "unknown", "cluster": "unknown",
                                "namespace": "unknown", "workload": "unknown", "app": "unknown",
                                "isRoot": True, "isInaccessible": True}
    assert "isOutside" not in drawn["unknown"]
    # graph/types.go Id: unknown workload, app and service is the service node "unknown" of its
    # namespace; outsider.go: a service of namespace unknown is inaccessible, never outside
    destination = drawn[UNKNOWN_DESTINATION]
    assert (destination["nodeType"], destination["namespace"], destination["service"]) == ("service", "unknown",
                                                                                         "unknown")
    assert destination["isInaccessible"] is True and "isOutside" not in destination
    into_destination = [e for e in body["elements"]["edges"] if e["data"]["target"] == UNKNOWN_DESTINATION]
    assert len(into_destination) == 1 and into_destination[0]["data"]["source"] != "unknown"
    assert not any(e["data"]["target"] == "unknown" for e in body["elements"]["edges"])
    # the 404 NR keeps its flag and Istio's host (protocol.go addToMetadataResponses)
    assert into_destination[0]["data"]["traffic"]["responses"] == {
        "404": {"flags": {"NR": "100.0"}, "hosts": {"unknown": "100.0"}}}


def test_inaccessible_namespace_keeps_identity(client_on: Client) -> None:
    with override_settings(MESHVIEW_ACCESSIBLE_NAMESPACES=["shop"]):
        body = kiali(client_on)
        refused = get(client_on, "/kiali/api/namespaces/graph", 403, namespaces="shop,payments")
        node = get(client_on, "/kiali/api/namespaces/payments/workloads/billing-v1/graph", 403)
    billing = nodes(body)[BILLING_NODE]
    # finalizer/outsider.go: an outside node of a namespace the user cannot read is flagged
    # isInaccessible and keeps namespace, workload, app and version
    assert {k: billing[k] for k in ("namespace", "workload", "app", "version", "isInaccessible", "isOutside")} == {
        "namespace": "payments", "workload": "billing-v1", "app": "billing", "version": "v1",
        "isInaccessible": True, "isOutside": True}
    # graph/options.go: a requested namespace the user cannot read is a 403, node graphs too;
    # handlers/graph.go answers {"error": message}
    assert refused == {"error": "Requested namespace [payments] is not accessible."}
    assert node == {"error": "Requested namespace [payments] is not accessible."}


def test_clusters_and_principals(client_on: Client) -> None:
    body = kiali(client_on, boxBy="cluster")
    drawn = nodes(body)
    # telemetry/istio/istio.go: each node is in the cluster its series name (source_cluster,
    # destination_cluster); config/cytoscape boxes by cluster with boxBy=cluster
    assert drawn[FRONTEND_NODE]["cluster"] == WEST and drawn[INVENTORY_NODES["v1"]]["cluster"] == EAST
    assert drawn[FRONTEND_NODE]["parent"] == "box:cluster:west"
    assert drawn[INVENTORY_NODES["v2"]]["parent"] == "box:cluster:east"
    assert drawn["box:cluster:east"]["isBox"] == "cluster"
    # appender/security_policy.go: the edge names the principals Istio reported
    grpc = edges(body)[FRONTEND_NODE, INVENTORY_NODES["v1"], "grpc"]
    assert grpc["sourcePrincipal"] == SA + "shop/sa/shop-frontend"
    assert grpc["destPrincipal"] == SA + "shop/sa/shop-inventory"
    assert grpc["isMTLS"] == "100.0"


def test_node_graphs_take_the_nodes_namespace(client_on: Client) -> None:
    # graph/options.go: a node graph's namespace is the path's; telemetry/istio/istio.go
    # BuildNodeTrafficMap: the requests into the node and out of it
    workload = edges(kiali(client_on, "/kiali/api/namespaces/shop/workloads/frontend-v1/graph"))
    assert {(u, v) for u, v, _ in workload} == {
        ("unknown", FRONTEND_NODE), (FRONTEND_NODE, INVENTORY_NODES["v1"]), (FRONTEND_NODE, INVENTORY_NODES["v2"]),
        (FRONTEND_NODE, BILLING_NODE), (FRONTEND_NODE, UNKNOWN_DESTINATION)}

    # an app without a version: every version of it, in a versionedApp graph
    app = edges(kiali(client_on, "/kiali/api/namespaces/shop/applications/inventory/graph",
                      graphType="versionedApp"))
    v1, v2 = (f"app:{EAST}:shop:inventory:{v}" for v in ("v1", "v2"))
    frontend = f"app:{WEST}:shop:frontend:v1"
    assert {(u, v) for u, v, _ in app} == {(frontend, v1), (frontend, v2), (v1, f"app:{WEST}:shop:db:v1")}
    version = edges(kiali(client_on, "/kiali/api/namespaces/shop/applications/inventory/versions/v2/graph",
                          graphType="versionedApp"))
    assert {(u, v) for u, v, _ in version} == {(frontend, v2)}

    # a service: its callers and the workloads behind it (Kiali's UI injects service nodes)
    service = edges(kiali(client_on, "/kiali/api/namespaces/shop/services/inventory/graph",
                          injectServiceNodes="true"))
    inventory = f"service:{EAST}:shop:inventory"
    assert {(u, v) for u, v, _ in service} == {
        (FRONTEND_NODE, inventory), (inventory, INVENTORY_NODES["v1"]), (inventory, INVENTORY_NODES["v2"])}
    # clusterName narrows the node to one cluster (graph/options.go NodeOptions.Cluster)
    elsewhere = kiali(client_on, "/kiali/api/namespaces/shop/services/inventory/graph", clusterName=WEST)
    assert elsewhere["elements"]["edges"] == []


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"rateGrpc": "bytes"}, "Invalid gRPC Rate [bytes]"),
        ({"rateHttp": "sent"}, "Invalid HTTP Rate [sent]"),
        ({"rateTcp": "requests"}, "Invalid TCP Rate [requests]"),
        ({"graphType": "galaxy"}, "Invalid graphType [galaxy]"),
        ({"duration": "forever"}, "Invalid duration [forever]"),
        ({"injectServiceNodes": "maybe"}, "Invalid injectServiceNodes [maybe]"),
        ({"boxBy": "planet"}, "Invalid boxBy [planet]"),
        ({"queryTime": "yesterday"}, "Invalid queryTime [yesterday]"),
        ({"namespaces": ""}, "At least one namespace must be specified via the namespaces query parameter."),
    ],
)
def test_bad_parameters_answer_kialis_error(client_on: Client, params: dict[str, str], message: str) -> None:
    # graph/options.go messages; handlers/graph.go: 400 with {"error": message}
    assert get(client_on, "/kiali/api/namespaces/graph", 400, **{"namespaces": "shop", **params}) == {"error": message}


def test_an_app_node_graph_needs_an_app_graph_type(client_on: Client) -> None:
    # graph/options.go: app node graphs support only graphType app or versionedApp
    answer = get(client_on, "/kiali/api/namespaces/shop/applications/inventory/graph", 400)
    assert answer == {"error": "Invalid graphType [workload]. This node detail graph supports only graphType app "
                               "or versionedApp."}


def test_meshviews_own_endpoint_draws_the_same_graph(client_on: Client) -> None:
    params = {"namespaces": "shop", "graphType": "versionedApp", "injectServiceNodes": "true", "rateGrpc": "total"}
    own = get(client_on, "/api/v1/graph", sources="prometheus", **params)
    assert own.pop("warnings") == []
    assert own == kiali(client_on, **params)
    node = get(client_on, "/api/v1/graph/node", namespace="shop", app="inventory", version="v2",
               graphType="versionedApp", sources="prometheus")
    assert {(u, v) for u, v, _ in edges(node)} == {(f"app:{WEST}:shop:frontend:v1", f"app:{EAST}:shop:inventory:v2")}
