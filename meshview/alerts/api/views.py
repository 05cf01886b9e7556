"""Alerting over HTTP: receivers, rules, silences, alerts and the delivery log. Reading needs
the `read` scope, changing `admin`; what a caller sees follows `meshview.core.access`."""

from typing import Any

from django.db.models import Q, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from meshview.alerts import actions
from meshview.alerts.api.serializers import (
    AlertSerializer,
    NotificationSerializer,
    PreviewSerializer,
    ReceiverSerializer,
    RuleSerializer,
    SilenceSerializer,
)
from meshview.alerts.models import Alert, Notification, Receiver, Rule, Silence
from meshview.core.access import NamespaceAccess, request_access
from meshview.graph.sources import SourceError


def _rule_id(digits: str) -> int:
    """The rule id a query parameter of digits names; -1, which no rule has, past the largest id
    the database holds."""
    return int(digits) if len(digits) <= 18 else -1


class _Scoped:
    """`read` to look, `admin` to change."""

    request: Request

    @property
    def required_scope(self) -> str:
        return "read" if self.request.method in permissions.SAFE_METHODS else "admin"


def _rule_visible(rule: Rule, access: NamespaceAccess) -> bool:
    """A rule is hidden from a caller when its selector names a namespace the caller may not see."""
    selector = rule.selector or {}
    named = [selector.get("namespace")]
    named += [selector.get(side, {}).get("namespace") for side in ("source", "destination")]
    return all(access.allows(n) for n in named if n)


def _visible_rule_ids(access: NamespaceAccess) -> list[int]:
    return [rule.pk for rule in Rule.objects.only("pk", "selector") if _rule_visible(rule, access)]


NAMESPACE_LABELS = ("namespace", "source_namespace", "destination_namespace")


def _labels_visible(labels: dict[str, str], access: NamespaceAccess) -> bool:
    return all(access.allows(labels[name]) for name in NAMESPACE_LABELS if labels.get(name))


def _silence_visible(silence: Silence, access: NamespaceAccess) -> bool:
    """A silence is hidden from a caller when it names a namespace the caller may not see (a
    regular expression on a namespace label could name any)."""
    return not any(
        matcher["name"] in NAMESPACE_LABELS
        and matcher["isEqual"]
        and (matcher["isRegex"] or not access.allows(matcher["value"]))
        for matcher in silence.matchers
    )


class ReceiverViewSet(_Scoped, viewsets.ModelViewSet):
    """Where notifications go (`webhook`, `alertmanager`, `alertmanager_api`). Secrets and
    header values are accepted, never returned."""

    queryset = Receiver.objects.order_by("name")
    serializer_class = ReceiverSerializer

    def perform_create(self, serializer: BaseSerializer) -> None:
        serializer.instance = actions.save_receiver(None, serializer.validated_data)

    def perform_update(self, serializer: BaseSerializer) -> None:
        serializer.instance = actions.save_receiver(serializer.instance, serializer.validated_data)

    def perform_destroy(self, instance: Receiver) -> None:
        actions.delete_receiver(instance)


class RuleViewSet(_Scoped, viewsets.ModelViewSet):
    """Alert rules over the mesh's traffic and inventory."""

    serializer_class = RuleSerializer

    def get_queryset(self) -> QuerySet[Rule]:
        rules = Rule.objects.prefetch_related("receivers").order_by("name")
        access = request_access(self.request)
        if access.restricted:
            rules = rules.filter(pk__in=_visible_rule_ids(access))
        return rules

    def perform_create(self, serializer: BaseSerializer) -> None:
        serializer.instance = actions.save_rule(None, serializer.validated_data)

    def perform_update(self, serializer: BaseSerializer) -> None:
        serializer.instance = actions.save_rule(serializer.instance, serializer.validated_data)

    def perform_destroy(self, instance: Rule) -> None:
        actions.delete_rule(instance)

    @extend_schema(request=None, responses={200: PreviewSerializer(many=True)}, operation_id="alerts_rule_test")
    @action(detail=True, methods=["post"], url_path="test")
    def test_saved(self, request: Request, pk: str | None = None) -> Response:
        """What this rule finds in the current window, without recording anything."""
        return self._preview(self.get_object(), request_access(request))

    @extend_schema(
        request=RuleSerializer, responses={200: PreviewSerializer(many=True)}, operation_id="alerts_rule_draft_test"
    )
    @action(detail=False, methods=["post"], url_path="test")
    def test_draft(self, request: Request) -> Response:
        """What a rule not saved yet would find in the current window."""
        data = {"name": "draft", **request.data} if isinstance(request.data, dict) else {}
        serializer = RuleSerializer(data=data)
        # A draft may carry the name of the rule it edits.
        serializer.fields["name"].validators = []
        serializer.is_valid(raise_exception=True)
        fields = {k: v for k, v in serializer.validated_data.items() if k != "receivers"}
        return self._preview(Rule(**fields), request_access(request))

    @property
    def required_scope(self) -> str:
        # Testing a rule reads; it changes nothing.
        if self.action in ("test_saved", "test_draft"):
            return "read"
        return super().required_scope

    @staticmethod
    def _preview(rule: Rule, access: NamespaceAccess) -> Response:
        try:
            found = actions.preview(rule)
        except SourceError as exc:
            return Response({"detail": f"the rule cannot be evaluated: {exc}"}, status=status.HTTP_409_CONFLICT)
        return Response([f for f in found if _labels_visible(f["labels"], access)])


