"""GET /api/v1/traces/request-ids/{request_id}: from an access log's x-request-id to its trace,
through the spans the demo mesh exports (Envoy's `guid:x-request-id` tag on the gateway's span,
the `http.request.header.x-request-id` array on the applications')."""

import pytest
from django.test import Client, override_settings

from meshview.core.actions import issue_token
from meshview.demo import render
from meshview.demo.feed import Schedule
from meshview.demo.traffic import Hop, Traffic

pytestmark = pytest.mark.django_db
START = 1_796_000_000 * 1_000_000_000
WINDOW = {"start": str(START // 1000 - 1_000_000), "end": str(START // 1000 + 60_000_000)}


@pytest.fixture(scope="module")
def hops() -> list[Hop]:
    return Schedule(Traffic(seed=5), 10.0, START).until(START + 30 * 1_000_000_000)


@pytest.fixture
def stored(client: Client, hops: list[Hop]):
    with override_settings(MESHVIEW_ANONYMOUS_ACCESS=True):
        body = render.otlp_export(hops).SerializeToString()
        response = client.post("/v1/traces", body, content_type="application/x-protobuf")
        assert response.status_code == 200, response.content
        yield


def lookup(client: Client, request_id: str, **params: str) -> list[str]:
    response = client.get(f"/api/v1/traces/request-ids/{request_id}", {**WINDOW, **params})
    assert response.status_code == 200, response.content
    assert response.json()["requestId"] == request_id
    return [summary["traceId"] for summary in response.json()["results"]]


@pytest.mark.usefixtures("stored")
def test_a_request_id_finds_its_trace_whichever_attribute_carries_it(client: Client, hops: list[Hop]) -> None:
    through_gateway = next(h for h in hops if h.traced and h.source is not None)
    through_nodeport = next(h for h in hops if h.traced and h.source is None)  # no Envoy span: only the header
    for hop in (through_gateway, through_nodeport):
        assert lookup(client, hop.request_id) == [hop.trace_id.hex()]
    summary = client.get(f"/api/v1/traces/request-ids/{through_gateway.request_id}", WINDOW).json()["results"][0]
    assert summary["spanCount"] == sum(
        (h.source is not None and h.source.traced) + (h.destination is not None and h.destination.traced)
        for h in through_gateway.walk()
    )


@pytest.mark.usefixtures("stored")
def test_no_trace_outside_the_window_or_for_an_unknown_id(client: Client, hops: list[Hop]) -> None:
    hop = next(h for h in hops if h.traced)
    assert lookup(client, "0f1e2d3c-0000-4000-8000-000000000000") == []
    assert lookup(client, hop.request_id, start=str(START // 1000 + 60_000_000),
                  end=str(START // 1000 + 120_000_000)) == []
    assert lookup(client, hop.request_id[:8]) == []  # whole ids only


@pytest.mark.usefixtures("stored")
def test_the_namespace_rule_applies(client: Client, hops: list[Hop]) -> None:
    hop = next(h for h in hops if h.traced)
    _, inside = issue_token("bookinfo-reader", ["read"], namespaces=["bookinfo"])
    _, outside = issue_token("shop-reader", ["read"], namespaces=["shop"])
    url = f"/api/v1/traces/request-ids/{hop.request_id}"
    with override_settings(MESHVIEW_ANONYMOUS_ACCESS=False):
        assert client.get(url, WINDOW).status_code == 401
        seen = client.get(url, WINDOW, HTTP_AUTHORIZATION=f"Bearer {inside}").json()["results"]
        hidden = client.get(url, WINDOW, HTTP_AUTHORIZATION=f"Bearer {outside}").json()["results"]
    assert [s["traceId"] for s in seen] == [hop.trace_id.hex()]
    assert hidden == []


@pytest.mark.usefixtures("stored")
def test_query_count_is_fixed(client: Client, hops: list[Hop], django_assert_num_queries) -> None:
    hop = next(h for h in hops if h.traced)
    with django_assert_num_queries(2):
        assert lookup(client, hop.request_id) == [hop.trace_id.hex()]


def test_bad_parameters_and_the_schema(client: Client) -> None:
    with override_settings(MESHVIEW_ANONYMOUS_ACCESS=True):
        assert client.get("/api/v1/traces/request-ids/" + "a" * 129).status_code == 400
        assert client.get("/api/v1/traces/request-ids/abc", {"start": "soon"}).status_code == 400
        schema = client.get("/api/schema/?format=json").json()
    assert "/api/v1/traces/request-ids/{request_id}" in schema["paths"]
