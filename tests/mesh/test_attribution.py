"""Source attribution and rollups through the real ingest path, on SQLite and PostgreSQL."""

import json
import time
from datetime import UTC, datetime

import pytest
from django.test import Client, override_settings

from meshview.mesh import actions
from meshview.mesh.models import PendingRequest, TrafficRollup
from tests import meshsim
from tests.meshsim import GATEWAY, PRODUCTPAGE, RATINGS, REVIEWS, SERVICES, Call

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("anonymous")]
START = datetime(2026, 11, 26, 12, 0, 5, tzinfo=UTC)


@pytest.fixture
def anonymous():
    with override_settings(MESHVIEW_ANONYMOUS_ACCESS=True, MESHVIEW_SETTLE_SECONDS=10):
        yield


def post(client: Client, lines: list[str], **params: str) -> dict:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    response = client.post(f"/api/v1/ingest/envoy?{query}", "\n".join(lines), content_type="application/x-ndjson")
    assert response.status_code == 200, response.content
    return response.json()


def edges(reporter: str = "destination") -> dict[tuple, int]:
    """(source workload, destination workload or service, code, flags, reason) → requests."""
    totals: dict[tuple, int] = {}
    for r in TrafficRollup.objects.select_related("key").filter(key__reporter=reporter):
        key = (
            r.key.source_workload,
            (
                r.key.destination_workload
                if r.key.destination_workload != "unknown"
                else f"svc:{r.key.destination_service_name}"
            ),
            r.key.response_code,
            r.key.response_flags,
            r.key.unknown_reason,
        )
        totals[key] = totals.get(key, 0) + r.requests
    return totals


def settle_later() -> int:
    return actions.settle_expired(now=time.time() + 11)


@pytest.mark.parametrize("client_first", [True, False], ids=["client-first", "server-first"])
def test_gateway_to_sidecar_to_sidecar_is_correlated_by_request_id(client: Client, client_first: bool) -> None:
    calls = [
        Call(GATEWAY, SERVICES["productpage"], PRODUCTPAGE, start=START, request_id="rid-1"),
        Call(PRODUCTPAGE, SERVICES["reviews"], REVIEWS["v2"], start=START, request_id="rid-1"),
        Call(REVIEWS["v2"], SERVICES["ratings"], RATINGS, start=START, request_id="rid-1"),
    ]
    if client_first:
        post(client, list(meshsim.envoy_envelopes(calls, sides="client", with_ip=False)))
        post(client, list(meshsim.envoy_envelopes(calls, sides="server", with_ip=False)))
    else:
        # Server sides first, callers last to first, so no caller's address is known yet.
        for call in reversed(calls):
            post(client, list(meshsim.envoy_envelopes([call], sides="server", with_ip=False)))
        assert PendingRequest.objects.count() == 3  # nothing known yet about who called
        post(client, list(meshsim.envoy_envelopes(calls, sides="client", with_ip=False)))
    # The twins settled the pending records at once: no waiting for the settle window.
    assert PendingRequest.objects.count() == 0
    assert edges() == {
        ("istio-ingressgateway", "productpage-v1", 200, "-", ""): 1,
        ("productpage-v1", "reviews-v2", 200, "-", ""): 1,
        ("reviews-v2", "ratings-v1", 200, "-", ""): 1,
    }
    rollup = TrafficRollup.objects.get(key__reporter="destination", key__destination_workload="productpage-v1")
    assert (rollup.key.source_role, rollup.key.destination_service, rollup.key.mtls) == (
        "ingress-gateway",
        "productpage.bookinfo.svc.cluster.local",
        True,
    )


