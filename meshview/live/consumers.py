"""Websocket consumers: thin transports that join a group and forward its events."""

import asyncio
import contextlib
import json
import time
import weakref
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from meshview.core.access import NamespaceAccess, request_access
from meshview.core.auth import denial, socket_headers
from meshview.core.budget import query_deadline
from meshview.core.metrics import LIVE_TRACE_SNAPSHOTS, PUSH_LATENCY
from meshview.graph.build import LIVE_TTL_SECONDS, BadGraphRequest, graph_json, parse_request
from meshview.graph.live import graph_delta
from meshview.live.broadcast import GRAPH_GROUP, TRACES_GROUP
from meshview.traces import queries

LIVE_INTERVAL = 5.0  # seconds between refreshes when nothing signals a change: the window moves
MIN_PUSH_INTERVAL = 0.5  # at most two deltas a second per socket: a change waits for the pause, then the fetch
# A view waits at least this many times as long as its graph took to compute before it
# fetches again: the refreshes of a costly view (a dense mesh over a week) under constant ingest
# take a quarter of a core at most, not all of it.
PUSH_PACE = 3.0


class LiveConsumer(AsyncJsonWebsocketConsumer):
    """Accepts a client that may read, joins `group`, and relays the group's events."""

    group = ""

    async def connect(self) -> None:
        if self.scope.get("auth_unavailable"):
            await self.close(code=1013)  # try again later: the token cannot be looked up now
            return
        headers = socket_headers(self.scope)
        if self.scope.get("auth_error") or denial(self.scope.get("user"), self.scope.get("auth"), "read", headers):
            await self.close(code=4401)
            return
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_snapshot()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        """Clients only listen: a binary frame closes the socket with 1003 (unsupported data), a
        text frame that is not JSON with 1007 (invalid payload), without a traceback to log."""
        if text_data is None:
            await self.close(code=1003)
            return
        try:
            content = json.loads(text_data)
        except ValueError:
            await self.close(code=1007)
            return
        await self.receive_json(content)

    async def send_snapshot(self) -> None:
        """Send the current state right after the connection is accepted."""

    async def relay(self, event: dict[str, Any]) -> None:
        await self.send_json(event)


class TracesConsumer(LiveConsumer):
    """`/ws/traces/`: summaries of newly received traces (`traces.delta`)."""

    group = TRACES_GROUP

    async def send_snapshot(self) -> None:
        recent = await _recent_traces(request_access(self.scope))
        await self.send(text_data=recent)

    async def traces_delta(self, event: dict[str, Any]) -> None:
        # The next socket to connect reads a snapshot with these traces in it.
        _trace_snapshots.get(asyncio.get_running_loop(), {}).clear()
        access = request_access(self.scope)
        if access.restricted:
            # The event tells every reader; this caller sees only the traces, and the parts of
            # them, of its namespaces.
            touched = [summary["traceId"] for summary in event["traces"]]
            traces = await database_sync_to_async(
                lambda: queries.summaries(
                    queries.recent_trace_ids(queries.LIVE_TRACES, touched, access=access), access=access
                )
            )()
            if not traces:
                return
            event = {**event, "traces": traces}
        await self.relay(event)


# Per event loop: the newest traces' snapshot for each set of readable namespaces, and when it
# was read. A burst of connects shares one read instead of one each.
_TraceSnapshots = dict[frozenset[str] | None, tuple[float, "asyncio.Future[str]"]]
_trace_snapshots: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _TraceSnapshots]" = weakref.WeakKeyDictionary()


def _read_trace_snapshot(access: NamespaceAccess) -> str:
    LIVE_TRACE_SNAPSHOTS.inc()
    with query_deadline():
        recent = queries.summaries(queries.recent_trace_ids(queries.LIVE_TRACES, access=access), access=access)
    return json.dumps({"type": "traces.snapshot", "traces": recent})


async def _recent_traces(access: NamespaceAccess) -> str:
    """The `traces.snapshot` message for a caller with `access`, read at most once per
    LIVE_TTL_SECONDS in this process for all the sockets that connect meanwhile (and again
    after new traces arrived)."""
    snapshots = _trace_snapshots.setdefault(asyncio.get_running_loop(), {})
    entry = snapshots.get(access.namespaces)
    if entry is None or time.monotonic() - entry[0] >= LIVE_TTL_SECONDS:
        future = asyncio.ensure_future(database_sync_to_async(_read_trace_snapshot)(access))
        snapshots[access.namespaces] = entry = (time.monotonic(), future)
    return await asyncio.shield(entry[1])