class SilenceViewSet(_Scoped, viewsets.ModelViewSet):
    """Silences as Alertmanager's: matchers on labels, a start, an end, a comment. DELETE
    expires a silence now, as Alertmanager does; it stays listed."""

    serializer_class = SilenceSerializer

    def get_queryset(self) -> QuerySet[Silence]:
        silences = Silence.objects.order_by("-ends_at", "-pk")
        access = request_access(self.request)
        if access.restricted:
            silences = silences.filter(pk__in=[s.pk for s in silences if _silence_visible(s, access)])
        return silences

    def perform_create(self, serializer: BaseSerializer) -> None:
        data = dict(serializer.validated_data)
        if not data.get("created_by"):
            data["created_by"] = _principal(self.request)
        serializer.instance = actions.save_silence(None, data)

    def perform_update(self, serializer: BaseSerializer) -> None:
        serializer.instance = actions.save_silence(serializer.instance, serializer.validated_data)

    def perform_destroy(self, instance: Silence) -> None:
        actions.expire_silence(instance)


def _principal(request: Request) -> str:
    token = request.auth
    if token is not None and hasattr(token, "name"):
        return f"token:{token.name}"
    user = request.user
    return user.get_username() if user is not None and user.is_authenticated else "anonymous"


def _flag(value: str | None) -> bool | None:
    return None if value is None else value.lower() in ("1", "true", "yes")


class AlertViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Current and past alerts, newest first, each with its history. Filters: `state`
    (comma-separated: pending, firing, resolved, inactive), `active`, `rule`, `severity`,
    `namespace`, `silenced`."""

    serializer_class = AlertSerializer
    required_scope = "read"

    def get_queryset(self) -> QuerySet[Alert]:
        alerts = Alert.objects.select_related("rule").prefetch_related("transitions").order_by("-active_since", "-pk")
        params = self.request.query_params
        if params.get("state"):
            alerts = alerts.filter(state__in=params["state"].split(","))
        if _flag(params.get("active")):
            alerts = alerts.filter(state__in=("pending", "firing"))
        if params.get("rule", "").isdigit():
            alerts = alerts.filter(rule_id=_rule_id(params["rule"]))
        if params.get("severity"):
            alerts = alerts.filter(rule__severity=params["severity"])
        if params.get("namespace"):
            alerts = alerts.filter(Q(namespace=params["namespace"]) | Q(source_namespace=params["namespace"]))
        silenced = _flag(params.get("silenced"))
        if silenced is not None:
            alerts = alerts.filter(silenced_by__isnull=not silenced)
        access = request_access(self.request)
        if access.restricted:
            allowed = sorted(access.namespaces or ())
            alerts = alerts.filter(Q(namespace="") | Q(namespace__in=allowed)).filter(
                Q(source_namespace="") | Q(source_namespace__in=allowed)
            )
        return alerts

    @extend_schema(
        parameters=[
            OpenApiParameter("state", OpenApiTypes.STR, description="pending, firing, resolved, inactive (a,b)"),
            OpenApiParameter("active", OpenApiTypes.BOOL, description="only pending and firing alerts"),
            OpenApiParameter("rule", OpenApiTypes.INT),
            OpenApiParameter("severity", OpenApiTypes.STR),
            OpenApiParameter("namespace", OpenApiTypes.STR),
            OpenApiParameter("silenced", OpenApiTypes.BOOL),
        ]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)


class DeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The delivery log: each notification, newest first, with every attempt at delivering it.
    Filters: `receiver` (name), `state`, `rule`."""

    serializer_class = NotificationSerializer
    required_scope = "read"

    def get_queryset(self) -> QuerySet[Notification]:
        notifications = (
            Notification.objects.select_related("receiver")
            .prefetch_related("attempts_made")
            .order_by("-created_at", "-pk")
        )
        params = self.request.query_params
        if params.get("receiver"):
            notifications = notifications.filter(receiver__name=params["receiver"])
        if params.get("state"):
            notifications = notifications.filter(state__in=params["state"].split(","))
        if params.get("rule", "").isdigit():
            notifications = notifications.filter(rule_id=_rule_id(params["rule"]))
        access = request_access(self.request)
        if access.restricted:
            notifications = notifications.filter(rule_id__in=_visible_rule_ids(access))
        return notifications

    @extend_schema(
        parameters=[
            OpenApiParameter("receiver", OpenApiTypes.STR),
            OpenApiParameter(
                "state", OpenApiTypes.STR, description="queued, sending, retrying, delivered, failed, unconfirmed"
            ),
            OpenApiParameter("rule", OpenApiTypes.INT),
        ]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)