def test_the_bookinfo_minute(client: Client) -> None:
    calls = meshsim.bookinfo_calls(START)
    answer = post(client, list(meshsim.envoy_envelopes(calls)))
    assert answer["rejected"] == 0
    settled = settle_later()
    assert settled == 7  # the NodePort and probe requests, which nobody can vouch for
    destination = edges()
    assert destination[("istio-ingressgateway", "productpage-v1", 200, "-", "")] == 20
    # canary split 18/1/1
    assert destination[("productpage-v1", "reviews-v1", 200, "-", "")] == 18
    assert destination[("productpage-v1", "reviews-v2", 200, "-", "")] == 1
    assert destination[("productpage-v1", "reviews-v3", 200, "-", "")] == 1
    assert destination[("unknown", "productpage-v1", 200, "-", "nodeport")] == 4
    assert destination[("unknown", "details-v1", 200, "-", "probe")] == 3
    assert destination[("ratings-v1", "mongodb-v1", 0, "-", "")] == 1
    source = edges("source")
    # Requests that never reached a workload exist only client-side, to the service.
    assert source[("productpage-v1", "svc:reviews", 503, "UO", "")] == 2
    assert source[("productpage-v1", "svc:ratings-canary", 404, "NR", "")] == 1
    tcp = TrafficRollup.objects.get(key__reporter="destination", key__protocol="tcp")
    assert (tcp.bytes_received, tcp.bytes_sent, tcp.key.response_code) == (512, 2048, 0)
    mtls = {m: 0 for m in (True, False)}
    for r in TrafficRollup.objects.filter(key__reporter="destination", key__destination_workload="ratings-v1"):
        mtls[r.key.mtls] += r.requests
    assert mtls == {True: 1, False: 1}
    latency = TrafficRollup.objects.get(
        key__reporter="destination", key__destination_workload="reviews-v1", key__source_workload="productpage-v1"
    )
    assert latency.duration_sum_ms == 18 * 40
    assert latency.latency_5 == 18  # 40 ms falls in the (25, 50] bucket, index 5


def test_each_request_counts_once_per_reporter_even_when_sent_twice_in_one_batch(client: Client) -> None:
    calls = [Call(GATEWAY, SERVICES["productpage"], PRODUCTPAGE, start=START) for _ in range(5)]
    post(client, list(meshsim.envoy_envelopes(calls)))
    post(client, list(meshsim.envoy_envelopes(calls[:2])))  # a shipper retry re-sends two
    assert edges()[("istio-ingressgateway", "productpage-v1", 200, "-", "")] == 7
    assert sum(TrafficRollup.objects.filter(key__reporter="source").values_list("requests", flat=True)) == 7


def test_raw_lines_take_the_reporter_from_query_parameters(client: Client) -> None:
    call = Call(PRODUCTPAGE, SERVICES["details"], meshsim.DETAILS, start=START)
    response = client.post(
        "/api/v1/ingest/envoy?namespace=bookinfo&pod=productpage-v1-5f7d8c9b6d-x2k4q&app=productpage&version=v1",
        meshsim.client_line(call) + "\r\n",
        content_type="text/plain",
    )
    assert response.json() == {"accepted": 1, "rejected": 0, "errors": []}
    key = TrafficRollup.objects.get().key
    assert (key.reporter, key.source_workload, key.source_app, key.destination_service_name) == (
        "source",
        "productpage-v1",
        "productpage",
        "details",
    )


def test_a_server_side_record_unmatched_after_the_window_falls_back_to_the_caller_address(client: Client) -> None:
    call = Call(PRODUCTPAGE, SERVICES["details"], meshsim.DETAILS, start=START)
    # productpage's address is known from another of its records.
    other = Call(PRODUCTPAGE, SERVICES["reviews"], REVIEWS["v1"], start=START)
    post(client, list(meshsim.envoy_envelopes([other], sides="client")))
    post(client, list(meshsim.envoy_envelopes([call], sides="server")))
    assert PendingRequest.objects.count() == 0  # the caller's address was known at once
    assert edges()[("productpage-v1", "details-v1", 200, "-", "")] == 1


