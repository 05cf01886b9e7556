"""Reading the span store: trace search with Jaeger's semantics, traces by id, summaries,
services, operations and service dependencies."""

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Q

from meshview.core.access import NamespaceAccess
from meshview.mesh import rollups
from meshview.traces.model import Resource, Span
from meshview.traces.models import Operation
from meshview.traces.models import Resource as ResourceRow
from meshview.traces.models import Span as SpanRow
from meshview.traces.visibility import HIDDEN_SPAN_NAME, readable_resources_sql, readable_spans_sql, visible_trace

Trace = tuple[list[Span], dict[str, Resource]]
LIVE_TRACES = 20  # traces in a live snapshot, and at most per live update
# Spans a search reads in its first step along the start-time index (see _newest_trace_ids).
_SCAN_STEP = 2000


@dataclass
class TraceQuery:
    """A trace matches when one of its spans satisfies every given condition."""

    start_min_ns: int
    start_max_ns: int
    service: str = ""
    operation: str = ""
    span_kind: int | None = None
    tags: dict[str, str] = field(default_factory=dict)
    duration_min_ns: int | None = None
    duration_max_ns: int | None = None
    limit: int = 100


def _json_path(key: str) -> str:
    return '$."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _tag_match(tags: dict[str, str], table: str) -> tuple[str, list[Any]]:
    """An SQL condition (and its parameters) true when a span row of `table` has every tag."""
    if connection.vendor == "postgresql":
        return f"{table}.search_tags @> %s::jsonb", [json.dumps({key: [value] for key, value in tags.items()})]
    sql, params = [], []
    for key, value in tags.items():
        sql.append(f"EXISTS (SELECT 1 FROM json_each({table}.search_tags, %s) WHERE value = %s)")  # noqa: S608
        params += [_json_path(key), value]
    return " AND ".join(sql), params


def find_trace_ids(query: TraceQuery, *, access: NamespaceAccess) -> list[str]:
    """Return the ids of matching traces, newest first, at most `query.limit`; only spans of
    namespaces `access` allows are searched."""
    readable, readable_params = readable_spans_sql(access)
    where = ["start_ns >= %s", "start_ns <= %s", readable]
    params: list[Any] = [query.start_min_ns, query.start_max_ns, *readable_params]
    for column, value in (("service_name", query.service), ("name", query.operation)):
        if value:
            where.append(f"{column} = %s")
            params.append(value)
    if query.span_kind is not None:
        where.append("kind = %s")
        params.append(query.span_kind)
    if query.duration_min_ns is not None:
        where.append("duration_ns >= %s")
        params.append(query.duration_min_ns)
    if query.duration_max_ns is not None:
        where.append("duration_ns <= %s")
        params.append(query.duration_max_ns)
    return _newest_trace_ids(where, params, query.tags, query.limit)


def _newest_trace_ids(where: list[str], params: list[Any], tags: dict[str, str], limit: int) -> list[str]:
    """Return at most `limit` ids of the traces with a span that meets `where` and has `tags`,
    ordered by their newest such span, newest first.

    Only the newest spans are read: a step at a time along the start-time index (each step four
    times the last), keeping each trace at its first span met, which is its newest, and
    stopping once `limit` traces are known. A search for common tags so reads a few thousand
    spans, not every span of the window. When the spans read show the tags to be rare, the
    rest of the window is searched on PostgreSQL through the tag index instead, where the
    rarest tags are the cheapest."""
    found: dict[str, None] = {}
    step = max(_SCAN_STEP, 4 * limit)
    match, match_params = _tag_match(tags, "newest") if tags else ("TRUE", [])
    columns = "trace_id, start_ns, search_tags" if tags else "trace_id, start_ns"
    oldest: int | None = None
    with connection.cursor() as cursor:
        while True:
            bound = ["start_ns <= %s"] if oldest is not None else []
            cursor.execute(
                f"SELECT trace_id, start_ns, {match} FROM (SELECT {columns} FROM traces_span "  # noqa: S608
                f"WHERE {' AND '.join(where + bound) or 'TRUE'} ORDER BY start_ns DESC LIMIT %s) "
                "AS newest",
                [*match_params, *params, *([oldest] if oldest is not None else []), step],
            )
            rows = cursor.fetchall()
            before = len(found)
            for trace_id, _, matches in rows:
                if matches and trace_id not in found:
                    found[trace_id] = None
                    if len(found) == limit:
                        return list(found)
            if len(rows) < step:
                return list(found)  # the window is read to its end
            # Spans as old as the oldest read may be more than those read: read them again.
            oldest = rows[-1][1]
            expected = (len(found) - before) * 4  # traces the next step would find at this rate
            if tags and connection.vendor == "postgresql" and expected < limit - len(found):
                break
            step *= 4
        # Rare tags: the traces not found yet, through the tag index, newest first.
        cursor.execute(
            f"SELECT trace_id, MAX(start_ns) AS latest FROM traces_span AS newest "  # noqa: S608
            f"WHERE {' AND '.join([*where, 'start_ns <= %s', match])} "
            "GROUP BY trace_id ORDER BY latest DESC LIMIT %s",
            [*params, oldest, *match_params, limit],
        )
        for trace_id, _ in cursor.fetchall():
            if trace_id not in found:
                found[trace_id] = None
                if len(found) == limit:
                    break
    return list(found)


