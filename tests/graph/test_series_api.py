"""GET /api/v1/graph/metrics: the side panels' time series of a node or an edge, read from the
traffic rollups that the demo mesh's access logs make, counted as the graph counts them."""

import time
from collections import Counter

import pytest
from django.test import Client, override_settings

from meshview.core.actions import issue_token
from meshview.demo import render, topology
from meshview.demo.feed import Schedule
from meshview.demo.traffic import MS, Hop, Traffic
from meshview.mesh import actions, rollups
from meshview.mesh.latency import bucket_index, quantile
from meshview.mesh.models import TrafficRollup, TrafficRollupMinute

pytestmark = pytest.mark.django_db
START_S = 29_933_333 * 60  # a whole minute
START = START_S * 1_000_000_000
MINUTES = 3
QUERY = {"queryTime": str(START_S + MINUTES * 60), "duration": f"{MINUTES}m", "step": "60"}


@pytest.fixture(scope="module")
def hops() -> list[Hop]:
    # Stop short of the last minute's end, so no request is still running when the window ends.
    return Schedule(Traffic(seed=11), 8.0, START).until(START + (MINUTES * 60 - 2) * 1_000_000_000)


@pytest.fixture
def fed(client: Client, hops: list[Hop]):
    with override_settings(MESHVIEW_ANONYMOUS_ACCESS=True):
        body = "\n".join(render.envelopes(hops))
        answer = client.post("/api/v1/ingest/envoy", body, content_type="application/x-ndjson").json()
        assert answer["rejected"] == 0
        actions.settle_expired(now=time.time() + 3600)
        yield


def metrics(client: Client, **params: str) -> dict:
    response = client.get("/api/v1/graph/metrics", {**QUERY, **params})
    assert response.status_code == 200, response.content
    return response.json()