def test_a_record_no_proxy_can_have_logged_the_other_side_of_waits_without_its_request_id(client: Client) -> None:
    probe = Call(None, SERVICES["details"], meshsim.DETAILS, start=START, request_id="rid-probe",
                 user_agent="kube-probe/1.29", remote_ip=meshsim.NODE_IP)
    nodeport = Call(None, SERVICES["productpage"], PRODUCTPAGE, start=START, request_id="rid-nodeport",
                    authority=f"{meshsim.NODE_IP}:{meshsim.NODEPORT}", remote_ip="198.51.100.23")
    # A caller whose proxy's address is not known yet: its client side may still come.
    plain = Call(REVIEWS["v1"], SERVICES["ratings"], RATINGS, start=START, request_id="rid-plain")
    post(client, list(meshsim.envoy_envelopes([probe, nodeport, plain], sides="server", with_ip=False)))
    assert sorted(PendingRequest.objects.values_list("request_id", flat=True)) == ["", "", "rid-plain"]
    post(client, list(meshsim.envoy_envelopes([plain], sides="client", with_ip=False)))
    assert PendingRequest.objects.count() == 2  # the twin settled its record at once
    assert settle_later() == 2
    assert edges() == {
        ("reviews-v1", "ratings-v1", 200, "-", ""): 1,
        ("unknown", "details-v1", 200, "-", "probe"): 1,
        ("unknown", "productpage-v1", 200, "-", "nodeport"): 1,
    }


def test_workloads_list_flags_a_destination_without_a_sidecar(client: Client) -> None:
    legacy = meshsim.Pod("bookinfo", "legacy-v1", "legacy", "v1", "10.0.9.9")
    calls = [
        Call(PRODUCTPAGE, meshsim.Service("legacy", "bookinfo"), legacy, start=START),
        Call(GATEWAY, SERVICES["productpage"], PRODUCTPAGE, start=START),
    ]
    post(client, list(meshsim.envoy_envelopes(calls, sides="client")))
    body = client.get("/api/v1/workloads").json()
    by_name = {w["name"]: w for w in body["results"]}
    assert by_name["productpage-v1"]["hasSidecar"] is True
    assert by_name["istio-ingressgateway"]["role"] == "ingress-gateway"
    assert by_name["legacy"]["missingSidecar"] is True
    assert by_name["legacy"]["hasSidecar"] is False
    assert "productpage" not in by_name  # reached, and its pod reports: not flagged
    assert client.get("/api/v1/namespaces").json() == {"namespaces": ["bookinfo", "istio-system"]}


def test_a_workload_without_a_sidecar_is_drawn_as_a_workload_missing_its_sidecar(client: Client) -> None:
    legacy = meshsim.Pod("bookinfo", "legacy-v1", "legacy", "v1", "10.0.9.9")
    call = Call(PRODUCTPAGE, meshsim.Service("legacy", "bookinfo"), legacy, start=START)
    post(client, list(meshsim.envoy_envelopes([Call(GATEWAY, SERVICES["productpage"], PRODUCTPAGE, start=START)])))
    post(client, list(meshsim.envoy_envelopes([call], sides="client")))
    settle_later()
    # Only productpage's outbound record shows the call: it reached the workload behind legacy.
    assert edges("source")[("productpage-v1", "legacy", 200, "-", "")] == 1
    query = {"namespaces": "bookinfo", "queryTime": str(int(START.timestamp()) + 55), "duration": "60s",
             "sources": "accesslogs", "injectServiceNodes": "true"}
    for graph_type in ("workload", "versionedApp"):
        body = client.get("/api/v1/graph", {**query, "graphType": graph_type}).json()
        nodes = {n["data"]["id"]: n["data"] for n in body["elements"]["nodes"]}
        legacy_nodes = [n for n in nodes.values() if "legacy" in (n.get("workload"), n.get("app"))]
        assert [n["nodeType"] for n in legacy_nodes] == ["workload" if graph_type == "workload" else "app"]
        assert legacy_nodes[0]["hasMissingSC"] is True
        assert not any(n.get("isDead") for n in nodes.values()), nodes
        assert not any(n.get("hasMissingSC") for n in nodes.values() if n not in legacy_nodes)
        service = nodes["service:Kubernetes:bookinfo:legacy"]
        assert {(e["data"]["source"], e["data"]["target"]) for e in body["elements"]["edges"]} >= {
            (service["id"], legacy_nodes[0]["id"])}


