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
