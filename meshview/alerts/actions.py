"""The write paths of alerting: rules, receivers and silences; evaluating a rule at a tick;
planning notifications; one delivery attempt of a notification."""

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from meshview.alerts import payloads, telemetry, transport
from meshview.alerts.matchers import matches
from meshview.alerts.models import (
    Alert,
    AlertTransition,
    DeliveryAttempt,
    Notification,
    NotificationGroup,
    Receiver,
    Rule,
    Silence,
)
from meshview.alerts.rules import (
    ACTIVE,
    DEFAULT_SUMMARY,
    TRAFFIC_KINDS,
    Finding,
    Row,
    RuleSpec,
    advance,
    alert_labels,
    findings,
    fingerprint,
    format_duration,
    render,
    target_text,
)
from meshview.graph.sources import SourceError

# A delivery whose worker went silent this long past the receiver's timeout may be taken over.
LEASE_MARGIN_S = 5.0
# A notification still due this long after its time was lost by the broker: send it again.
RESUME_GRACE_S = 5.0


def spec_of(rule: Rule) -> RuleSpec:
    """The evaluator's view of a rule."""
    return RuleSpec(
        kind=rule.kind,  # type: ignore[arg-type]
        selector=rule.selector,
        threshold=rule.threshold,
        window=rule.window_seconds,
        errors=rule.errors,
        quantile=rule.quantile,
        op=rule.op,
    )


def _source(rule: Rule) -> str:
    """Where a traffic rule reads: Prometheus when asked, or by default when it is configured."""
    if rule.source == "auto":
        return "prometheus" if settings.MESHVIEW_PROMETHEUS_URL else "accesslogs"
    return rule.source


_UNSET: Any = object()


def read(rule: Rule, now: int, last_report: float | None = _UNSET) -> list[Row]:
    """Read what the rule needs for the window ending `now` (one query). Raise SourceError when
    it cannot be evaluated: Prometheus unreachable, or no access-log reporter sent anything
    within the window (traffic that stopped cannot be told from telemetry that stopped)."""
    spec = spec_of(rule)
    source = _source(rule)
    if spec.kind in TRAFFIC_KINDS:
        if source == "prometheus":
            return telemetry.prometheus_rows(spec, now)
        last = telemetry.last_report() if last_report is _UNSET else last_report
        if last is None or last < now - spec.window:
            raise SourceError(f"no access-log reporter sent data in the last {format_duration(spec.window)}")
        return telemetry.rollup_rows(spec, now)
    if spec.kind == "missing_sidecar":
        return telemetry.missing_sidecar_rows(spec, now)
    rows = telemetry.reporter_rows(spec, now)
    if source == "prometheus" or (source == "auto" and settings.MESHVIEW_PROMETHEUS_URL):
        rows += telemetry.prometheus_silence(spec, now)
    return rows


def preview(rule: Rule, now: int | None = None) -> list[dict[str, Any]]:
    """What the rule finds in the current window, without recording anything: each node or
    edge with its labels, value and whether it would fire (or be pending for `for`)."""
    now = int(time.time()) if now is None else now
    found = findings(spec_of(rule), read(rule, now))
    return [
        {
            "labels": alert_labels(rule.name, rule.severity, rule.labels, f.labels),
            "value": f.value,
            "breached": f.breached,
            "wouldBe": ("firing" if rule.for_seconds == 0 else "pending") if f.breached else "inactive",
        }
        for f in found
    ]


def evaluate_rule(rule_id: int, tick: int, last_report: float | None = _UNSET, now: float | None = None) -> bool:
    """Evaluate one rule for one tick; return False when it was not evaluated because another
    evaluation claimed this tick (or a later one) first, or the rule is disabled or gone.

    The claim is a conditional UPDATE of the rule's last tick, so any number of workers may be
    handed the same rule and tick: one evaluates it."""
    claimed = Rule.objects.filter(pk=rule_id, enabled=True, evaluated_tick__lt=tick).update(evaluated_tick=tick)
    if not claimed:
        return False
    rule = Rule.objects.prefetch_related("receivers").get(pk=rule_id)
    now = time.time() if now is None else now
    moment = datetime.fromtimestamp(now, UTC)
    try:
        found = findings(spec_of(rule), read(rule, int(now), last_report))
    except SourceError as exc:
        # Alerts keep their state: a rule that cannot see cannot say that things recovered.
        Rule.objects.filter(pk=rule.pk).update(health="unevaluable", last_error=str(exc), evaluated_at=moment)
        return True
    record_findings(rule, found, moment)
    return True


