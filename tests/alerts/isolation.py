"""Alerting's share of the namespace-isolation probes (tests/core/test_isolation.py): a rule, an
alert, a silence and a delivery about secret-ns, at fixed ids so the probes can name them."""

from django.utils import timezone

from meshview.alerts.models import Alert, DeliveryAttempt, Notification, Receiver, Rule, Silence

SECRET_ID = 4201


def store_secret_ns_alerts() -> None:
    now = timezone.now()
    receiver = Receiver.objects.create(
        pk=SECRET_ID, name="secret hook", kind="webhook", url="https://hooks.example.com/"
    )
    rule = Rule.objects.create(
        pk=SECRET_ID, name="vault-errors", kind="error_rate", threshold=1, selector={"namespace": "secret-ns"}
    )
    labels = {"alertname": "vault-errors", "severity": "warning", "namespace": "secret-ns", "workload": "vault-v1"}
    Alert.objects.create(
        pk=SECRET_ID,
        rule=rule,
        fingerprint="00000000000000a1",
        labels=labels,
        namespace="secret-ns",
        value=50,
        state="firing",
        active_since=now,
        fired_at=now,
        evaluated_at=now,
    )
    Silence.objects.create(
        pk=SECRET_ID,
        matchers=[{"name": "namespace", "value": "secret-ns", "isRegex": False, "isEqual": True}],
        starts_at=now,
        ends_at=now + timezone.timedelta(hours=1),
        comment="vault maintenance",
    )
    notification = Notification.objects.create(
        pk=SECRET_ID,
        receiver=receiver,
        rule=rule,
        status="firing",
        next_attempt_at=now,
        created_at=now,
        snapshot={"alerts": [{"fingerprint": "00000000000000a1", "status": "firing", "labels": labels}]},
    )
    DeliveryAttempt.objects.create(notification=notification, number=1, started_at=now, outcome="delivered")