@dataclass
class SharedView:
    """One live graph view (one set of parameters) as the sockets of this process showing it
    share it: the graph is fetched once for all of them, and the snapshot and each delta are
    built and encoded once, so a thousand dashboards cost about what one does."""

    graph: dict[str, Any] | None = None
    changed_at: float = 0.0  # the last change `graph` includes
    fetched_at: float = 0.0  # monotonic time its fetch began
    fetch_seconds: float = 0.0  # how long the last fetch took
    pending: "asyncio.Task[tuple[dict[str, Any], float]] | None" = None
    snapshot: str = ""
    deltas: dict[int, tuple[dict[str, Any], str | None]] = field(default_factory=dict)

    def current(self, changed_at: float) -> dict[str, Any] | None:
        """The graph when it includes the change at `changed_at` and is under LIVE_TTL_SECONDS
        old, else None."""
        if self.changed_at >= changed_at and time.monotonic() - self.fetched_at < LIVE_TTL_SECONDS:
            return self.graph
        return None

    def snapshot_text(self, graph: dict[str, Any]) -> str:
        if graph is not self.graph:
            return json.dumps({"type": "graph.snapshot", "graph": graph})
        if not self.snapshot:
            self.snapshot = json.dumps({"type": "graph.snapshot", "graph": graph})
        return self.snapshot

    def delta_text(self, before: dict[str, Any], after: dict[str, Any]) -> str | None:
        """The `graph.delta` message from `before` to `after`, or None when nothing changed."""
        known = self.deltas.get(id(before)) if after is self.graph else None
        if known is None or known[0] is not before:
            delta = graph_delta(before, after)
            text = (
                None if delta is None else json.dumps({"type": "graph.delta", "timestamp": after["timestamp"], **delta})
            )
            known = (before, text)  # holding `before` keeps its id from being reused
            if after is self.graph:
                self.deltas[id(before)] = known
        return known[1]


# Per event loop, since a task belongs to one; a loop that is gone takes its views with it.
_views: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple, SharedView]]" = weakref.WeakKeyDictionary()


def _read_graph(params: dict[str, str], accessible: frozenset[str] | None, changed_at: float) -> dict[str, Any]:
    with query_deadline():
        return graph_json(parse_request(params, accessible), changed_at)


async def _fetch(
    view: SharedView, params: dict[str, str], accessible: frozenset[str] | None, changed_at: float
) -> tuple[dict[str, Any], float]:
    """Fetch the view's graph as a caller who may read the `accessible` namespaces sees it (from
    the deployment's shared cache when fresh enough) and keep it on `view`; return it and the
    change it includes. Raises BadGraphRequest."""
    started = time.monotonic()
    try:
        graph = await database_sync_to_async(_read_graph)(params, accessible, changed_at)
    finally:
        view.pending = None
    if changed_at >= view.changed_at:
        view.graph, view.changed_at, view.fetched_at = graph, changed_at, started
        view.fetch_seconds = time.monotonic() - started
        view.snapshot, view.deltas = "", {}
    return graph, changed_at


class GraphConsumer(LiveConsumer):
    """`/ws/graph/?namespaces=..&graphType=..&duration=..` (Kiali's graph parameters): the graph
    (`graph.snapshot`), then `graph.delta` when traffic changes (within half a second of a
    `graph.changed` signal, or PUSH_PACE times as long as the graph took to compute when that
    is longer) or the window moves on (every LIVE_INTERVAL seconds)."""

    group = GRAPH_GROUP

    async def connect(self) -> None:
        self.params = {k: v[-1] for k, v in parse_qs(self.scope.get("query_string", b"").decode()).items()}
        self.params.pop("queryTime", None)  # a live graph always ends now
        self.accessible = request_access(self.scope).namespaces
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
        await self.send(text_data=self._view().snapshot_text(self.graph))
        self.pushed_at = time.monotonic()
        self.refresher = asyncio.create_task(self._refresh())

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels closes stale database connections in a worker thread before every handler;
        # a change signal only wakes the refresher (whose database calls do that themselves),
        # and it reaches every socket at once, so it skips that hop.
        if message["type"] == "graph.changed":
            await self.graph_changed(message)
        else:
            await super().dispatch(message)

    async def graph_changed(self, event: dict[str, Any]) -> None:
        self.changed_at = max(self.changed_at, float(event["changedAt"]))
        self.wake.set()

    def _view(self) -> SharedView:
        views = _views.setdefault(asyncio.get_running_loop(), {})
        # Callers who see different namespaces see different graphs.
        key = (tuple(sorted(self.params.items())), self.accessible)
        view = views.get(key)
        if view is None:
            # Views nobody refreshed for a while are dropped with their graphs.
            stale = time.monotonic() - 2 * LIVE_INTERVAL
            for other in [k for k, v in views.items() if v.pending is None and v.fetched_at < stale]:
                del views[other]
            view = views[key] = SharedView()
        return view

    async def _compute(self) -> dict[str, Any]:
        """The graph fetched after the last change this socket heard of and under
        LIVE_TTL_SECONDS old, shared with the other sockets showing the same view."""
        changed_at = self.changed_at
        while True:
            view = self._view()
            current = view.current(changed_at)
            if current is not None:
                return current
            if view.pending is None:
                view.pending = asyncio.create_task(_fetch(view, self.params, self.accessible, changed_at))
            graph, fetched_for = await asyncio.shield(view.pending)
            if fetched_for >= changed_at:
                return graph

    async def _refresh(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=LIVE_INTERVAL)
            self.wake.clear()
            interval = max(MIN_PUSH_INTERVAL, PUSH_PACE * self._view().fetch_seconds)
            pause = self.pushed_at + interval - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
            changed_at = self.changed_at
            graph = await self._compute()
            text = None if self.graph is None or graph is self.graph else self._view().delta_text(self.graph, graph)
            self.graph = graph
            if text is not None:
                # Only a delta sent starts the one-second pause: a refresh that found nothing
                # new must not hold back the next change.
                self.pushed_at = time.monotonic()
                await self.send(text_data=text)
                if changed_at:
                    PUSH_LATENCY.observe(max(time.time() - changed_at, 0.0))
