"""Websocket consumers: thin transports that join a group and forward its events."""

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from meshview.live.broadcast import TRACES_GROUP
from meshview.traces import queries


class LiveConsumer(AsyncJsonWebsocketConsumer):
    """Accepts a client that may read, joins `group`, and relays the group's events."""

    group = ""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if not settings.MESHVIEW_ANONYMOUS_ACCESS and not (user and user.is_authenticated):
            await self.close(code=4401)
            return
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_snapshot()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def send_snapshot(self) -> None:
        """Send the current state right after the connection is accepted."""

    async def relay(self, event: dict[str, Any]) -> None:
        await self.send_json(event)


class TracesConsumer(LiveConsumer):
    """`/ws/traces/`: summaries of newly received traces (`traces.delta`)."""

    group = TRACES_GROUP

    async def send_snapshot(self) -> None:
        recent = await database_sync_to_async(
            lambda: queries.summaries(queries.recent_trace_ids(queries.LIVE_TRACES))
        )()
        await self.send_json({"type": "traces.snapshot", "traces": recent})

    async def traces_delta(self, event: dict[str, Any]) -> None:
        await self.relay(event)