def test_ingest_counts_show_in_metrics(client: Client) -> None:
    post(client, [json.dumps({"log": "garbage", "kubernetes": PRODUCTPAGE.kubernetes()})])
    text = client.get("/metrics").content.decode()
    assert 'meshview_ingest_records_total{outcome="rejected",signal="envoy"}' in text


def test_grpc_statuses_from_a_format_that_logs_them(client: Client) -> None:
    fmt = (
        '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% '
        '%RESPONSE_FLAGS% %GRPC_STATUS(NUMBER)% %DURATION% "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" '
        '"%UPSTREAM_HOST%" %UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% '
        "%DOWNSTREAM_REMOTE_ADDRESS%"
    )
    lines = [
        f'[2026-11-26T12:00:05.000Z] "POST /hipstershop.CartService/GetCart HTTP/2" 200 - {status} 7 "r{i}" '
        '"cart:7070" "10.0.2.5:7070" outbound|7070||cart.shop.svc.cluster.local 10.0.2.9:40000 '
        "10.96.2.1:7070 10.0.2.9:40001"
        for i, status in enumerate([0, 0, 0, 14])
    ]
    from urllib.parse import quote

    response = client.post(
        f"/api/v1/ingest/envoy?namespace=shop&pod=frontend-5f7d8c9b6d-x2k4q&log_format={quote(fmt)}",
        "\n".join(lines), content_type="text/plain",
    )
    assert response.json()["accepted"] == 4, response.json()
    statuses = {r.key.grpc_status: r.requests for r in TrafficRollup.objects.filter(key__protocol="grpc")}
    assert statuses == {"0": 3, "14": 1}


def test_traffic_past_its_retention_is_deleted(client: Client) -> None:
    from meshview.mesh.models import Address
    from meshview.mesh.tasks import delete_expired_traffic

    two_hours_ago = datetime.fromtimestamp(time.time() - 7200, UTC)
    calls = [Call(GATEWAY, SERVICES["productpage"], PRODUCTPAGE, start=two_hours_ago)]
    post(client, list(meshsim.envoy_envelopes(calls)))
    with override_settings(MESHVIEW_TRAFFIC_RETENTION_SECONDS=3 * 3600):
        assert delete_expired_traffic() == 0  # the Celery task, as beat runs it
    assert TrafficRollup.objects.count() == 2
    with override_settings(MESHVIEW_TRAFFIC_RETENTION_SECONDS=3600):
        assert delete_expired_traffic() == 2
    assert TrafficRollup.objects.count() == 0
    assert Address.objects.exists()  # seen just now, whatever the traffic's own time
    with override_settings(MESHVIEW_TRAFFIC_RETENTION_SECONDS=3600):
        actions.delete_expired_traffic(now=time.time() + 7200)
    assert not Address.objects.exists()


def test_a_gateway_known_by_configuration_is_a_root_not_a_sidecar(client: Client) -> None:
    edge = meshsim.Pod("edge", "envoy-edge", "envoy-edge", "v1", "10.0.0.77", 8080)  # no gateway labels
    calls = [Call(edge, SERVICES["productpage"], PRODUCTPAGE, start=START)]
    with override_settings(MESHVIEW_GATEWAYS={("edge", "envoy-edge"): "ingress-gateway"}):
        post(client, list(meshsim.envoy_envelopes(calls)))
    rollup = TrafficRollup.objects.get(key__reporter="destination")
    assert (rollup.key.source_workload, rollup.key.source_role) == ("envoy-edge", "ingress-gateway")
