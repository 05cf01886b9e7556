"""Celery tasks of alerting: beat starts an evaluation of every enabled rule each
MESHVIEW_ALERT_INTERVAL; each notification is delivered by its own task."""

import time

from celery import shared_task
from django.conf import settings

from meshview.alerts import actions, telemetry
from meshview.alerts.models import Rule


@shared_task(name="meshview.alerts.tasks.evaluate_rules", ignore_result=True)
def evaluate_rules() -> int:
    """Hand each enabled rule to a worker for this tick; return how many were handed out."""
    tick = int(time.time() // settings.MESHVIEW_ALERT_INTERVAL_SECONDS)
    # Whether access logs flow at all: read once per tick, not once per rule.
    last_report = telemetry.last_report()
    rule_ids = list(Rule.objects.filter(enabled=True).order_by("pk").values_list("pk", flat=True))
    for rule_id in rule_ids:
        evaluate_rule.delay(rule_id, tick, last_report)
    return len(rule_ids)


@shared_task(name="meshview.alerts.tasks.evaluate_rule", ignore_result=True)
def evaluate_rule(rule_id: int, tick: int, last_report: float | None) -> bool:
    """Evaluate one rule at one tick, unless another worker already did."""
    return actions.evaluate_rule(rule_id, tick, last_report)


# acks_late: a worker that dies mid-delivery leaves the message to be delivered again (Redis);
# resume_deliveries catches what a broker lost.
@shared_task(name="meshview.alerts.tasks.deliver", ignore_result=True, acks_late=True)
def deliver(notification_id: int) -> str | None:
    """Make one delivery attempt and schedule the next one when it asks for a retry."""
    delivery = actions.deliver(notification_id)
    if delivery is None:
        return None
    if delivery.retry_in is not None:
        deliver.apply_async((notification_id,), countdown=delivery.retry_in)
    return delivery.outcome


@shared_task(name="meshview.alerts.tasks.resume_deliveries", ignore_result=True)
def resume_deliveries() -> int:
    """Queue again the deliveries that are due and that no task is running."""
    overdue = actions.overdue_notifications()
    for notification_id in overdue:
        deliver.delay(notification_id)
    return len(overdue)
