"""Publishing live events to websocket groups, only after the writing transaction commits.

Ingest (`mesh`, `traces`) announces changes here; it never imports `graph`.
"""

import time
from collections.abc import Callable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

TRACES_GROUP = "traces"
GRAPH_GROUP = "graph"


def publish(group: str, event_type: str, payload: dict) -> None:
    """Send `{"type": event_type, **payload}` to every socket in `group`, in any process."""
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(group, {"type": event_type, **payload})


def publish_after_commit(group: str, event_type: str, payload: Callable[[], dict]) -> None:
    """Publish once the current transaction commits (at once outside one), so a browser never
    sees data that was rolled back; `payload` is computed then, from committed data."""
    transaction.on_commit(lambda: publish(group, event_type, payload()))


def signal_change() -> None:
    """Tell live graph viewers, once the current transaction commits, that traffic changed.
    Viewers coalesce the signals: each recomputes at most twice a second, and a costly one
    less often (`meshview.live.consumers.PUSH_PACE`)."""
    publish_after_commit(GRAPH_GROUP, "graph.changed", lambda: {"changedAt": time.time()})
