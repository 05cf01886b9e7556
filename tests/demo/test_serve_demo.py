"""`serve --demo` as a newcomer runs it: the demo mesh feeds the real ingest endpoints over HTTP,
and the graph and traces read back through the real API show every feature the demo promises."""

import json
import time
import urllib.request
from typing import Any

from tests.conftest import Server

GRAPH = "/api/v1/graph?namespaces=bookinfo&graphType=versionedApp&duration=120s&injectServiceNodes=true"


def get(server: Server, path: str) -> Any:
    with urllib.request.urlopen(server.url + path, timeout=10) as response:
        return json.load(response)


def graph_of(server: Server, params: str = "") -> tuple[dict[str, dict], dict[tuple[str, str, str], dict]]:
    """Nodes by a readable name (`unknown`, `bookinfo-gateway-istio`, `reviews v2`, `svc reviews`,
    `isbn` for an app of unknown version) and edges by (source, target, protocol)."""
    body = get(server, GRAPH + params)
    names = {}
    for node in body["elements"]["nodes"]:
        data = node["data"]
        if data["nodeType"] == "service":
            names[data["id"]] = f"svc {data['service']}"
        elif data["nodeType"] == "unknown":
            names[data["id"]] = "unknown"
        else:
            names[data["id"]] = f"{data['app']} {data.get('version', '')}".strip().removesuffix(" latest")
    nodes = {names[n["data"]["id"]]: n["data"] for n in body["elements"]["nodes"]}
    edges = {
        (names[e["data"]["source"]], names[e["data"]["target"]], e["data"]["traffic"]["protocol"]): e["data"]
        for e in body["elements"]["edges"]
    }
    return nodes, edges


def flags(edge: dict, code: str) -> dict[str, str]:
    return edge["traffic"].get("responses", {}).get(code, {}).get("flags", {})


def demo_complete(nodes: dict[str, dict], edges: dict[tuple[str, str, str], dict]) -> bool:
    reasons = nodes.get("unknown", {}).get("unknownReason", {})
    return (
        {"nodeport", "probe", "scrape"} <= set(reasons)
        and "UO" in flags(edges.get(("productpage v1", "svc reviews", "http"), {}), "503")
        and ("svc reviews", "reviews v3", "http") in edges
    )


def test_the_demo_mesh_draws_every_feature_on_the_graph(demo_server: Server) -> None:
    deadline = time.monotonic() + 90  # unknown callers are attributed once the settle window ends
    nodes, edges = graph_of(demo_server)
    while not demo_complete(nodes, edges) and time.monotonic() < deadline:
        time.sleep(2)
        nodes, edges = graph_of(demo_server)

    # Roots: the ingress gateway, and the unknown source with its reasons.
    assert nodes["bookinfo-gateway-istio"]["isRoot"] is True and "isGateway" in nodes["bookinfo-gateway-istio"]
    unknown = nodes["unknown"]
    assert unknown["isRoot"] is True and unknown["nodeType"] == "unknown"
    assert {"nodeport", "probe", "scrape"} <= set(unknown["unknownReason"]), unknown
    # mTLS between sidecars, none from outside the mesh (the NodePort client, probes, scrapes).
    assert float(edges[("bookinfo-gateway-istio", "svc productpage", "http")]["isMTLS"]) == 100
    assert float(edges[("productpage v1", "svc details", "http")]["isMTLS"]) == 100
    assert not edges[("unknown", "svc productpage", "http")].get("isMTLS")
    # The canary: reviews' service splits 90/10 between v2 and v3.
    stable = float(edges[("svc reviews", "reviews v2", "http")]["traffic"]["rates"]["httpPercentReq"])
    canary = float(edges[("svc reviews", "reviews v3", "http")]["traffic"]["rates"]["httpPercentReq"])
    assert stable + canary > 99 and 2 < canary < 25, (stable, canary)
    # The circuit breaker's 503 UO on the way to reviews, and 5xx from the canary.
    assert "UO" in flags(edges[("productpage v1", "svc reviews", "http")], "503")
    assert any("500" in e["traffic"].get("responses", {}) for e in edges.values())
    # TCP to the database, mTLS as the destination reported it.
    assert ("ratings v1", "svc mongodb", "tcp") in edges and ("svc mongodb", "mongodb v1", "tcp") in edges
    tcp = [e for (_, _, protocol), e in edges.items() if protocol == "tcp"]
    assert all(float(e.get("isMTLS", 0)) == 100 for e in tcp), tcp
    # The workload without a sidecar: reached only through details' outbound records, drawn as a
    # workload missing its sidecar behind a live service.
    assert ("details v1", "svc isbn", "http") in edges and ("svc isbn", "isbn", "http") in edges
    assert nodes["isbn"]["hasMissingSC"] is True and nodes["isbn"]["nodeType"] == "app"
    assert not any(n.get("isDead") for n in nodes.values())
    assert not any(n.get("hasMissingSC") for name, n in nodes.items() if name != "isbn")
    workloads = {w["name"]: w for w in get(demo_server, "/api/v1/workloads")["results"]}
    assert workloads["isbn"]["missingSidecar"] is True and workloads["details-v1"]["hasSidecar"] is True


def test_access_logs_and_spans_together_count_each_call_once(demo_server: Server) -> None:
    # MongoDB and isbn send no spans: spans end their callers' calls at the service, access logs
    # at the workload; together they count what access logs alone count.
    # A window that ended 30 s ago: nothing arrives for it any more (the feed's lag, the settle
    # window and the beat that settles it), so the two reads see the same rows.
    keys = (("ratings v1", "svc mongodb", "tcp"), ("svc mongodb", "mongodb v1", "tcp"),
            ("details v1", "svc isbn", "http"))
    deadline = time.monotonic() + 90
    while True:
        window = f"&queryTime={int(time.time()) - 30}"
        alone = graph_of(demo_server, window + "&sources=accesslogs")[1]
        if set(keys) <= set(alone) or time.monotonic() > deadline:
            break
        time.sleep(2)
    both = graph_of(demo_server, window)[1]
    assert set(both) == set(alone)
    for key in keys:
        assert both[key]["traffic"]["rates"] == alone[key]["traffic"]["rates"], key
        assert both[key].get("isMTLS") == alone[key].get("isMTLS"), key
        assert set(both[key]["telemetry"]) == {"accesslogs", "spans"}, key


def test_the_demo_mesh_sends_traces_that_start_at_the_gateway(demo_server: Server) -> None:
    body = get(demo_server, "/jaeger/api/traces?service=bookinfo-gateway-istio&limit=20&lookback=5m")
    assert len(body["data"]) == 20, "too few traces from the ingress gateway"
    for trace in body["data"]:
        services = {p["serviceName"] for p in trace["processes"].values()}
        assert {"bookinfo-gateway-istio", "productpage", "details"} <= services  # reviews: unless refused (UO)
        spans = {s["spanID"]: s for s in trace["spans"]}
        for span in spans.values():
            for reference in span["references"]:
                parent = spans[reference["spanID"]]
                assert parent["startTime"] <= span["startTime"]
                assert span["startTime"] + span["duration"] <= parent["startTime"] + parent["duration"]
        assert abs(max(s["startTime"] for s in spans.values()) / 1e6 - time.time()) < 120  # live, not dated
