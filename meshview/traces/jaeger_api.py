"""Jaeger's query API (v1 and v3) under /jaeger/, so Grafana's Jaeger data source and Jaeger's
own UI and tools work with base URL http://HOST:PORT/jaeger. Same JSON, units and errors as
Jaeger; every parameter is validated, and a bad one is a 400 naming it."""

import json
import re
import time
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_GET

from meshview.core.access import NamespaceAccess, request_access
from meshview.core.auth import require_scope
from meshview.core.middleware import RETRY_AFTER_SECONDS
from meshview.traces import queries
from meshview.traces.durations import parse_go_duration
from meshview.traces.jaeger import SPAN_KIND_TAGS, deduplicate, dependencies, jaeger_trace, otlp_json
from meshview.traces.model import SPAN_KIND_UNSPECIFIED

DEFAULT_LOOKBACK_NS = 2 * 86_400 * 10**9  # Jaeger's search default: the last 2 days
DEFAULT_DEPENDENCY_LOOKBACK_MS = 86_400_000
DEFAULT_LIMIT, MAX_LIMIT = 100, 1500
INT64_MAX = 2**63 - 1
# Span times are int64 nanoseconds: the latest time a parameter in µs or ms may name.
MAX_TIME_US, MAX_TIME_MS = INT64_MAX // 1000, INT64_MAX // 10**6
SPAN_KINDS = {name: kind for kind, name in SPAN_KIND_TAGS.items()} | {"unspecified": SPAN_KIND_UNSPECIFIED}
_TRACE_ID = re.compile(r"^[0-9a-fA-F]{1,32}$")
_FRACTION = re.compile(r"(\.\d{6})\d+")


class BadParameter(ValueError):
    pass


def _v1_envelope(data: Any, status: int = 200, error: str = "") -> JsonResponse:
    total = len(data) if isinstance(data, list) else 0
    errors = [{"code": status, "msg": error}] if error else None
    body = {"data": data, "total": total, "limit": 0, "offset": 0, "errors": errors}
    return JsonResponse(body, status=status, safe=False)


def _v3_error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": {"httpCode": status, "message": message}}, status=status)


