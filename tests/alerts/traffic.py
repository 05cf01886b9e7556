"""Traffic fed to meshview through its ingest endpoint, as the alert tests need it."""

from datetime import UTC, datetime, timedelta

from django.test import Client

from tests import meshsim
from tests.meshsim import DETAILS, PRODUCTPAGE, REVIEWS, SERVICES, Call


def calls(ok: int = 0, failed: int = 0, code: int = 503, destination: meshsim.Pod = REVIEWS["v1"]) -> list[Call]:
    service = SERVICES[destination.app]
    # Requests that started a second ago and so ended by now, when a proxy logged them.
    now = datetime.now(UTC) - timedelta(seconds=1)
    return [Call(PRODUCTPAGE, service, destination, start=now) for _ in range(ok)] + [
        Call(PRODUCTPAGE, service, destination, code=code, start=now) for _ in range(failed)
    ]


def feed(client: Client, traffic: list[Call], sides: str = "both", **headers: str) -> dict:
    """POST the calls' access logs (Fluent Bit envelopes of `sides`) to the ingest endpoint."""
    body = "\n".join(meshsim.envoy_envelopes(traffic, sides))
    response = client.post("/api/v1/ingest/envoy", body, content_type="application/x-ndjson", **headers)
    assert response.status_code == 200, response.content
    assert response.json()["rejected"] == 0, response.json()
    return response.json()


__all__ = ["DETAILS", "REVIEWS", "calls", "feed"]
