"""Publishing live events to websocket groups, only after the writing transaction commits."""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

TRACES_GROUP = "traces"


def publish_after_commit(group: str, event_type: str, payload: dict) -> None:
    """Send `{"type": event_type, **payload}` to `group` once the current transaction commits
    (at once outside a transaction), so a browser never sees data that was rolled back."""
    message = {"type": event_type, **payload}

    def send() -> None:
        layer = get_channel_layer()
        if layer is not None:
            async_to_sync(layer.group_send)(group, message)

    transaction.on_commit(send)