def jaeger_view(version: int) -> Callable:
    """GET only, read scope, BadParameter answered as Jaeger answers a bad request, and an
    answer past the span limit as a 503."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                return view(request, *args, **kwargs)
            except BadParameter as exc:
                return _v1_envelope(None, 400, str(exc)) if version == 1 else _v3_error(400, str(exc))
            except queries.AnswerTooLarge as exc:
                response = _v1_envelope(None, 503, str(exc)) if version == 1 else _v3_error(503, str(exc))
                response["Retry-After"] = str(RETRY_AFTER_SECONDS)
                return response

        return require_GET(require_scope("read")(wrapped))

    return decorator


def _trace_id(raw: str) -> str:
    if not _TRACE_ID.match(raw):
        raise BadParameter(f"traceID {raw[:64]!r} is not a hex trace id")
    return raw.lower().rjust(32, "0")


def int_param(
    request: HttpRequest, name: str, default: int | None = None, low: int = -INT64_MAX, high: int = INT64_MAX
) -> int | None:
    """The integer parameter `name`, `default` when absent; raise BadParameter unless it is an
    integer from `low` to `high`."""
    raw = request.GET.get(name, "").strip()
    if not raw:
        return default
    if not re.fullmatch(r"-?\d{1,19}", raw):
        raise BadParameter(f"{name} must be an integer, got {raw[:40]!r}")
    value = int(raw)
    if not low <= value <= high:
        raise BadParameter(f"{name} must be from {low} to {high}, got {raw}")
    return value


def duration_param(request: HttpRequest, name: str) -> int | None:
    raw = request.GET.get(name, "").strip()
    if not raw:
        return None
    try:
        return parse_go_duration(raw)
    except ValueError as exc:
        raise BadParameter(f"{name}: {exc}") from None


def span_kind_param(request: HttpRequest, name: str) -> int | None:
    raw = request.GET.get(name, "").strip().lower()
    if not raw:
        return None
    if raw not in SPAN_KINDS:
        raise BadParameter(f"{name} must be one of {', '.join(sorted(SPAN_KINDS))}")
    return SPAN_KINDS[raw]


def _limit(value: int | None) -> int:
    if value is None or value == 0:
        return DEFAULT_LIMIT
    if value < 0:
        raise BadParameter("limit must not be negative")
    return min(value, MAX_LIMIT)


def tags_param(request: HttpRequest, json_name: str, pair_name: str | None) -> dict[str, str]:
    tags: dict[str, str] = {}
    raw = request.GET.get(json_name, "").strip()
    if raw:
        try:
            decoded = json.loads(raw)
        except (json.JSONDecodeError, RecursionError):
            raise BadParameter(f"{json_name} must be a JSON object of strings") from None
        if not isinstance(decoded, dict) or not all(isinstance(v, str) for v in decoded.values()):
            raise BadParameter(f"{json_name} must be a JSON object of strings")
        tags.update(decoded)
    for pair in request.GET.getlist(pair_name) if pair_name else []:
        key, sep, value = pair.partition(":")
        if not sep or not key:
            raise BadParameter(f"{pair_name} must be key:value, got {pair[:64]!r}")
        tags[key] = value
    return tags


def _operation_items(service: str, kind: int | None, access: NamespaceAccess) -> list[dict[str, str]]:
    return [
        {"name": name, "spanKind": SPAN_KIND_TAGS.get(k, "")}
        for name, k in queries.operations(service, kind, access=access)
    ]


# --- v1 --------------------------------------------------------------------------------------


@jaeger_view(1)
def services(request: HttpRequest) -> HttpResponse:
    return _v1_envelope(queries.services(access=request_access(request)))


@jaeger_view(1)
def service_operations(request: HttpRequest, service: str) -> HttpResponse:
    return _v1_envelope(sorted({name for name, _ in queries.operations(service, access=request_access(request))}))


@jaeger_view(1)
def operations(request: HttpRequest) -> HttpResponse:
    return _v1_envelope(
        _operation_items(request.GET.get("service", ""), span_kind_param(request, "spanKind"), request_access(request))
    )


@gzip_page  # a 10,000-span trace is megabytes of JSON
@jaeger_view(1)
def traces(request: HttpRequest) -> HttpResponse:
    """Search, or fetch the traces named by `traceID` parameters."""
    access = request_access(request)
    wanted = [_trace_id(raw) for raw in request.GET.getlist("traceID")]
    if not wanted:
        now_us = int(time.time() * 1e6)
        end_us = int_param(request, "end", now_us, 0, MAX_TIME_US)
        start_us = int_param(request, "start", max((end_us or 0) - DEFAULT_LOOKBACK_NS // 1000, 0), 0, MAX_TIME_US)
        query = queries.TraceQuery(
            start_min_ns=(start_us or 0) * 1000,
            start_max_ns=(end_us or now_us) * 1000,
            service=request.GET.get("service", ""),
            operation=request.GET.get("operation", ""),
            span_kind=span_kind_param(request, "spanKind"),
            tags=tags_param(request, "tags", "tag"),
            duration_min_ns=duration_param(request, "minDuration"),
            duration_max_ns=duration_param(request, "maxDuration"),
            limit=_limit(int_param(request, "limit")),
        )
        wanted = queries.find_trace_ids(query, access=access)
    found = queries.load_traces(wanted, access=access)
    return _v1_envelope([jaeger_trace(*found[t]) for t in wanted if t in found])


@gzip_page  # a 10,000-span trace is megabytes of JSON
@jaeger_view(1)
def trace(request: HttpRequest, trace_id: str) -> HttpResponse:
    """One trace; `raw=true` shows the spans as stored, else exact duplicates are dropped as
    Jaeger's adjusters drop them."""
    wanted = _trace_id(trace_id)
    found = queries.load_traces([wanted], access=request_access(request)).get(wanted)
    if found is None:
        return _v1_envelope(None, 404, "trace not found")
    spans, resources = found
    if request.GET.get("raw", "").lower() != "true":
        spans = deduplicate(spans)
    return _v1_envelope([jaeger_trace(spans, resources)])


