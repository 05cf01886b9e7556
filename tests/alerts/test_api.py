"""The alerting REST API: scopes, validation that names the field, secrets that never come
back, filters, the OpenAPI schema, query counts and namespace visibility."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from meshview.alerts.models import Alert, DeliveryAttempt, Notification, Receiver, Rule
from meshview.core.models import ApiToken
from tests.alerts.traffic import DETAILS, calls, feed

pytestmark = pytest.mark.django_db

RULE = {
    "name": "reviews errors",
    "kind": "error_rate",
    "selector": {"namespace": "bookinfo", "app": "reviews"},
    "threshold": 5,
    "window": "5m",
    "for": "1m",
    "severity": "critical",
    "labels": {"team": "reviews"},
    "annotations": {"runbook": "https://runbooks.example/reviews"},
}


def token(scopes: str, namespaces: str | None = None) -> dict[str, str]:
    out = StringIO()
    args = ["issue_token", f"t-{scopes}-{namespaces}", "--scopes", scopes]
    if namespaces:
        args += ["--namespaces", namespaces]
    call_command(*args, stdout=out)
    return {"HTTP_AUTHORIZATION": f"Bearer {out.getvalue().strip()}"}


@pytest.fixture
def admin() -> dict[str, str]:
    return token("admin")


@pytest.fixture
def reader() -> dict[str, str]:
    return token("read")


def post(client: Client, path: str, body: dict, auth: dict[str, str]):
    return client.post(path, body, content_type="application/json", **auth)


def test_read_scope_lists_and_admin_scope_changes(client: Client, admin, reader) -> None:
    assert client.get("/api/v1/alerts/rules").status_code == 401
    assert post(client, "/api/v1/alerts/rules", RULE, reader).status_code == 403
    created = post(client, "/api/v1/alerts/rules", RULE, admin)
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["window"], body["for"], body["state"], body["health"]) == ("5m", "1m", "inactive", "unknown")
    listed = client.get("/api/v1/alerts/rules", **reader).json()["results"]
    assert [r["name"] for r in listed] == ["reviews errors"]
    for path in ("/api/v1/alerts", "/api/v1/alerts/receivers", "/api/v1/alerts/silences", "/api/v1/alerts/deliveries"):
        assert client.get(path, **reader).status_code == 200, path
    rule = f"/api/v1/alerts/rules/{body['id']}"
    assert client.patch(rule, {"enabled": False}, content_type="application/json", **reader).status_code == 403
    patched = client.patch(rule, {"enabled": False, "threshold": 7}, content_type="application/json", **admin)
    assert patched.status_code == 200 and patched.json()["enabled"] is False and patched.json()["threshold"] == 7
    assert client.delete(rule, **reader).status_code == 403
    assert client.delete(rule, **admin).status_code == 204


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"kind": "error_budget"}, "kind", "not a valid choice"),
        ({"selector": {"pod": "x"}}, "selector", "pod: not a selector key"),
        ({"selector": {"source": {"service": "x"}}}, "selector", "source.service: not a selector key"),
        ({"selector": {"destination": {"cluster": "x"}}}, "selector", "destination.cluster: not a selector key"),
        ({"threshold": -1}, "threshold", "greater than or equal to 0"),
        ({"window": "5 minutes"}, "window", "not a duration"),
        ({"window": "1s"}, "window", "at least 10s"),
        ({"for": "soon"}, "for", "not a duration"),
        ({"errors": "3xx"}, "errors", "not a valid choice"),
        ({"quantile": "p90"}, "quantile", "not a valid choice"),
        ({"receivers": ["nobody"]}, "receivers", "does not exist"),
        ({"labels": {"team": 7}}, "labels", "object of strings"),
        ({"threshold": 150}, "threshold", "at most 100"),
    ],
)
def test_bad_rules_are_400s_that_name_the_field(client: Client, admin, change, field, message) -> None:
    response = post(client, "/api/v1/alerts/rules", {**RULE, **change}, admin)
    assert response.status_code == 400
    errors = response.json()
    assert list(errors) == [field], errors
    assert message in str(errors[field])


def test_receiver_secrets_and_header_values_are_never_returned(client: Client, admin, reader) -> None:
    with override_settings(MESHVIEW_WEBHOOK_ALLOW_PRIVATE=True):
        response = post(
            client,
            "/api/v1/alerts/receivers",
            {
                "name": "chat",
                "kind": "webhook",
                "url": "http://127.0.0.1:9000/hook",
                "secret": "hunter2-signing",
                "headers": {"Authorization": "Bearer chat-token"},
                "group_interval": "2m",
            },
            admin,
        )
    assert response.status_code == 201, response.json()
    for body in (response.json(), client.get("/api/v1/alerts/receivers", **reader).json()["results"][0]):
        assert body["has_secret"] is True and body["header_names"] == ["Authorization"]
        assert body["group_interval"] == "2m"
        assert "hunter2" not in str(body) and "chat-token" not in str(body)
        assert "secret" not in body and "headers" not in body
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json", **reader).json()
    receiver = schema["components"]["schemas"]["Receiver"]["properties"]
    assert receiver["secret"].get("writeOnly") is True


def test_receiver_urls_to_private_addresses_are_refused_when_created(client: Client, admin) -> None:
    for url, reason in (
        ("http://127.0.0.1:9000/", "loopback"),
        ("http://localhost:9000/", "loopback"),
        ("http://169.254.169.254/", "link-local"),
        ("http://10.0.0.7/", "private"),
    ):
        response = post(client, "/api/v1/alerts/receivers", {"name": "x", "kind": "webhook", "url": url}, admin)
        assert response.status_code == 400
        assert reason in response.json()["url"][0]
    response = post(
        client,
        "/api/v1/alerts/receivers",
        {"name": "x", "kind": "pagerduty", "url": "https://hooks.example.com/"},
        admin,
    )
    assert list(response.json()) == ["kind"]


def test_an_alertmanager_api_receiver_resends_every_minute_by_default(client: Client, admin) -> None:
    with override_settings(MESHVIEW_WEBHOOK_ALLOW_PRIVATE=True):
        body = post(
            client,
            "/api/v1/alerts/receivers",
            {"name": "am", "kind": "alertmanager_api", "url": "http://127.0.0.1:9093"},
            admin,
        ).json()
    assert body["group_interval"] == "1m"


def test_silences_take_alertmanager_matchers(client: Client, admin) -> None:
    ends = (timezone.now() + timezone.timedelta(hours=2)).isoformat()
    good = {
        "matchers": [{"name": "alertname", "value": "reviews errors"}],
        "endsAt": ends,
        "comment": "deploying reviews",
    }
    response = post(client, "/api/v1/alerts/silences", good, admin)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["matchers"] == [{"name": "alertname", "value": "reviews errors", "isRegex": False, "isEqual": True}]
    assert body["status"] == {"state": "active"} and body["createdBy"].startswith("token:")
    bad = post(
        client, "/api/v1/alerts/silences", {**good, "matchers": [{"name": "a", "value": "(", "isRegex": True}]}, admin
    )
    assert bad.status_code == 400 and "0.value" in bad.json()["matchers"][0]
    backwards = post(
        client, "/api/v1/alerts/silences", {**good, "startsAt": ends, "endsAt": timezone.now().isoformat()}, admin
    )
    assert list(backwards.json()) == ["endsAt"]
    assert client.delete(f"/api/v1/alerts/silences/{body['id']}", **admin).status_code == 204
    assert client.get(f"/api/v1/alerts/silences/{body['id']}", **admin).json()["status"] == {"state": "expired"}


def test_alert_paths_are_in_the_openapi_schema(client: Client, reader) -> None:
    paths = client.get("/api/schema/", HTTP_ACCEPT="application/json", **reader).json()["paths"]
    for path in (
        "/api/v1/alerts",
        "/api/v1/alerts/receivers",
        "/api/v1/alerts/rules",
        "/api/v1/alerts/rules/test",
        "/api/v1/alerts/rules/{id}/test",
        "/api/v1/alerts/silences",
        "/api/v1/alerts/deliveries",
    ):
        assert path in paths, path


def _alerts(count: int) -> Rule:
    rule = Rule.objects.create(name="r", kind="error_rate", threshold=1)
    now = timezone.now()
    for i in range(count):
        alert = Alert.objects.create(
            rule=rule,
            fingerprint=f"{i:016x}",
            labels={"namespace": f"ns{i % 2}", "workload": f"w{i}"},
            namespace=f"ns{i % 2}",
            value=5,
            state="firing",
            active_since=now,
            fired_at=now,
            evaluated_at=now,
        )
        alert.transitions.create(state="firing", value=5, at=now)
    return rule


def test_listing_alerts_and_deliveries_takes_a_fixed_number_of_queries(client: Client, reader) -> None:
    rule = _alerts(3)
    receiver = Receiver.objects.create(name="hook", kind="webhook", url="http://hooks.example/")
    for _ in range(3):
        n = Notification.objects.create(
            receiver=receiver,
            rule=rule,
            status="firing",
            snapshot={"alerts": []},
            next_attempt_at=timezone.now(),
            created_at=timezone.now(),
        )
        DeliveryAttempt.objects.create(notification=n, number=1, started_at=timezone.now(), outcome="delivered")

    def count(path: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(path, **reader).status_code == 200
        return len(queries)

    client.get("/api/v1/alerts", **reader)  # the token's first use of the minute records itself
    few_alerts, few_deliveries = count("/api/v1/alerts"), count("/api/v1/alerts/deliveries")
    _alerts_more = Rule.objects.create(name="r2", kind="error_rate", threshold=1)
    now = timezone.now()
    for i in range(10):
        Alert.objects.create(
            rule=_alerts_more,
            fingerprint=f"{i:016x}",
            labels={},
            value=1,
            state="resolved",
            active_since=now,
            evaluated_at=now,
        )
        n = Notification.objects.create(
            receiver=receiver, rule=rule, status="firing", snapshot={"alerts": []}, next_attempt_at=now, created_at=now
        )
        DeliveryAttempt.objects.create(notification=n, number=1, started_at=now, outcome="failed")
    assert count("/api/v1/alerts") == few_alerts
    assert count("/api/v1/alerts/deliveries") == few_deliveries
    assert few_alerts <= 5 and few_deliveries <= 5


def test_alerts_filter_and_follow_the_callers_namespaces(client: Client, reader) -> None:
    _alerts(4)
    assert len(client.get("/api/v1/alerts", **reader).json()["results"]) == 4
    assert len(client.get("/api/v1/alerts?namespace=ns1", **reader).json()["results"]) == 2
    assert client.get("/api/v1/alerts?state=resolved", **reader).json()["results"] == []
    narrow = token("read", "ns0")
    seen = client.get("/api/v1/alerts", **narrow).json()["results"]
    assert {a["labels"]["namespace"] for a in seen} == {"ns0"}
    Rule.objects.create(name="ns1 only", kind="error_rate", threshold=1, selector={"namespace": "ns1"})
    assert "ns1 only" not in {r["name"] for r in client.get("/api/v1/alerts/rules", **narrow).json()["results"]}
    assert ApiToken.objects.count() == 2


def test_testing_a_rule_shows_what_would_fire_without_recording_it(client: Client, admin, reader) -> None:
    feed(client, calls(ok=2, failed=2) + calls(ok=5, destination=DETAILS), **admin)
    draft = {
        "name": "draft",
        "kind": "error_rate",
        "threshold": 10,
        "window": "1m",
        "selector": {"namespace": "bookinfo"},
    }
    response = post(client, "/api/v1/alerts/rules/test", draft, reader)
    assert response.status_code == 200, response.json()
    found = {f["labels"]["workload"]: f for f in response.json()}
    assert found["reviews-v1"]["breached"] is True and found["reviews-v1"]["value"] == 50.0
    assert found["reviews-v1"]["wouldBe"] == "firing"
    assert found["details-v1"]["breached"] is False
    assert not Alert.objects.exists() and not Rule.objects.exists()
    bad = post(client, "/api/v1/alerts/rules/test", {**draft, "window": "x"}, reader)
    assert bad.status_code == 400 and list(bad.json()) == ["window"]
