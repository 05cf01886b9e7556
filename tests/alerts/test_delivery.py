"""Delivering notifications to a real HTTP receiver on 127.0.0.1: bodies, signatures,
retries, the attempt log, the delivery key, and the addresses meshview refuses to call."""

import hashlib
import hmac
import socket
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from meshview.alerts import actions, transport
from meshview.alerts.models import DeliveryAttempt, Notification, Receiver
from tests.alerts.receiver import Reply, running

pytestmark = pytest.mark.django_db

SNAPSHOT = {
    "groupKey": '{}:{alertname="reviews errors"}',
    "status": "firing",
    "receiver": "hook",
    "groupLabels": {"alertname": "reviews errors"},
    "externalURL": "http://meshview.example",
    "rule": {
        "id": 1,
        "name": "reviews errors",
        "kind": "error_rate",
        "severity": "critical",
        "threshold": 10.0,
        "window": "5m",
        "for": "0s",
        "selector": {"namespace": "bookinfo"},
    },
    "alerts": [
        {
            "fingerprint": "0123456789abcdef",
            "status": "firing",
            "labels": {
                "alertname": "reviews errors",
                "severity": "critical",
                "namespace": "bookinfo",
                "workload": "reviews-v1",
            },
            "annotations": {"summary": "50% errors on bookinfo/reviews-v1 (threshold 10%)"},
            "value": 50.0,
            "startsAt": "2026-12-03T06:00:00.000Z",
            "endsAt": "2026-12-03T06:20:00.000Z",
            "links": {
                "graph": "http://meshview.example/graph?namespaces=bookinfo",
                "traces": "http://meshview.example/traces?service=reviews",
            },
        }
    ],
}


@pytest.fixture(autouse=True)
def private_allowed():
    with override_settings(MESHVIEW_WEBHOOK_ALLOW_PRIVATE=True, MESHVIEW_WEBHOOK_RETRY_BASE_MS=10):
        yield


def notification(url: str, kind: str = "webhook", **fields) -> Notification:
    receiver = Receiver.objects.create(name="hook", kind=kind, url=url, **fields)
    now = timezone.now()
    return Notification.objects.create(
        receiver=receiver, status="firing", snapshot=SNAPSHOT, next_attempt_at=now, created_at=now
    )


def deliver_until_done(pk: int, limit: int = 10) -> list[str]:
    outcomes = []
    for _ in range(limit):
        Notification.objects.filter(pk=pk, state="retrying").update(next_attempt_at=timezone.now())
        delivery = actions.deliver(pk)
        if delivery is None:
            break
        outcomes.append(delivery.outcome)
        if delivery.retry_in is None:
            break
    return outcomes


def test_webhook_body_is_signed_and_carries_the_delivery_key() -> None:
    with running() as receiver:
        n = notification(receiver.url + "/hook", secret="s3cret")
        assert deliver_until_done(n.pk) == ["delivered"]
        (request,) = receiver.received
    expected = "sha256=" + hmac.new(b"s3cret", request.body, hashlib.sha256).hexdigest()
    assert request.headers["x-meshview-signature"] == expected
    assert request.headers["x-meshview-delivery"] == str(n.delivery_key)
    body = request.json()
    assert body["status"] == "firing" and body["rule"]["name"] == "reviews errors"
    (alert,) = body["alerts"]
    assert alert["value"] == 50.0 and alert["threshold"] == 10.0
    assert alert["links"]["traces"].endswith("service=reviews")
    n.refresh_from_db()
    assert n.state == "delivered"


def test_alertmanager_kind_sends_the_version_4_payload() -> None:
    with running() as receiver:
        n = notification(receiver.url, kind="alertmanager")
        deliver_until_done(n.pk)
        body = receiver.received[0].json()
    assert set(body) == {
        "version",
        "groupKey",
        "truncatedAlerts",
        "status",
        "receiver",
        "groupLabels",
        "commonLabels",
        "commonAnnotations",
        "externalURL",
        "alerts",
    }
    assert body["version"] == "4" and body["truncatedAlerts"] == 0
    assert body["commonLabels"]["workload"] == "reviews-v1"
    (alert,) = body["alerts"]
    assert set(alert) == {"status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"}
    assert alert["endsAt"] == "0001-01-01T00:00:00Z"
    assert "X-Meshview-Signature".lower() not in receiver.received[0].headers


def test_fails_twice_then_succeeds_gives_one_notification_and_three_attempts() -> None:
    replies = [Reply(503, {"Retry-After": "0"}, b"busy"), Reply(429, {}, b"slow down")]
    with running(replies) as receiver:
        n = notification(receiver.url)
        assert deliver_until_done(n.pk) == ["retry", "retry", "delivered"]
        assert actions.deliver(n.pk) is None, "a delivered notification is not sent again"
        keys = {r.headers["x-meshview-delivery"] for r in receiver.received}
        assert len(receiver.received) == 3 and keys == {str(n.delivery_key)}
        assert len({r.body for r in receiver.received}) == 1, "every attempt sends the same bytes"
    attempts = list(DeliveryAttempt.objects.filter(notification=n).order_by("number"))
    assert [(a.outcome, a.status_code) for a in attempts] == [("retry", 503), ("retry", 429), ("delivered", 200)]
    assert attempts[0].response_excerpt == "busy"


def test_a_400_is_not_retried() -> None:
    with running(default=Reply(400, body=b"bad field")) as receiver:
        n = notification(receiver.url)
        assert deliver_until_done(n.pk) == ["failed"]
        assert len(receiver.received) == 1
    n.refresh_from_db()
    assert n.state == "failed" and n.last_error == "HTTP 400"


