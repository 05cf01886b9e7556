"""The write paths of the span store: one transaction per export, a few bulk statements.

On PostgreSQL spans go in with COPY (psycopg 3) into day partitions; on SQLite with multi-row
INSERTs. Live subscribers hear of the touched traces after the transaction commits.
"""

import json
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction

from meshview.core.metrics import INGESTED
from meshview.graph.live import signal_change
from meshview.live.broadcast import TRACES_GROUP, publish_after_commit
from meshview.traces import queries
from meshview.traces.decode import DecodedExport
from meshview.traces.jaeger import SPAN_KIND_TAGS, attribute_string
from meshview.traces.model import STATUS_ERROR, STATUS_OK, Resource, Span
from meshview.traces.models import Operation
from meshview.traces.models import Resource as ResourceRow

SPAN_COLUMNS = (
    "trace_id",
    "span_id",
    "parent_span_id",
    "trace_state",
    "name",
    "kind",
    "start_ns",
    "end_ns",
    "duration_ns",
    "status_code",
    "status_message",
    "service_name",
    "resource_key",
    "scope_name",
    "scope_version",
    "scope_attributes",
    "attributes",
    "events",
    "links",
    "flags",
    "dropped_attributes_count",
    "dropped_events_count",
    "dropped_links_count",
    "search_tags",
)
DAY_NS = 86_400 * 10**9
_ROWS_PER_INSERT = max(1, 30000 // len(SPAN_COLUMNS))
_known_partitions: set[int] = set()


def search_tags(span: Span, resource: Resource | None) -> dict[str, list[str]]:
    """Every key the span, its resource, scope, events and links carry, with the string forms
    of its values (Jaeger compares tags as strings), plus the tags Jaeger derives."""
    tags: dict[str, list[str]] = {}

    def add(key: str, value: object) -> None:
        text = attribute_string(value)
        values = tags.setdefault(key, [])
        if text not in values:
            values.append(text)

    sources = [span.attributes, span.scope_attributes]
    if resource is not None:
        sources.append(resource.attributes)
    sources += [event["attributes"] for event in span.events]
    sources += [link["attributes"] for link in span.links]
    for attributes in sources:
        for key, value in attributes.items():
            add(key, value)
    if span.kind in SPAN_KIND_TAGS:
        add("span.kind", SPAN_KIND_TAGS[span.kind])
    if span.status_code == STATUS_ERROR:
        add("error", True)
        add("otel.status_code", "ERROR")
    elif span.status_code == STATUS_OK:
        add("otel.status_code", "OK")
    if span.scope_name:
        add("otel.scope.name", span.scope_name)
    if span.scope_version:
        add("otel.scope.version", span.scope_version)
    return tags


def _row(span: Span, resources: dict[str, Resource]) -> tuple:
    dumps = json.dumps
    return (
        span.trace_id,
        span.span_id,
        span.parent_span_id,
        span.trace_state,
        span.name,
        span.kind,
        span.start_ns,
        span.end_ns,
        span.end_ns - span.start_ns,
        span.status_code,
        span.status_message,
        span.service_name,
        span.resource_key,
        span.scope_name,
        span.scope_version,
        dumps(span.scope_attributes),
        dumps(span.attributes),
        dumps(span.events),
        dumps(span.links),
        span.flags,
        span.dropped_attributes_count,
        span.dropped_events_count,
        span.dropped_links_count,
        dumps(search_tags(span, resources.get(span.resource_key))),
    )


def span_rows(export: DecodedExport) -> list[tuple]:
    """Return the traces_span rows (values in SPAN_COLUMNS order) for an export's spans."""
    resources = export.resources
    return [_row(span, resources) for span in export.spans]


def store_spans(export: DecodedExport, signal: str = "otlp") -> None:
    """Write an export's resources, operations and spans in one transaction, then announce the
    touched traces to live subscribers. Raises django.db.DatabaseError when storage fails, in
    which case nothing was written."""
    spans = export.spans
    with transaction.atomic():
        if spans:
            ResourceRow.objects.bulk_create(
                [
                    ResourceRow(key=r.key, service_name=r.service_name, attributes=r.attributes)
                    for r in export.resources.values()
                ],
                ignore_conflicts=True,
            )
            operations = sorted({(s.service_name, s.name, s.kind) for s in spans})
            Operation.objects.bulk_create(
                [Operation(service_name=s, name=n, kind=k) for s, n, k in operations], ignore_conflicts=True
            )
            rows = span_rows(export)
            if connection.vendor == "postgresql":
                _ensure_partitions({span.start_ns // DAY_NS for span in spans})
                _copy(rows)
            else:
                _insert(rows)
            signal_change()  # spans are a graph telemetry source too
            touched = {s.trace_id for s in spans}
            publish_after_commit(
                TRACES_GROUP,
                "traces.delta",
                lambda: {"traces": queries.summaries(queries.recent_trace_ids(queries.LIVE_TRACES, touched))},
            )
    INGESTED.labels(signal, "accepted").inc(len(spans))
    INGESTED.labels(signal, "rejected").inc(export.rejected)


def _copy(rows: list[tuple]) -> None:
    raw = connection.connection  # the psycopg 3 connection, inside Django's transaction
    with raw.cursor() as cursor, cursor.copy(f"COPY traces_span ({', '.join(SPAN_COLUMNS)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _insert(rows: list[tuple]) -> None:
    placeholders = "(" + ", ".join(["%s"] * len(SPAN_COLUMNS)) + ")"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), _ROWS_PER_INSERT):
            chunk = rows[start : start + _ROWS_PER_INSERT]
            cursor.execute(
                f"INSERT INTO traces_span ({', '.join(SPAN_COLUMNS)}) VALUES "  # noqa: S608  (constant identifiers)
                + ", ".join([placeholders] * len(chunk)),
                [value for row in chunk for value in row],
            )


def _partition_name(day: int) -> str:
    return "traces_span_p" + datetime.fromtimestamp(day * 86_400, UTC).strftime("%Y%m%d")


def _ensure_partitions(days: Iterable[int]) -> None:
    """Create the day partitions spans are about to land in (PostgreSQL). A day whose rows are
    already in the default partition stays there: creating it would fail, and it need not exist."""
    missing = set(days) - _known_partitions
    if not missing:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'traces_span'"
        )
        existing = {row[0] for row in cursor.fetchall()}
        for day in sorted(missing):
            name = _partition_name(day)
            if name not in existing:
                cursor.execute("SAVEPOINT partition_create")
                try:
                    cursor.execute(
                        f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF traces_span "
                        f"FOR VALUES FROM ({day * DAY_NS}) TO ({(day + 1) * DAY_NS})"
                    )
                    cursor.execute("RELEASE SAVEPOINT partition_create")
                except Exception:
                    cursor.execute("ROLLBACK TO SAVEPOINT partition_create")
                    continue
            _known_partitions.add(day)


def prepare_partitions(now: float | None = None, days_ahead: int = 2) -> None:
    """Create today's and the next days' partitions ahead of the spans (PostgreSQL; beat)."""
    if connection.vendor != "postgresql":
        return
    today = int((time.time() if now is None else now) // 86_400)
    with transaction.atomic():
        _ensure_partitions(range(today, today + days_ahead + 1))


def delete_expired_spans(now: float | None = None) -> int:
    """Drop the spans older than MESHVIEW_TRACE_RETENTION (whole day partitions on PostgreSQL);
    return how many day partitions or rows went."""
    now = time.time() if now is None else now
    cutoff = datetime.fromtimestamp(now, UTC) - timedelta(seconds=settings.MESHVIEW_TRACE_RETENTION_SECONDS)
    cutoff_ns = int(cutoff.timestamp()) * 10**9
    removed = 0
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'traces_span' "
                "AND c.relname LIKE 'traces_span_p%%'"
            )
            for (name,) in cursor.fetchall():
                day_end = datetime.strptime(name[len("traces_span_p") :], "%Y%m%d").replace(tzinfo=UTC) + timedelta(
                    days=1
                )
                if day_end <= cutoff:
                    cursor.execute(f"DROP TABLE {name}")
                    _known_partitions.discard(int(day_end.timestamp()) // 86_400 - 1)
                    removed += 1
            cursor.execute("DELETE FROM traces_span_default WHERE start_ns < %s", [cutoff_ns])
        else:
            cursor.execute("DELETE FROM traces_span WHERE start_ns < %s", [cutoff_ns])
        removed += cursor.rowcount
    return removed
