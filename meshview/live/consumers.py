"""Websocket consumers: thin transports that join a group and forward its events."""

import asyncio
import contextlib
import time
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from meshview.core.metrics import PUSH_LATENCY
from meshview.graph.build import BadGraphRequest, accessible_namespaces, graph_json, parse_request
from meshview.graph.live import graph_delta
from meshview.live.broadcast import GRAPH_GROUP, TRACES_GROUP
from meshview.traces import queries

LIVE_INTERVAL = 5.0  # seconds between refreshes when nothing signals a change: the window moves
MIN_PUSH_INTERVAL = 1.0  # at most one delta per second per socket


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


class GraphConsumer(LiveConsumer):
    """`/ws/graph/?namespaces=..&graphType=..&duration=..` (Kiali's graph parameters): the graph
    (`graph.snapshot`), then `graph.delta` when traffic changes (within a second of a
    `graph.changed` signal) or the window moves on (every LIVE_INTERVAL seconds)."""

    group = GRAPH_GROUP

    async def connect(self) -> None:
        self.params = {k: v[-1] for k, v in parse_qs(self.scope.get("query_string", b"").decode()).items()}
        self.params.pop("queryTime", None)  # a live graph always ends now
        self.graph: dict[str, Any] | None = None
        self.changed_at = 0.0
        self.pushed_at = 0.0
        self.wake = asyncio.Event()
        self.refresher: asyncio.Task | None = None
        await super().connect()

    async def disconnect(self, code: int) -> None:
        if self.refresher is not None:
            self.refresher.cancel()
        await super().disconnect(code)

    async def send_snapshot(self) -> None:
        try:
            self.graph = await self._compute()
        except BadGraphRequest as exc:
            await self.send_json({"type": "error", "detail": str(exc)})
            await self.close(code=4400)
            return
        await self.send_json({"type": "graph.snapshot", "graph": self.graph})
        self.pushed_at = time.monotonic()
        self.refresher = asyncio.create_task(self._refresh())

    async def graph_changed(self, event: dict[str, Any]) -> None:
        self.changed_at = max(self.changed_at, float(event["changedAt"]))
        self.wake.set()

    async def _compute(self) -> dict[str, Any]:
        def compute() -> dict[str, Any]:
            return graph_json(parse_request(self.params, accessible_namespaces(None)), self.changed_at)

        return await database_sync_to_async(compute)()

    async def _refresh(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=LIVE_INTERVAL)
            self.wake.clear()
            pause = self.pushed_at + MIN_PUSH_INTERVAL - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
            changed_at = self.changed_at
            graph = await self._compute()
            self.pushed_at = time.monotonic()
            delta = graph_delta(self.graph or graph, graph) if self.graph else None
            self.graph = graph
            if delta is not None:
                await self.send_json({"type": "graph.delta", "timestamp": graph["timestamp"], **delta})
                if changed_at:
                    PUSH_LATENCY.observe(max(time.time() - changed_at, 0.0))
