import pytest
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_credentials(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_database_broker_and_unseen_worker(client: Client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["checks"]["database"] == {"status": "ok"}
    assert body["checks"]["broker"] == {"status": "ok"}
    assert body["checks"]["worker"] == {"status": "unseen"}


def test_readyz_fails_when_the_broker_is_unreachable(client: Client) -> None:
    from meshview.celery import app

    original = app.conf.broker_url, app.conf.broker_transport
    # The embedded broker's transport would take the URL for its own: name Redis's instead.
    app.conf.broker_url, app.conf.broker_transport = "redis://127.0.0.1:1/0", "redis"
    try:
        response = client.get("/readyz")
    finally:
        app.conf.broker_url, app.conf.broker_transport = original
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["status"] == "failed"


def test_metrics_count_requests_per_route(client: Client) -> None:
    client.get("/healthz")
    client.get("/healthz")
    text = client.get("/metrics").content.decode()
    line = next(
        line
        for line in text.splitlines()
        if line.startswith('meshview_http_requests_total{method="GET",route="healthz",status="200"}')
    )
    assert float(line.rsplit(" ", 1)[1]) >= 2
    assert 'meshview_http_request_duration_seconds_bucket{le="0.005",route="healthz"}' in text
    assert "meshview_settle_queue_requests 0.0" in text


@override_settings(MESHVIEW_ANONYMOUS_ACCESS=True)
def test_schema_describes_the_api_and_bearer_auth(client: Client) -> None:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "meshview API"
    assert "/api/v1/tokens" in schema["paths"]
    assert schema["components"]["securitySchemes"]["bearerToken"]["scheme"] == "bearer"