def expected(hops: list[Hop], wanted) -> tuple[list[int], list[int], list[list[int]]]:
    """Requests, errors and latency histograms per minute of the hops `wanted` picks, as the
    proxy that counts them logged them: the server side when reached, else the client side."""
    requests, errors = [0] * MINUTES, [0] * MINUTES
    histograms = [[0] * 20 for _ in range(MINUTES)]
    for root in hops:
        for hop in root.walk():
            if not wanted(hop):
                continue
            start, end = (hop.server_start, hop.server_end) if hop.reached else (hop.start, hop.end)
            minute = (start // 1_000_000_000 - START_S) // 60
            requests[minute] += 1
            errors[minute] += hop.code >= 400
            histograms[minute][bucket_index((end - start) // MS)] += 1
    return requests, errors, histograms


@pytest.mark.usefixtures("fed")
def test_an_edge_with_its_circuit_breaks_counts_every_request_once(client: Client, hops: list[Hop]) -> None:
    body = metrics(client, sourceNamespace="bookinfo", sourceWorkload="productpage-v1",
                   destinationNamespace="bookinfo", destinationService="reviews")
    assert body["timestamps"] == [START_S + 60 * i for i in range(MINUTES)] and body["step"] == 60
    requests, errors, histograms = expected(hops, lambda h: h.service is topology.REVIEWS_SERVICE)
    assert body["requestRate"] == [round(n / 60, 4) for n in requests]
    assert body["errorRate"] == [round(n / 60, 4) for n in errors]
    assert sum(errors) > 0  # 503 UO from the circuit breaker and the canary's 500s
    assert body["p95"] == [round(quantile(h, 0.95), 2) for h in histograms]


@pytest.mark.usefixtures("fed")
def test_past_the_ten_second_tier_the_minute_tier_answers_the_same(client: Client) -> None:
    edge = {"sourceNamespace": "bookinfo", "sourceWorkload": "productpage-v1", "destinationNamespace": "bookinfo",
            "destinationService": "reviews"}
    fresh = metrics(client, **edge)
    assert rollups.roll_up(time.time()) > 0
    assert rollups.delete_expired(time.time()) > 0  # the window is days old: its 10-second rows go
    assert not TrafficRollup.objects.exists() and TrafficRollupMinute.objects.exists()
    assert metrics(client, **edge) == fresh
    # Ten-second steps are never filled from minute rows (a minute in one step): nothing is left.
    assert metrics(client, **edge, step="10")["requestRate"] == [0.0] * MINUTES * 6


@pytest.mark.usefixtures("fed")
def test_a_node_inbound_and_outbound_and_the_canary(client: Client, hops: list[Hop]) -> None:
    canary = metrics(client, namespace="bookinfo", app="reviews", version="v3")
    requests, _, _ = expected(hops, lambda h: h.destination is topology.REVIEWS_CANARY)
    assert canary["requestRate"] == [round(n / 60, 4) for n in requests]
    stable = metrics(client, namespace="bookinfo", workload="reviews-v2")
    assert sum(stable["requestRate"]) > 5 * sum(canary["requestRate"]) > 0
    # The unknown node's outbound traffic: the NodePort client, probes and scrapes.
    unknown = metrics(client, namespace="unknown", workload="unknown", direction="outbound")
    requests, _, _ = expected(hops, lambda h: h.source is None)
    assert unknown["requestRate"] == [round(n / 60, 4) for n in requests]
    # ...of which productpage's service receives its own share.
    to_productpage = metrics(client, sourceNamespace="unknown", sourceWorkload="unknown",
                             destinationNamespace="bookinfo", destinationService="productpage")
    requests, _, _ = expected(hops, lambda h: h.source is None and h.destination is topology.PRODUCTPAGE)
    assert to_productpage["requestRate"] == [round(n / 60, 4) for n in requests]
    # TCP: bytes, no requests.
    database = metrics(client, namespace="bookinfo", workload="ratings-v1", direction="outbound")
    sent = Counter()
    for root in hops:
        for hop in root.walk():
            if hop.protocol == "tcp":
                sent[(hop.server_start // 1_000_000_000 - START_S) // 60] += hop.bytes_sent
    assert database["tcpSentRate"] == [round(sent[i] / 60, 4) for i in range(MINUTES)]
    assert database["p95"] == [None] * MINUTES


@pytest.mark.usefixtures("fed")
def test_the_namespace_rule_hides_traffic_of_namespaces_a_token_may_not_see(client: Client) -> None:
    params = {**QUERY, "namespace": "bookinfo", "workload": "details-v1"}
    _, inside = issue_token("bookinfo-reader", ["read"], namespaces=["bookinfo"])
    _, outside = issue_token("shop-reader", ["read"], namespaces=["shop"])
    seen = client.get("/api/v1/graph/metrics", params, HTTP_AUTHORIZATION=f"Bearer {inside}").json()
    assert sum(seen["requestRate"]) > 0
    hidden = client.get("/api/v1/graph/metrics", params, HTTP_AUTHORIZATION=f"Bearer {outside}")
    assert hidden.status_code == 403 and "bookinfo" in hidden.json()["detail"]
    # The unknown node stays visible, with only the traffic into namespaces the token sees.
    unknown = {**QUERY, "namespace": "unknown", "workload": "unknown", "direction": "outbound"}
    into_shop = client.get("/api/v1/graph/metrics", unknown, HTTP_AUTHORIZATION=f"Bearer {outside}").json()
    into_bookinfo = client.get("/api/v1/graph/metrics", unknown, HTTP_AUTHORIZATION=f"Bearer {inside}").json()
    assert sum(into_shop["requestRate"]) == 0 < sum(into_bookinfo["requestRate"])
    with override_settings(MESHVIEW_ANONYMOUS_ACCESS=False):
        assert client.get("/api/v1/graph/metrics", params).status_code == 401


@pytest.mark.usefixtures("fed")
def test_two_queries_per_series(client: Client, django_assert_num_queries) -> None:
    with override_settings(MESHVIEW_ANONYMOUS_ACCESS=True), django_assert_num_queries(2):  # tiers' watermarks, rows
        metrics(client, sourceNamespace="bookinfo", sourceService="reviews", destinationNamespace="bookinfo",
                destinationApp="reviews", destinationVersion="v2", duration="1h", step="10")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"namespace": "bookinfo"}, "exactly one of workload"),
        ({"namespace": "bookinfo", "workload": "a", "service": "b"}, "exactly one of workload"),
        ({"namespace": "bookinfo", "workload": "a", "direction": "up"}, "direction"),
        ({"sourceNamespace": "bookinfo", "sourceWorkload": "a"}, "destinationNamespace"),
        ({"namespace": "bookinfo", "workload": "a", "step": "15"}, "multiple of 10"),
        ({"namespace": "bookinfo", "workload": "a", "duration": "7d", "step": "10"}, "more than 1000 points"),
        ({"namespace": "bookinfo", "workload": "a", "queryTime": "yesterday"}, "queryTime"),
    ],
)
def test_a_wrong_parameter_is_named(client: Client, params: dict, message: str) -> None:
    with override_settings(MESHVIEW_ANONYMOUS_ACCESS=True):
        response = client.get("/api/v1/graph/metrics", params)
    assert response.status_code == 400 and message in response.json()["detail"], response.content


def test_the_endpoint_is_in_the_openapi_schema(client: Client) -> None:
    with override_settings(MESHVIEW_ANONYMOUS_ACCESS=True):
        schema = client.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/graph/metrics"]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert {"namespace", "workload", "direction", "sourceWorkload", "destinationService", "step", "queryTime"} <= names


@pytest.mark.parametrize(
    ("duration", "step"), [(600, 10), (3600, 60), (6 * 3600, 360), (7 * 86400, 10800), (90 * 86400, 172800)]
)
def test_the_default_step_holds_whole_buckets_of_the_coarsest_tier_that_fits(duration: int, step: int) -> None:
    from meshview.graph.api.metrics import default_step

    assert default_step(duration) == step