@jaeger_view(1)
def dependency_links(request: HttpRequest) -> HttpResponse:
    """The links between services over `lookback` ms before `endTs` (ms), from the dependency
    rollups; with `service`, only the links with that service at one end."""
    end_ms = int_param(request, "endTs", int(time.time() * 1000), 0, MAX_TIME_MS) or 0
    lookback_ms = int_param(request, "lookback", DEFAULT_DEPENDENCY_LOOKBACK_MS, 0, MAX_TIME_MS) or 0
    links = queries.dependency_links(
        max(end_ms - lookback_ms, 0) / 1000, end_ms / 1000, access=request_access(request),
        service=request.GET.get("service", ""),
    )
    return _v1_envelope(dependencies(links))


# --- v3 --------------------------------------------------------------------------------------


def _rfc3339(request: HttpRequest, name: str) -> int:
    raw = request.GET.get(name, "").strip()
    if not raw:
        raise BadParameter(f"{name} is required (RFC 3339)")
    try:
        moment = datetime.fromisoformat(_FRACTION.sub(r"\1", raw))
    except ValueError:
        raise BadParameter(f"{name} must be an RFC 3339 time, got {raw[:64]!r}") from None
    if moment.tzinfo is None:
        raise BadParameter(f"{name} must carry a time zone (Z or ±hh:mm)")
    try:
        nanoseconds = int(moment.timestamp()) * 10**9 + moment.microsecond * 1000
    except (OverflowError, ValueError):
        nanoseconds = -1
    if not 0 <= nanoseconds <= INT64_MAX:
        raise BadParameter(f"{name} must be from 1970 to 2262, got {raw[:64]!r}")
    return nanoseconds


def _v3_query(request: HttpRequest) -> queries.TraceQuery:
    return queries.TraceQuery(
        start_min_ns=_rfc3339(request, "query.startTimeMin"),
        start_max_ns=_rfc3339(request, "query.startTimeMax"),
        service=request.GET.get("query.serviceName", ""),
        operation=request.GET.get("query.operationName", ""),
        tags=tags_param(request, "query.attributes", None),
        duration_min_ns=duration_param(request, "query.durationMin"),
        duration_max_ns=duration_param(request, "query.durationMax"),
        limit=_limit(int_param(request, "query.searchDepth") or int_param(request, "query.numTraces")),
    )


@jaeger_view(3)
def v3_services(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"services": queries.services(access=request_access(request))})


@jaeger_view(3)
def v3_operations(request: HttpRequest) -> HttpResponse:
    return JsonResponse(
        {
            "operations": _operation_items(
                request.GET.get("service", ""), span_kind_param(request, "spanKind"), request_access(request)
            )
        }
    )


def _v3_traces(trace_ids: list[str], access: NamespaceAccess) -> HttpResponse:
    found = queries.load_traces(trace_ids, access=access)
    if not found:
        return _v3_error(404, "trace not found" if len(trace_ids) == 1 else "no trace matches")
    spans, resources = [], {}
    for trace_id in trace_ids:
        if trace_id in found:
            spans += found[trace_id][0]
            resources.update(found[trace_id][1])
    return JsonResponse({"result": otlp_json(spans, resources)})


@gzip_page
@jaeger_view(3)
def v3_traces(request: HttpRequest) -> HttpResponse:
    access = request_access(request)
    return _v3_traces(queries.find_trace_ids(_v3_query(request), access=access), access)


@gzip_page
@jaeger_view(3)
def v3_trace(request: HttpRequest, trace_id: str) -> HttpResponse:
    return _v3_traces([_trace_id(trace_id)], request_access(request))


@jaeger_view(3)
def v3_trace_summaries(request: HttpRequest) -> HttpResponse:
    access = request_access(request)
    ids = queries.find_trace_ids(_v3_query(request), access=access)
    return JsonResponse({"summaries": queries.summaries(ids, access=access)})
