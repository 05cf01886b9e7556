"""Alert rules, the alerts they raise with their history, silences, receivers, and the
notifications sent to receivers with every delivery attempt."""

import uuid

from django.db import models

RECEIVER_KINDS = ("webhook", "alertmanager", "alertmanager_api")
ALERT_STATES = ("pending", "firing", "resolved", "inactive")
NOTIFICATION_STATES = ("queued", "sending", "retrying", "delivered", "failed", "unconfirmed")
ATTEMPT_OUTCOMES = ("sending", "delivered", "retry", "failed", "refused", "interrupted")


def _choices(values: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(v, v) for v in values]


class Receiver(models.Model):
    """Where notifications go: a webhook (meshview's JSON), an Alertmanager webhook receiver
    (Alertmanager's payload), or an Alertmanager's own API."""

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=_choices(RECEIVER_KINDS))
    url = models.URLField(max_length=2000)
    secret = models.CharField(max_length=500, blank=True, help_text="signs webhook bodies; never returned")
    headers = models.JSONField(default=dict, blank=True)
    timeout_seconds = models.FloatField(default=10.0)
    group_interval_seconds = models.IntegerField(default=300)
    max_attempts = models.IntegerField(default=8)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


class Rule(models.Model):
    """An alert rule over the mesh's traffic or inventory (`meshview.alerts.rules`)."""

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=32)
    selector = models.JSONField(default=dict, blank=True)
    threshold = models.FloatField(default=0.0)
    window_seconds = models.IntegerField(default=300)
    for_seconds = models.IntegerField(default=0)
    errors = models.CharField(max_length=8, default="5xx", help_text="error_rate: 5xx, 4xx5xx or grpc")
    quantile = models.CharField(max_length=4, default="p99", help_text="latency: p50, p95 or p99")
    op = models.CharField(max_length=8, default="above", help_text="request_rate: below or above")
    source = models.CharField(max_length=16, default="auto", help_text="auto, accesslogs or prometheus")
    severity = models.CharField(max_length=16, default="warning")
    labels = models.JSONField(default=dict, blank=True)
    annotations = models.JSONField(default=dict, blank=True)
    receivers = models.ManyToManyField(Receiver, blank=True, related_name="rules")
    enabled = models.BooleanField(default=True)
    # The last tick claimed by an evaluation: a worker evaluates only after raising it.
    evaluated_tick = models.BigIntegerField(default=-1)
    evaluated_at = models.DateTimeField(null=True, blank=True)
    health = models.CharField(max_length=16, default="unknown", help_text="ok, unevaluable or unknown (never run)")
    last_error = models.TextField(blank=True)
    state = models.CharField(max_length=16, default="inactive", help_text="inactive, pending or firing")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


class Silence(models.Model):
    """Alertmanager-style silence: alerts whose labels match every matcher between the start and
    the end are not notified."""

    matchers = models.JSONField()
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    created_by = models.CharField(max_length=200, blank=True)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"silence {self.pk} until {self.ends_at:%Y-%m-%d %H:%M}"


class Alert(models.Model):
    """One episode of one node or edge breaking a rule: pending, then firing, then resolved (or
    inactive when it stopped before firing). A new episode is a new row."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="alerts")
    fingerprint = models.CharField(max_length=16)
    labels = models.JSONField()
    annotations = models.JSONField(default=dict)
    # The namespaces the alert is about (node or destination, and source), for access checks.
    namespace = models.CharField(max_length=253, blank=True)
    source_namespace = models.CharField(max_length=253, blank=True)
    value = models.FloatField()
    state = models.CharField(max_length=16, choices=_choices(ALERT_STATES))
    active_since = models.DateTimeField()
    fired_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    evaluated_at = models.DateTimeField()
    silenced_by = models.ForeignKey(Silence, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "fingerprint"],
                condition=models.Q(state__in=["pending", "firing"]),
                name="alerts_one_active_per_fingerprint",
            )
        ]
        indexes = [models.Index(fields=["state", "-active_since"], name="alerts_state_since")]

    def __str__(self) -> str:
        return f"{self.labels.get('alertname', self.rule_id)} {self.fingerprint} {self.state}"


class AlertTransition(models.Model):
    """The history of an alert: each state it entered, when, at which value."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="transitions")
    state = models.CharField(max_length=16, choices=_choices(ALERT_STATES))
    value = models.FloatField()
    at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.alert_id} → {self.state} at {self.at:%H:%M:%S}"


class NotificationGroup(models.Model):
    """A rule's alerts as one receiver last heard of them: which were firing, and when, so a
    notification goes out at most once per group interval and a resolution only once."""

    receiver = models.ForeignKey(Receiver, on_delete=models.CASCADE, related_name="+")
    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="+")
    notified = models.JSONField(default=list, help_text="fingerprints of the firing alerts last notified")
    last_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["receiver", "rule"], name="alerts_group_unique")]

    def __str__(self) -> str:
        return f"{self.rule_id} → {self.receiver_id}"


class Notification(models.Model):
    """One message to one receiver about one group of alerts, delivered by one Celery task.
    `delivery_key` is fixed before the first attempt and sent with every attempt, so a receiver
    can tell a resend from a new notification."""

    receiver = models.ForeignKey(Receiver, on_delete=models.CASCADE, related_name="notifications")
    rule = models.ForeignKey(Rule, null=True, on_delete=models.SET_NULL, related_name="notifications")
    delivery_key = models.UUIDField(default=uuid.uuid4, unique=True)
    status = models.CharField(max_length=16, help_text="firing or resolved: the group's status")
    snapshot = models.JSONField()
    state = models.CharField(max_length=16, choices=_choices(NOTIFICATION_STATES), default="queued")
    attempts = models.IntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="alerts_notification_due")]

    def __str__(self) -> str:
        return f"notification {self.delivery_key} ({self.state})"


class DeliveryAttempt(models.Model):
    """One try at delivering a notification. Recorded as `sending` before the request goes out,
    so an attempt cut short by a dead worker shows as `interrupted`."""

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="attempts_made")
    number = models.IntegerField()
    started_at = models.DateTimeField()
    outcome = models.CharField(max_length=16, choices=_choices(ATTEMPT_OUTCOMES), default="sending")
    status_code = models.IntegerField(null=True, blank=True)
    latency_ms = models.FloatField(null=True, blank=True)
    error = models.TextField(blank=True)
    response_excerpt = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["notification", "number"], name="alerts_attempt_unique")]

    def __str__(self) -> str:
        return f"{self.notification_id} #{self.number}: {self.outcome}"