def _span(row: SpanRow) -> Span:
    return Span(
        trace_id=row.trace_id,
        span_id=row.span_id,
        parent_span_id=row.parent_span_id,
        trace_state=row.trace_state,
        name=row.name,
        kind=row.kind,
        start_ns=row.start_ns,
        end_ns=row.end_ns,
        status_code=row.status_code,
        status_message=row.status_message,
        attributes=row.attributes,
        events=row.events,
        links=row.links,
        resource_key=row.resource_key,
        service_name=row.service_name,
        scope_name=row.scope_name,
        scope_version=row.scope_version,
        scope_attributes=row.scope_attributes,
        flags=row.flags,
        dropped_attributes_count=row.dropped_attributes_count,
        dropped_events_count=row.dropped_events_count,
        dropped_links_count=row.dropped_links_count,
    )


class AnswerTooLarge(Exception):
    """The traces asked for hold more spans than one answer may carry (MESHVIEW_MAX_SPANS_PER_ANSWER)."""


def load_traces(trace_ids: Sequence[str], *, access: NamespaceAccess) -> dict[str, Trace]:
    """Return every span of each trace (ordered by start) with the resources they reference, as
    `access` shows them (see meshview.traces.visibility); a trace id with no spans, or none
    `access` allows, is absent from the result. Raises AnswerTooLarge past
    MESHVIEW_MAX_SPANS_PER_ANSWER spans: a request must not take a process's memory."""
    if not trace_ids:
        return {}
    most = settings.MESHVIEW_MAX_SPANS_PER_ANSWER
    rows = SpanRow.objects.filter(trace_id__in=list(trace_ids)).defer("search_tags").order_by("start_ns", "id")
    spans = [_span(row) for row in rows[: most + 1]]
    if len(spans) > most:
        raise AnswerTooLarge(f"the traces asked for hold more than {most} spans: ask for fewer traces")
    keys = {span.resource_key for span in spans}
    resources = {r.key: Resource(attributes=r.attributes, key=r.key) for r in ResourceRow.objects.filter(key__in=keys)}
    traces: dict[str, Trace] = {}
    for span in spans:
        trace = traces.setdefault(span.trace_id, ([], {}))
        trace[0].append(span)
        if span.resource_key in resources:
            trace[1][span.resource_key] = resources[span.resource_key]
    if not access.restricted:
        return traces
    shown = {trace_id: visible_trace(*trace, access) for trace_id, trace in traces.items()}
    return {trace_id: trace for trace_id, trace in shown.items() if trace is not None}


def summaries(trace_ids: Sequence[str], *, access: NamespaceAccess) -> list[dict[str, Any]]:
    """Return Jaeger v3 trace summaries for `trace_ids` (in that order); a trace id with no
    stored span is absent. Errors and the root operation are told only of spans `access`
    allows; the callers give trace ids `access` may see. The root is the earliest span without
    a parent; a trace with none has an empty root service and operation.

    One SQL statement over the summaries kept at ingest (`meshview.traces.summary_store`): a
    row per trace and one per resource of it, whatever the number of its spans, so that a
    10,000-span trace costs what a 10-span one does (bench/span_traffic.py)."""
    if not trace_ids:
        return []
    ids = list(trace_ids)
    readable, readable_params = readable_spans_sql(access, "r.resource_key")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.trace_id, r.service_name, r.span_count, "  # noqa: S608
            f"CASE WHEN {readable} THEN r.error_count ELSE 0 END, r.root_start_ns, "
            f"CASE WHEN {readable} THEN r.root_name ELSE %s END, t.start_ns, t.end_ns, t.orphan_count "
            "FROM traces_trace_resource r JOIN traces_trace t ON t.trace_id = r.trace_id "
            f"WHERE r.trace_id IN ({', '.join(['%s'] * len(ids))}) ORDER BY r.trace_id, r.service_name",
            [*readable_params, *readable_params, HIDDEN_SPAN_NAME, *ids],
        )
        rows = cursor.fetchall()
    by_trace: dict[str, dict[str, Any]] = {}
    roots: dict[str, tuple[int, str]] = {}
    for trace_id, service, count, errors, root_start, root_name, first_start, last_end, orphans in rows:
        summary = by_trace.get(trace_id)
        if summary is None:
            summary = by_trace[trace_id] = {
                "traceId": trace_id,
                "rootServiceName": "",
                "rootOperationName": "",
                "minStartTimeUnixNano": str(first_start),
                "maxEndTimeUnixNano": str(last_end),
                "spanCount": 0,
                "errorSpanCount": 0,
                "orphanSpanCount": orphans,
                "services": [],
            }
        summary["spanCount"] += count
        summary["errorSpanCount"] += errors
        services = summary["services"]
        if services and services[-1]["name"] == service:  # another resource of the same service
            services[-1]["spanCount"] += count
            services[-1]["errorSpanCount"] += errors
        else:
            services.append({"name": service, "spanCount": count, "errorSpanCount": errors})
        # The first service in name order wins a tie, as in the services' list.
        if root_start is not None and (trace_id not in roots or (root_start, root_name) < roots[trace_id]):
            roots[trace_id] = (root_start, root_name)
            summary["rootServiceName"], summary["rootOperationName"] = service, root_name
    return [by_trace[trace_id] for trace_id in ids if trace_id in by_trace]