def alert_links(rule: Rule, labels: Mapping[str, str]) -> dict[str, str]:
    """Links of an alert: the graph of its namespaces with its node (an edge's destination)
    selected, and the traces of that node's service (as OpenTelemetry names it: the app)."""
    base = settings.MESHVIEW_EXTERNAL_URL
    namespace = labels.get("destination_namespace") or labels.get("namespace", "")
    namespaces = sorted({n for n in (namespace, labels.get("source_namespace", "")) if n})
    workload = labels.get("destination_workload") or labels.get("workload") or ""
    service = labels.get("destination_service") or labels.get("service") or ""
    app = labels.get("destination_app") or labels.get("app") or ""
    name = workload or service
    graph = {"namespaces": ",".join(namespaces), "graphType": "workload"}
    if name:
        graph["focus"] = f"{namespace}/{name}" if namespace else name
    traces: dict[str, str] = {"service": app or service or workload}
    if rule.kind == "error_rate":
        traces["tags"] = "error=true"
    elif rule.kind == "latency":
        traces["minDuration"] = f"{int(rule.threshold)}ms"
    return {"graph": f"{base}/graph?{urlencode(graph)}", "traces": f"{base}/traces?{urlencode(traces)}"}


def _annotations(rule: Rule, labels: Mapping[str, str], value: float, links: Mapping[str, str]) -> dict[str, str]:
    context = {
        "value": round(value, 4),
        "threshold": rule.threshold,
        "labels": labels,
        "graph_url": links["graph"],
        "traces_url": links["traces"],
        "target": target_text(labels),
        "quantile": rule.quantile,
        "op": rule.op,
        "window": format_duration(rule.window_seconds),
    }
    templates = {"summary": DEFAULT_SUMMARY[rule.kind], **rule.annotations}
    return {key: render(template, context) for key, template in templates.items()}


def _silence_of(silences: Iterable[Silence], labels: Mapping[str, str]) -> Silence | None:
    return next((s for s in silences if matches(s.matchers, labels)), None)


def active_silences(moment: datetime) -> list[Silence]:
    return list(Silence.objects.filter(starts_at__lte=moment, ends_at__gt=moment).order_by("pk"))


@transaction.atomic
def record_findings(rule: Rule, found: list[Finding], moment: datetime) -> None:
    """Move the rule's alerts on by what one evaluation found, keep their history, and plan the
    notifications that are due."""
    now = moment.timestamp()
    # Evaluations of consecutive ticks may overlap: they record one after the other, and one
    # that finds a later evaluation already recorded leaves its older view unrecorded.
    recorded = Rule.objects.select_for_update().values_list("evaluated_at", flat=True).get(pk=rule.pk)
    if recorded is not None and recorded > moment:
        return
    active = {a.fingerprint: a for a in Alert.objects.filter(rule=rule, state__in=ACTIVE)}
    silences = active_silences(moment)
    created: list[Alert] = []
    changed: list[Alert] = []
    transitions: list[tuple[Alert, str]] = []
    seen = set()
    for finding in found:
        labels = alert_labels(rule.name, rule.severity, rule.labels, finding.labels)
        key = fingerprint(labels)
        seen.add(key)
        alert = active.get(key)
        step = advance(
            alert.state if alert else None,  # type: ignore[arg-type]
            alert.active_since.timestamp() if alert else None,
            finding.breached,
            now,
            rule.for_seconds,
        )
        if alert is None and step.state not in ACTIVE:
            continue
        links = alert_links(rule, labels)
        if alert is None:
            alert = Alert(
                rule=rule,
                fingerprint=key,
                labels=labels,
                namespace=labels.get("destination_namespace") or labels.get("namespace", ""),
                source_namespace=labels.get("source_namespace", ""),
                active_since=moment,
                state=step.state,
            )
            created.append(alert)
        else:
            changed.append(alert)
        alert.value = finding.value
        alert.annotations = _annotations(rule, labels, finding.value, links)
        alert.evaluated_at = moment
        silence = _silence_of(silences, labels)
        alert.silenced_by_id = silence.pk if silence else None
        if step.changed:
            _enter(alert, step.state, moment, transitions)
    for key, alert in active.items():
        if key not in seen:
            step = advance(alert.state, alert.active_since.timestamp(), False, now, rule.for_seconds)  # type: ignore[arg-type]
            alert.evaluated_at = moment
            _enter(alert, step.state, moment, transitions)
            changed.append(alert)
    Alert.objects.bulk_create(created)
    Alert.objects.bulk_update(
        changed, ["value", "annotations", "evaluated_at", "silenced_by", "state", "fired_at", "ended_at"]
    )
    AlertTransition.objects.bulk_create(
        [AlertTransition(alert=a, state=state, value=a.value, at=moment) for a, state in transitions]
    )
    current = [a for a in (*created, *changed) if a.state in ACTIVE]
    state = "firing" if any(a.state == "firing" for a in current) else "pending" if current else "inactive"
    Rule.objects.filter(pk=rule.pk).update(health="ok", last_error="", evaluated_at=moment, state=state)
    due = plan_notifications(rule, [*created, *changed], moment)
    if due:
        from meshview.alerts.tasks import deliver

        transaction.on_commit(lambda: [deliver.delay(pk) for pk in due])


