"""meshview's own Prometheus metrics, exposed at /metrics."""

import time
from collections.abc import Awaitable, Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse
from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter(
    "meshview_http_requests_total", "HTTP requests answered, by route and status.", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "meshview_http_request_duration_seconds",
    "Time to answer an HTTP request, by route.",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
INGESTED = Counter(
    "meshview_ingest_records_total",
    "Records received on an ingest path, by signal (envoy, otlp, zipkin) and outcome (accepted, rejected).",
    ["signal", "outcome"],
)
INGEST_REFUSED = Counter(
    "meshview_ingest_refused_requests_total",
    "Ingest requests refused as a whole, by signal and HTTP status.",
    ["signal", "status"],
)
INGEST_REJECTED = Counter(
    "meshview_ingest_rejected_records_total",
    "Records refused on an ingest path, by signal and reason (out-of-retention: older than the span retention).",
    ["signal", "reason"],
)
PAIRING_WAITING = Gauge(
    "meshview_span_pairing_waiting_spans",
    "Spans waiting in the pairing store for their other half (read when scraped).",
)
PAIRING_DROPPED = Counter(
    "meshview_span_pairing_dropped_total",
    "Waits for a span's other half settled at once, because the pairing store was full (MESHVIEW_SPAN_PAIR_MAX); "
    "a client span waits for its parent and for its children.",
)
SETTLE_QUEUE = Gauge(
    "meshview_settle_queue_requests",
    "Server-side access-log records waiting for their client side (read when scraped).",
)
LIVE_TRACE_SNAPSHOTS = Counter(
    "meshview_live_trace_snapshots_total",
    "Live-tail snapshots of the newest traces read from the database (one serves the sockets of a second)",
)
PUSH_LATENCY = Histogram(
    "meshview_live_push_seconds",
    "Time from a committed change to its websocket broadcast.",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


def _route(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    # The route pattern, not the path: one series per endpoint, whatever ids the paths carry.
    return match.route if match is not None and match.route else "unmatched"


class RequestMetricsMiddleware:
    """Counts requests and their latency per route; works under WSGI and ASGI."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        if self.is_async:
            return self._acall(request)
        started = time.perf_counter()
        response = self.get_response(request)
        self._observe(request, response, started)
        return response

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = await self.get_response(request)
        self._observe(request, response, started)
        return response

    @staticmethod
    def _observe(request: HttpRequest, response: HttpResponse, started: float) -> None:
        route = _route(request)
        HTTP_REQUESTS.labels(request.method or "", route, str(response.status_code)).inc()
        HTTP_LATENCY.labels(route).observe(time.perf_counter() - started)
