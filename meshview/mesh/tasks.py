"""Celery tasks of the mesh domain."""

import time

from celery import shared_task

from meshview.mesh import actions, rollups


@shared_task(name="meshview.mesh.tasks.settle_requests", ignore_result=True)
def settle_requests() -> int:
    """Attribute server-side records whose settle window ended with no more ingest to do it."""
    return actions.settle_expired()


@shared_task(name="meshview.mesh.tasks.delete_expired_traffic", ignore_result=True)
def delete_expired_traffic() -> int:
    """Keep traffic rollups for MESHVIEW_TRAFFIC_RETENTION (default 7d)."""
    return actions.delete_expired_traffic()


@shared_task(name="meshview.mesh.tasks.roll_up_traffic", ignore_result=True)
def roll_up_traffic() -> int:
    """Sum each rollup tier into the next coarser one and move the watermarks."""
    return rollups.roll_up(time.time())


@shared_task(name="meshview.mesh.tasks.keep_rollup_pasts", ignore_result=True)
def keep_rollup_pasts() -> int:
    """Store the settled past of the live windows readers start from (`rollups.keep_pasts`)."""
    return rollups.keep_pasts(time.time())
