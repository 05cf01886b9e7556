"""Alerting's REST shapes. Bad input is a 400 naming the field; secrets are write-only."""

from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from meshview.alerts import matchers, rules, transport
from meshview.alerts.models import (
    RECEIVER_KINDS,
    Alert,
    AlertTransition,
    DeliveryAttempt,
    Notification,
    Receiver,
    Rule,
    Silence,
)

# Headers meshview sets itself: a receiver may not replace them.
RESERVED_HEADERS = {"host", "content-length", "content-type", "x-meshview-signature", "x-meshview-delivery"}


@extend_schema_field(OpenApiTypes.STR)
class DurationField(serializers.Field):
    """A duration such as `30s`, `5m`, `1h` in JSON, whole seconds in the model."""

    default_error_messages = {"invalid": "{reason}"}

    def __init__(self, *, minimum: int = 0, **kwargs: Any) -> None:
        self.minimum = minimum
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> int:
        try:
            seconds = rules.parse_duration(data)
        except ValueError as exc:
            self.fail("invalid", reason=str(exc))
        if seconds < self.minimum:
            self.fail("invalid", reason=f"must be at least {rules.format_duration(self.minimum)}")
        return seconds

    def to_representation(self, value: int) -> str:
        return rules.format_duration(value)


def _string_map(value: Any, field: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise serializers.ValidationError(f"{field} must be an object of strings")
    return value


class ReceiverSerializer(serializers.ModelSerializer):
    secret = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=500)
    headers = serializers.JSONField(
        write_only=True, required=False, help_text="extra request headers; never returned (they may hold credentials)"
    )
    has_secret = serializers.SerializerMethodField()
    header_names = serializers.SerializerMethodField()
    kind = serializers.ChoiceField(choices=RECEIVER_KINDS)
    group_interval = DurationField(source="group_interval_seconds", required=False, minimum=1)
    timeout_seconds = serializers.FloatField(required=False, min_value=0.1, max_value=120)
    max_attempts = serializers.IntegerField(required=False, min_value=1, max_value=50)

    class Meta:
        model = Receiver
        fields = (
            "id",
            "name",
            "kind",
            "url",
            "secret",
            "has_secret",
            "headers",
            "header_names",
            "timeout_seconds",
            "group_interval",
            "max_attempts",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("id", "created_at", "updated_at")

    def get_has_secret(self, receiver: Receiver) -> bool:
        return bool(receiver.secret)

    def get_header_names(self, receiver: Receiver) -> list[str]:
        return sorted(receiver.headers)

    def validate_url(self, url: str) -> str:
        if not settings.MESHVIEW_WEBHOOK_ALLOW_PRIVATE:
            try:
                transport.resolve(url, allow_private=False)
            except transport.Refused as exc:
                # A name that does not resolve yet is accepted: delivery checks it again.
                if "does not resolve" not in str(exc):
                    raise serializers.ValidationError(str(exc)) from None
        return url

    def validate_headers(self, headers: Any) -> dict[str, str]:
        headers = _string_map(headers, "headers")
        for name in headers:
            if name.lower() in RESERVED_HEADERS:
                raise serializers.ValidationError(f"{name}: meshview sets this header itself")
        return headers

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if self.instance is None and "group_interval_seconds" not in data and data.get("kind") == "alertmanager_api":
            # Pushed alerts are resent each interval, as Prometheus resends them every minute.
            data["group_interval_seconds"] = 60
        return data


class RuleSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=rules.KINDS)
    selector = serializers.JSONField(required=False)
    threshold = serializers.FloatField(required=False, min_value=0)
    window = DurationField(source="window_seconds", required=False, minimum=10)
    errors = serializers.ChoiceField(choices=rules.ERRORS, required=False)
    quantile = serializers.ChoiceField(choices=list(rules.QUANTILES), required=False)
    op = serializers.ChoiceField(choices=rules.OPS, required=False)
    source = serializers.ChoiceField(choices=rules.SOURCES, required=False)
    labels = serializers.JSONField(required=False)
    annotations = serializers.JSONField(required=False)
    receivers = serializers.SlugRelatedField(
        many=True, slug_field="name", queryset=Receiver.objects.all(), required=False
    )

    class Meta:
        model = Rule
        fields = (
            "id",
            "name",
            "kind",
            "selector",
            "threshold",
            "window",
            "for",
            "errors",
            "quantile",
            "op",
            "source",
            "severity",
            "labels",
            "annotations",
            "receivers",
            "enabled",
            "state",
            "health",
            "last_error",
            "evaluated_at",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("id", "state", "health", "last_error", "evaluated_at", "created_at", "updated_at")

    def build_field(self, field_name: str, info: Any, model_class: Any, nested_depth: int) -> Any:
        # `for` is a Python keyword: it cannot be declared as a class attribute.
        if field_name == "for":
            return DurationField, {"source": "for_seconds", "required": False}
        return super().build_field(field_name, info, model_class, nested_depth)

    def validate_selector(self, selector: Any) -> dict[str, Any]:
        try:
            return rules.check_selector(selector)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def validate_labels(self, labels: Any) -> dict[str, str]:
        return _string_map(labels, "labels")

    def validate_annotations(self, annotations: Any) -> dict[str, str]:
        return _string_map(annotations, "annotations")

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        kind = data.get("kind", getattr(self.instance, "kind", None))
        if kind in ("error_rate", "latency", "request_rate") and "threshold" not in data and self.instance is None:
            raise serializers.ValidationError({"threshold": f"a {kind} rule needs a threshold"})
        if kind == "error_rate" and data.get("threshold", 0) > 100:
            raise serializers.ValidationError({"threshold": "a percentage of errors is at most 100"})
        return data


class PreviewSerializer(serializers.Serializer):
    labels = serializers.DictField(child=serializers.CharField())
    value = serializers.FloatField()
    breached = serializers.BooleanField()
    wouldBe = serializers.CharField()


class SilenceSerializer(serializers.ModelSerializer):
    matchers = serializers.JSONField()
    startsAt = serializers.DateTimeField(source="starts_at", required=False)
    endsAt = serializers.DateTimeField(source="ends_at")
    createdBy = serializers.CharField(source="created_by", required=False, allow_blank=True)
    status = serializers.SerializerMethodField()

    class Meta:
        model = Silence
        fields = ("id", "matchers", "startsAt", "endsAt", "createdBy", "comment", "status")
        read_only_fields = ("id",)

    def get_status(self, silence: Silence) -> dict[str, str]:
        from django.utils import timezone

        now = timezone.now()
        state = "pending" if silence.starts_at > now else "expired" if silence.ends_at <= now else "active"
        return {"state": state}

    def validate_matchers(self, value: Any) -> list[dict[str, Any]]:
        try:
            return matchers.check_matchers(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        from django.utils import timezone

        starts = data.get("starts_at") or getattr(self.instance, "starts_at", None) or timezone.now()
        data["starts_at"] = starts
        ends = data.get("ends_at", getattr(self.instance, "ends_at", None))
        if ends is not None and ends <= starts:
            raise serializers.ValidationError({"endsAt": "must be after startsAt"})
        return data


class TransitionSerializer(serializers.ModelSerializer):
    class Meta:
        model = AlertTransition
        fields = ("state", "value", "at")


class AlertSerializer(serializers.ModelSerializer):
    rule = serializers.IntegerField(source="rule_id")
    rule_name = serializers.CharField(source="rule.name")
    severity = serializers.CharField(source="rule.severity")
    silenced = serializers.SerializerMethodField()
    silenced_by = serializers.IntegerField(source="silenced_by_id", allow_null=True)
    history = TransitionSerializer(source="transitions", many=True)
    links = serializers.SerializerMethodField()

    class Meta:
        model = Alert
        fields = (
            "id",
            "rule",
            "rule_name",
            "severity",
            "fingerprint",
            "state",
            "value",
            "labels",
            "annotations",
            "silenced",
            "silenced_by",
            "active_since",
            "fired_at",
            "ended_at",
            "evaluated_at",
            "links",
            "history",
        )

    def get_silenced(self, alert: Alert) -> bool:
        return alert.silenced_by_id is not None

    def get_links(self, alert: Alert) -> dict[str, str]:
        from meshview.alerts.actions import alert_links

        return alert_links(alert.rule, alert.labels)


class AttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = ("number", "started_at", "outcome", "status_code", "latency_ms", "error", "response_excerpt")


class NotificationSerializer(serializers.ModelSerializer):
    receiver = serializers.CharField(source="receiver.name")
    receiver_kind = serializers.CharField(source="receiver.kind")
    rule = serializers.IntegerField(source="rule_id", allow_null=True)
    alerts = serializers.SerializerMethodField()
    attempts = AttemptSerializer(source="attempts_made", many=True)

    class Meta:
        model = Notification
        fields = (
            "id",
            "delivery_key",
            "receiver",
            "receiver_kind",
            "rule",
            "status",
            "state",
            "created_at",
            "delivered_at",
            "next_attempt_at",
            "last_error",
            "alerts",
            "attempts",
        )

    def get_alerts(self, notification: Notification) -> list[dict[str, Any]]:
        return [
            {"fingerprint": a["fingerprint"], "status": a["status"], "labels": a["labels"]}
            for a in notification.snapshot.get("alerts", [])
        ]
