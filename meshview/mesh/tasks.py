"""Celery tasks of the mesh domain."""

from celery import shared_task

from meshview.mesh import actions


@shared_task(name="meshview.mesh.tasks.settle_requests", ignore_result=True)
def settle_requests() -> int:
    """Attribute server-side records whose settle window ended with no more ingest to do it."""
    return actions.settle_expired()
