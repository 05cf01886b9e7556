"""A read whose database work runs past MESHVIEW_QUERY_TIMEOUT is cancelled: 503 with
Retry-After, and the process goes on serving."""

import pytest
from django.test import Client, override_settings

from tests.traces.test_store_and_query import export, span

SEARCH = '/jaeger/api/traces?service=frontend&tags={"no.such.tag":"x"}&limit=20'


@pytest.mark.django_db(transaction=True)
def test_a_read_past_its_time_limit_is_cancelled_with_a_503(client: Client) -> None:
    with override_settings(MESHVIEW_ANONYMOUS_ACCESS=True):
        for batch in range(15):
            spans = [span(batch * 2000 + i + 1, 1, f"GET /{i % 50}", start_ms=i) for i in range(2000)]
            response = client.post("/v1/traces", export("frontend", spans), content_type="application/x-protobuf")
            assert response.status_code == 200
        with override_settings(MESHVIEW_QUERY_TIMEOUT_SECONDS=0.001):
            response = client.get(SEARCH)
        assert response.status_code == 503, response.content
        assert "MESHVIEW_QUERY_TIMEOUT" in response.json()["detail"]
        assert int(response["Retry-After"]) > 0
        response = client.get(SEARCH)
        assert response.status_code == 200, response.content
        assert response.json()["data"] == []
        assert client.get("/jaeger/api/services").json()["data"] == ["frontend"]


@pytest.mark.django_db
def test_an_answer_past_the_span_limit_is_a_503_not_a_process_full_of_spans(client: Client) -> None:
    with override_settings(MESHVIEW_ANONYMOUS_ACCESS=True):
        spans = [span(7, i + 1, f"step {i}", parent=1 if i else 0, start_ms=i) for i in range(15)]
        client.post("/v1/traces", export("frontend", spans), content_type="application/x-protobuf")
        trace_id = f"{7:032x}"
        assert len(client.get(f"/jaeger/api/traces/{trace_id}").json()["data"][0]["spans"]) == 15
        with override_settings(MESHVIEW_MAX_SPANS_PER_ANSWER=10):
            for path in (f"/jaeger/api/traces/{trace_id}", f"/jaeger/api/v3/traces/{trace_id}",
                         "/jaeger/api/traces?service=frontend"):
                response = client.get(path)
                assert response.status_code == 503, (path, response.content)
                assert "more than 10 spans" in response.content.decode()
                assert response["Retry-After"]