def services(*, access: NamespaceAccess) -> list[str]:
    """The names of the services with spans in namespaces `access` allows, sorted."""
    if not access.restricted:
        return sorted(set(Operation.objects.values_list("service_name", flat=True)))
    readable, params = readable_resources_sql(access)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT service_name FROM traces_resource WHERE {readable}", params)  # noqa: S608
        return sorted(name for (name,) in cursor.fetchall())


def operations(service: str = "", span_kind: int | None = None, *, access: NamespaceAccess) -> list[tuple[str, int]]:
    """(name, kind) pairs of the services `access` may see, sorted; all of those services when
    `service` is empty. A service name that also runs in a namespace `access` hides shows only
    the operations of its readable spans."""
    query = Operation.objects.all()
    shared: list[str] = []
    if access.restricted:
        readable = set(services(access=access))
        shared = sorted(readable & _services_in_hidden_namespaces(access))
        query = query.filter(service_name__in=sorted(readable - set(shared)))
    if service:
        query = query.filter(service_name=service)
        shared = [name for name in shared if name == service]
    if span_kind is not None:
        query = query.filter(kind=span_kind)
    found = set(query.values_list("name", "kind"))
    if shared:
        condition, params = readable_spans_sql(access)
        sql = (
            f"SELECT DISTINCT name, kind FROM traces_span WHERE service_name IN ({', '.join(['%s'] * len(shared))})"  # noqa: S608
            f" AND {condition}"
        )
        args: list[str | int] = [*shared, *params]
        if span_kind is not None:
            sql, args = f"{sql} AND kind = %s", [*args, span_kind]
        with connection.cursor() as cursor:
            cursor.execute(sql, args)
            found.update(cursor.fetchall())
    return sorted(found)


def _services_in_hidden_namespaces(access: NamespaceAccess) -> set[str]:
    """The names of the services with spans in a namespace `access` hides."""
    readable, params = readable_resources_sql(access)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT service_name FROM traces_resource WHERE NOT ({readable})", params)  # noqa: S608
        return {name for (name,) in cursor.fetchall()}


def dependency_links(
    start_s: float, end_s: float, *, access: NamespaceAccess, service: str = ""
) -> list[tuple[str, str, int]]:
    """(parent service, child service, calls) of parent and child spans in different services
    whose child ended in [start_s, end_s) (unix seconds, to the 10-second bucket), of which
    `access` allows one at least; only links with `service` at one end when it is given. Read
    from the dependency rollups (two queries, whatever the window)."""
    where = Q()
    if access.namespaces is not None:
        names = sorted(access.namespaces)
        where &= Q(parent_namespace__in=names) | Q(child_namespace__in=names)
    if service:
        where &= Q(parent=service) | Q(child=service)
    rows = rollups.read(rollups.DEPENDENCIES, start_s, end_s, where, dimensions=("parent", "child"))
    return sorted((parent, child, int(calls)) for parent, child, calls in rows)


def recent_trace_ids(limit: int, trace_ids: Iterable[str] = (), *, access: NamespaceAccess) -> list[str]:
    """The ids of the newest traces (or of `trace_ids`, newest first) with spans in namespaces
    `access` allows."""
    wanted = list(trace_ids)
    readable, params = readable_spans_sql(access)
    if not wanted:
        return _newest_trace_ids([readable], params, {}, limit)
    marks = ", ".join(["%s"] * len(wanted))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT trace_id, MAX(start_ns) AS newest FROM traces_span WHERE trace_id IN ({marks}) "  # noqa: S608
            f"AND {readable} GROUP BY trace_id ORDER BY newest DESC LIMIT %s",
            [*wanted, *params, limit],
        )
        return [trace_id for trace_id, _ in cursor.fetchall()]