def test_retry_after_is_honoured_and_attempts_are_capped() -> None:
    with running(default=Reply(503, {"Retry-After": "120"})) as receiver:
        n = notification(receiver.url, max_attempts=3)
        first = actions.deliver(n.pk)
        assert first is not None and first.retry_in == 120
        assert actions.deliver(n.pk) is None, "not due before Retry-After"
        assert deliver_until_done(n.pk) == ["retry", "failed"]
        assert len(receiver.received) == 3


def test_backoff_doubles_without_retry_after() -> None:
    answer = transport.Answer(None, 5.0, error="no answer within 1 s")
    assert [transport.verdict(answer, n, 8, 2.0)[1] for n in (1, 2, 3, 4)] == [2.0, 4.0, 8.0, 16.0]
    assert transport.verdict(answer, 8, 8, 2.0) == ("failed", None)


def test_a_receiver_that_does_not_answer_in_time_is_retried() -> None:
    with running([Reply(200, delay=3)]) as receiver:
        n = notification(receiver.url, timeout_seconds=0.5)
        delivery = actions.deliver(n.pk)
        assert delivery is not None and delivery.outcome == "retry"
    attempt = DeliveryAttempt.objects.get(notification=n)
    assert "no answer within 0.5 s" in attempt.error and attempt.status_code is None


def test_the_response_is_read_up_to_a_cap() -> None:
    with running([Reply(200, body=b"x" * (1024 * 1024))]) as receiver:
        answer = transport.post(receiver.url, b"{}", {}, 5, allow_private=True)
    assert answer.status == 200 and len(answer.excerpt) == transport.EXCERPT_CHARS


def test_an_attempt_cut_short_is_not_sent_again_after_its_lease() -> None:
    with running() as receiver:
        n = notification(receiver.url)
        # A worker claimed it and died mid-request: its attempt says `sending`, its lease ran out.
        Notification.objects.filter(pk=n.pk).update(
            state="sending", attempts=1, lease_until=timezone.now() - timedelta(seconds=1)
        )
        DeliveryAttempt.objects.create(notification=n, number=1, started_at=timezone.now())
        assert actions.overdue_notifications() == [n.pk]
        assert deliver_until_done(n.pk) == ["interrupted"]
        assert actions.overdue_notifications() == []
        assert receiver.received == []
    n.refresh_from_db()
    assert n.state == "unconfirmed" and "may have it" in n.last_error
    assert list(DeliveryAttempt.objects.filter(notification=n).values_list("outcome", flat=True)) == ["interrupted"]


def test_a_delivery_in_flight_is_not_taken_twice() -> None:
    n = notification("http://127.0.0.1:9/")
    Notification.objects.filter(pk=n.pk).update(
        state="sending", attempts=1, lease_until=timezone.now() + timedelta(seconds=30)
    )
    assert actions.deliver(n.pk) is None
    assert actions.overdue_notifications() == []


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::ffff:127.0.0.1", "loopback"),
    ],
)
def test_each_refused_address_class(address: str, reason: str) -> None:
    assert transport.refusal(address) == f"{address} is a {reason} address"
    url = f"http://[{address}]:8080/hook" if ":" in address else f"http://{address}:8080/hook"
    with pytest.raises(transport.Refused, match=reason):
        transport.resolve(url, allow_private=False)


def test_public_addresses_are_allowed() -> None:
    assert transport.refusal("93.184.216.34") is None
    assert transport.refusal("2606:4700::1111") is None


@override_settings(MESHVIEW_WEBHOOK_ALLOW_PRIVATE=False)
def test_a_name_resolving_to_loopback_is_refused_at_delivery_and_not_sent() -> None:
    assert socket.gethostbyname("localhost") == "127.0.0.1"
    with running() as receiver:
        port = receiver.url.rsplit(":", 1)[1]
        # Stored while private targets were allowed (or before the name pointed here): delivery checks again.
        n = notification(f"http://localhost:{port}/hook")
        assert deliver_until_done(n.pk) == ["refused"]
        assert receiver.received == []
    attempt = DeliveryAttempt.objects.get(notification=n)
    assert "localhost resolves to 127.0.0.1 is a loopback address" in attempt.error
    n.refresh_from_db()
    assert n.state == "failed"


@override_settings(MESHVIEW_WEBHOOK_ALLOW_PRIVATE=False)
def test_a_redirect_is_checked_like_the_first_target(monkeypatch: pytest.MonkeyPatch) -> None:
    # The receiver stands in for a public host (the only stand-in here: no public address is
    # reachable from a test), and redirects to the cloud metadata address.
    with running(default=Reply(307, {"Location": "http://169.254.169.254/latest/meta-data/"})) as receiver:
        port = int(receiver.url.rsplit(":", 1)[1])
        real = socket.getaddrinfo

        def public_name(host, *args, **kwargs):
            if host == "hooks.example.com":
                return real("127.0.0.1", *args, **kwargs)
            return real(host, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", public_name)
        monkeypatch.setattr(
            transport, "refusal", lambda a: None if a == "127.0.0.1" else f"{a} is a link-local address"
        )
        answer = transport.post(f"http://hooks.example.com:{port}/hook", b"{}", {}, 5, allow_private=False)
    assert answer.refused and "169.254.169.254 is a link-local address" in answer.error
    assert len(receiver.received) == 1