def _enter(alert: Alert, state: str, moment: datetime, transitions: list[tuple[Alert, str]]) -> None:
    alert.state = state
    if state == "firing":
        alert.fired_at = moment
    elif state in ("resolved", "inactive"):
        alert.ended_at = moment
    transitions.append((alert, state))


def _time(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z") if moment else None


def _snapshot(
    rule: Rule, receiver: Receiver, firing: list[Alert], resolved: list[Alert], moment: datetime
) -> dict[str, Any]:
    # Alertmanager resolves an alert pushed to its API whose end passed without a resend.
    ends = moment + timedelta(seconds=4 * receiver.group_interval_seconds)
    alerts = [
        {
            "fingerprint": a.fingerprint,
            "status": status,
            "labels": a.labels,
            "annotations": a.annotations,
            "value": a.value,
            "startsAt": _time(a.fired_at or a.active_since),
            "endsAt": _time(a.ended_at if status == "resolved" else ends),
            "links": alert_links(rule, a.labels),
        }
        for status, group in (("firing", firing), ("resolved", resolved))
        for a in sorted(group, key=lambda a: a.fingerprint)
    ]
    return {
        "groupKey": payloads.group_key(rule.name),
        "status": "firing" if firing else "resolved",
        "receiver": receiver.name,
        "groupLabels": {"alertname": rule.name},
        "externalURL": settings.MESHVIEW_EXTERNAL_URL,
        "rule": {
            "id": rule.pk,
            "name": rule.name,
            "kind": rule.kind,
            "severity": rule.severity,
            "threshold": rule.threshold,
            "window": format_duration(rule.window_seconds),
            "for": format_duration(rule.for_seconds),
            "selector": rule.selector,
        },
        "alerts": alerts,
    }


def plan_notifications(rule: Rule, touched: list[Alert], moment: datetime) -> list[int]:
    """Create the notifications that are due for the rule's receivers; return their ids.

    Per receiver, the rule's alerts form one group. A notification is due when an alert
    started firing or one the receiver heard firing has resolved, and the group's last
    notification is at least the receiver's group interval old; an `alertmanager_api`
    receiver also hears of its firing alerts again every group interval. A resolution is sent
    once; silenced alerts are left out."""
    receivers = list(rule.receivers.all())
    if not receivers:
        return []
    by_fingerprint = {a.fingerprint: a for a in touched}
    groups = {g.receiver_id: g for g in NotificationGroup.objects.filter(rule=rule).select_for_update()}
    heard = set().union(*(g.notified for g in groups.values())) - set(by_fingerprint)
    if heard:
        for alert in Alert.objects.filter(rule=rule, fingerprint__in=sorted(heard)).order_by("active_since"):
            by_fingerprint[alert.fingerprint] = alert
    firing = {k: a for k, a in by_fingerprint.items() if a.state == "firing" and a.silenced_by_id is None}
    due = []
    for receiver in receivers:
        group = groups.get(receiver.pk) or NotificationGroup(receiver=receiver, rule=rule, notified=[])
        notified = set(group.notified)
        resolved = [
            by_fingerprint[k]
            for k in sorted(notified - set(firing))
            if by_fingerprint.get(k) is not None and by_fingerprint[k].state == "resolved"
        ]
        started = set(firing) - notified
        elapsed = None if group.last_notified_at is None else (moment - group.last_notified_at).total_seconds()
        interval_passed = elapsed is None or elapsed >= receiver.group_interval_seconds
        resend = receiver.kind == "alertmanager_api" and bool(firing)
        if interval_passed and (started or resolved or resend):
            snapshot = _snapshot(rule, receiver, list(firing.values()), resolved, moment)
            notification = Notification.objects.create(
                receiver=receiver,
                rule=rule,
                status=snapshot["status"],
                snapshot=snapshot,
                next_attempt_at=moment,
                created_at=moment,
            )
            due.append(notification.pk)
            group.notified = sorted(firing)
            group.last_notified_at = moment
            group.save()
        elif notified - set(firing) - {a.fingerprint for a in resolved}:
            # Silenced, or gone without a resolution to tell: the receiver hears no more of them.
            group.notified = sorted(notified & (set(firing) | {a.fingerprint for a in resolved}))
            group.save()
    return due


INTERRUPTED = "the worker stopped before the answer was recorded: not sent again, the receiver may have it"


@dataclass(frozen=True, slots=True)
class Delivery:
    """What one delivery attempt did: its outcome and, for a retry, the seconds to wait."""

    outcome: str
    retry_in: float | None = None


def deliver(notification_id: int, post: Callable[..., transport.Answer] = transport.post) -> Delivery | None:
    """Make one attempt at delivering a notification; None when there is nothing to do (it was
    delivered or given up, it is not due yet, or another worker is sending it right now).

    The attempt claims the notification with a conditional UPDATE and is recorded before the
    request goes out. A worker that dies mid-request leaves that record behind: whoever finds
    it after the lease marks the attempt interrupted and the notification `unconfirmed`, and
    does not send it again, since the receiver may have acted on it. Every attempt sends the
    notification's same delivery key and bytes."""
    notification = Notification.objects.select_related("receiver").filter(pk=notification_id).first()
    if notification is None:
        return None
    receiver = notification.receiver
    now = timezone.now()
    lease = now + timedelta(seconds=receiver.timeout_seconds * (transport.MAX_REDIRECTS + 1) + LEASE_MARGIN_S)
    with transaction.atomic():
        if Notification.objects.filter(pk=notification_id, state="sending", lease_until__lt=now).update(
            state="unconfirmed", lease_until=None, last_error=INTERRUPTED
        ):
            DeliveryAttempt.objects.filter(notification_id=notification_id, outcome="sending").update(
                outcome="interrupted", error=INTERRUPTED
            )
            return Delivery("interrupted")
        if not Notification.objects.filter(
            pk=notification_id, state__in=("queued", "retrying"), next_attempt_at__lte=now + timedelta(seconds=1)
        ).update(state="sending", attempts=F("attempts") + 1, lease_until=lease):
            return None
        number = Notification.objects.values_list("attempts", flat=True).get(pk=notification_id)
        attempt = DeliveryAttempt.objects.create(notification_id=notification_id, number=number, started_at=now)
    key = str(notification.delivery_key)
    body = payloads.render(receiver.kind, notification.snapshot, key)
    headers = {**receiver.headers, payloads.DELIVERY_HEADER: key, "Idempotency-Key": key}
    if receiver.secret:
        headers[payloads.SIGNATURE_HEADER] = payloads.signature(receiver.secret, body)
    url = receiver.url.rstrip("/") + "/api/v2/alerts" if receiver.kind == "alertmanager_api" else receiver.url
    answer = post(url, body, headers, receiver.timeout_seconds, settings.MESHVIEW_WEBHOOK_ALLOW_PRIVATE)
    base = settings.MESHVIEW_WEBHOOK_RETRY_BASE_MS / 1000
    outcome, retry_in = transport.verdict(answer, number, receiver.max_attempts, base)
    finished = timezone.now()
    with transaction.atomic():
        DeliveryAttempt.objects.filter(pk=attempt.pk).update(
            outcome=outcome,
            status_code=answer.status,
            latency_ms=answer.latency_ms,
            error=answer.error,
            response_excerpt=answer.excerpt,
        )
        state = {"delivered": "delivered", "retry": "retrying"}.get(outcome, "failed")
        Notification.objects.filter(pk=notification_id, state="sending", attempts=number).update(
            state=state,
            lease_until=None,
            next_attempt_at=finished + timedelta(seconds=retry_in or 0),
            delivered_at=finished if outcome == "delivered" else None,
            last_error=answer.error or ("" if outcome == "delivered" else f"HTTP {answer.status}"),
        )
    return Delivery(outcome, retry_in)


def overdue_notifications(now: datetime | None = None) -> list[int]:
    """Notifications whose delivery should be running and is not: due for a while with no task
    to run them (a broker that lost the message), or held by a worker that died mid-attempt."""
    now = timezone.now() if now is None else now
    overdue = Q(state__in=("queued", "retrying"), next_attempt_at__lte=now - timedelta(seconds=RESUME_GRACE_S)) | Q(
        state="sending", lease_until__lt=now
    )
    return list(Notification.objects.filter(overdue).order_by("pk").values_list("pk", flat=True)[:1000])


# Configuration writes.


def save_receiver(receiver: Receiver | None, data: Mapping[str, Any]) -> Receiver:
    """Create or change a receiver from validated fields."""
    receiver = receiver or Receiver()
    for field, value in data.items():
        setattr(receiver, field, value)
    receiver.save()
    return receiver


def save_rule(rule: Rule | None, data: Mapping[str, Any]) -> Rule:
    """Create or change a rule from validated fields (`receivers` as Receiver objects). A
    changed rule is evaluated afresh at the next tick."""
    fields = dict(data)
    receivers = fields.pop("receivers", None)
    rule = rule or Rule()
    for field, value in fields.items():
        setattr(rule, field, value)
    with transaction.atomic():
        rule.save()
        if receivers is not None:
            rule.receivers.set(receivers)
        if not rule.enabled:
            _end_alerts(rule, timezone.now())
    return rule


def _end_alerts(rule: Rule, moment: datetime) -> None:
    """A disabled rule's pending alerts become inactive and its firing ones resolved."""
    ended = list(Alert.objects.filter(rule=rule, state__in=ACTIVE))
    transitions: list[tuple[Alert, str]] = []
    for alert in ended:
        _enter(alert, "resolved" if alert.state == "firing" else "inactive", moment, transitions)
    Alert.objects.bulk_update(ended, ["state", "ended_at"])
    AlertTransition.objects.bulk_create(
        [AlertTransition(alert=a, state=state, value=a.value, at=moment) for a, state in transitions]
    )
    Rule.objects.filter(pk=rule.pk).update(state="inactive")


def delete_rule(rule: Rule) -> None:
    rule.delete()


def delete_receiver(receiver: Receiver) -> None:
    receiver.delete()


def save_silence(silence: Silence | None, data: Mapping[str, Any]) -> Silence:
    """Create or change a silence; alerts it matches show as silenced at once."""
    silence = silence or Silence()
    for field, value in data.items():
        setattr(silence, field, value)
    with transaction.atomic():
        silence.save()
        _apply_silences(timezone.now())
    return silence


def expire_silence(silence: Silence) -> None:
    """End a silence now (Alertmanager's DELETE); alerts it held are notified again."""
    with transaction.atomic():
        now = timezone.now()
        Silence.objects.filter(pk=silence.pk).update(ends_at=min(now, silence.ends_at))
        _apply_silences(now)


def _apply_silences(moment: datetime) -> None:
    silences = active_silences(moment)
    alerts = list(Alert.objects.filter(state__in=ACTIVE))
    for alert in alerts:
        silence = _silence_of(silences, alert.labels)
        alert.silenced_by_id = silence.pk if silence else None
    Alert.objects.bulk_update(alerts, ["silenced_by"])
