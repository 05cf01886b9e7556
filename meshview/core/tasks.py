"""Celery tasks of the core domain."""

import socket

from celery import shared_task

from meshview.core import actions


@shared_task(name="meshview.core.tasks.record_heartbeat", ignore_result=True)
def record_heartbeat() -> None:
    """Scheduled by beat; /readyz reports how long ago a worker last ran it."""
    actions.record_heartbeat(socket.gethostname())
