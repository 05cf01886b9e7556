"""The write paths of the span store: one transaction per export, a few bulk statements.

On PostgreSQL spans go in with COPY (psycopg 3) into day partitions, each row sent as soon as it
is built, so the server indexes the first rows while the last are made; on SQLite with
multi-row INSERTs. Either way a span already stored with the same content (an exporter's retry
of an export that was in fact stored) is skipped, and only the spans stored are paired into
requests (`meshview.traces.pairing`) and counted in their traces' summaries
(`meshview.traces.summary_store`). Live subscribers hear of the touched traces after the
transaction commits.
"""

import hashlib
import json
import time
from collections.abc import Iterable, Iterator, KeysView, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from django.conf import settings
from django.db import connection, transaction

from meshview.core import bulk
from meshview.core.access import EVERYTHING
from meshview.core.metrics import INGEST_REJECTED, INGESTED
from meshview.live.broadcast import TRACES_GROUP, publish_after_commit, signal_change
from meshview.traces import pairing, queries, summary_store
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
    "content_hash",
)
DAY_NS = 86_400 * 10**9
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


_quote = json.encoder.encode_basestring_ascii  # a JSON string, as json.dumps writes one


def _attribute_entries(key: str, value: Any) -> tuple[str, str]:
    """Return one attribute as the ``attributes`` column's JSON holds it (``"key": value``) and as
    the ``search_tags`` column's does (``"key": ["string form"]``), written as json.dumps writes."""
    key_text = _quote(key)
    kind = type(value)
    if kind is str:
        value_text = _quote(value)
        return f"{key_text}: {value_text}", f"{key_text}: [{value_text}]"
    value_text = str(value) if kind is int else json.dumps(value)
    return f"{key_text}: {value_text}", f"{key_text}: [{_quote(attribute_string(value))}]"


def span_rows(export: DecodedExport) -> Iterator[tuple]:
    """Yield the traces_span rows (values in SPAN_COLUMNS order) of an export's spans, in order.

    The JSON columns hold the text json.dumps writes of the span's dicts and lists and of
    ``search_tags()``, built with less work per span: spans of one export repeat attribute
    values, so each string or integer attribute is written once per export; and they share a
    resource, a scope and a few kinds and status codes, so the search tags that come from those
    are written once per combination and put after the span's own. A span with a key in both, or
    with events or links that carry attributes, has its search tags built whole."""
    resources = export.resources
    encode = json.dumps
    shared: dict[tuple, tuple[KeysView[str], str]] = {}
    written: dict[tuple[str, Any], tuple[str, str]] = {}
    for span in export.spans:
        attributes, events, links, scope_attributes = span.attributes, span.events, span.links, span.scope_attributes
        key = (
            span.resource_key,
            id(scope_attributes) if scope_attributes else 0,  # one dict per scope (decode.py)
            span.scope_name,
            span.scope_version,
            span.kind,
            span.status_code,
        )
        common = shared.get(key)
        if common is None:
            tags = search_tags(replace(span, attributes={}, events=[], links=[]), resources.get(span.resource_key))
            common = shared[key] = (tags.keys(), encode(tags)[1:-1])
        common_keys, common_text = common
        attribute_entries, tag_entries = [], []
        for item in attributes.items():
            # Only strings and integers are remembered: True == 1 == 1.0 would share an entry.
            if type(item[1]) is str or type(item[1]) is int:
                entries = written.get(item)
                if entries is None:
                    entries = written[item] = _attribute_entries(*item)
            else:
                entries = _attribute_entries(*item)
            attribute_entries.append(entries[0])
            tag_entries.append(entries[1])
        whole = not attributes.keys().isdisjoint(common_keys)
        for event_or_link in (*events, *links):
            whole = whole or bool(event_or_link["attributes"])
        if whole:
            tags_text = encode(search_tags(span, resources.get(span.resource_key)))
        else:
            if common_text:
                tag_entries.append(common_text)
            tags_text = "{" + ", ".join(tag_entries) + "}"
        row = (
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
                encode(scope_attributes) if scope_attributes else "{}",
                "{" + ", ".join(attribute_entries) + "}",
                encode(events) if events else "[]",
                encode(links) if links else "[]",
                span.flags,
                span.dropped_attributes_count,
                span.dropped_events_count,
                span.dropped_links_count,
                tags_text,
        )
        yield (*row, content_hash(row))


def content_hash(row: tuple) -> int:
    """A signed 64-bit BLAKE2b of a span row's own values (not those derived from others:
    duration, service name, search tags; trace id, span id and start are the unique key's own
    columns): equal for an exact duplicate only."""
    text = "\x1f".join(
        (row[2], row[3], row[4], str(row[5]), str(row[7]), str(row[9]), row[10], row[12], row[13], row[14], row[15],
         row[16], row[17], row[18], f"{row[19]} {row[20]} {row[21]} {row[22]}")
    )
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big", signed=True)


def refuse_expired(export: DecodedExport, signal: str, now: float | None = None) -> None:
    """Reject the spans of `export` that started before MESHVIEW_TRACE_RETENTION: out of range,
    they would only wait for the hourly clean-up."""
    cutoff_ns = int(((time.time() if now is None else now) - settings.MESHVIEW_TRACE_RETENTION_SECONDS) * 10**9)
    kept = []
    for index, span in enumerate(export.spans):
        if span.start_ns < cutoff_ns:
            export.reject(index, f"span {span.span_id} of trace {span.trace_id} is out of range: it started "
                                 "before the trace retention")
            INGEST_REJECTED.labels(signal, "out-of-retention").inc()
        else:
            kept.append(span)
    export.spans = kept


def store_spans(export: DecodedExport, signal: str = "otlp", now: float | None = None) -> int:
    """Write an export's resources and operations, then its new spans in one transaction, turn
    the new spans into requests and count them in their traces' summaries, then announce the
    touched traces to live subscribers; return how many spans were new. Raises
    django.db.DatabaseError when storage fails, in which case no span was written (the
    resources and operations, which say nothing on their own, may be).

    The resources and operations are committed first, on their own: concurrent exports of one
    service write the same rows, and inside the spans' transaction each would wait for the
    other's to end."""
    now = time.time() if now is None else now
    spans = export.spans
    INGESTED.labels(signal, "rejected").inc(export.rejected)
    if not spans:
        return 0
    with transaction.atomic():
        ResourceRow.objects.bulk_create(
            [ResourceRow(key=r.key, service_name=r.service_name, attributes=r.attributes)
             for r in export.resources.values()],
            ignore_conflicts=True,
        )
        Operation.objects.bulk_create(
            [Operation(service_name=s, name=n, kind=k) for s, n, k in sorted({(s.service_name, s.name, s.kind)
                                                                              for s in spans})],
            ignore_conflicts=True,
        )
    if connection.vendor == "postgresql":
        with transaction.atomic():
            summary_store.add_times(spans)  # first: it locks the traces' summaries
            _ensure_partitions({span.start_ns // DAY_NS for span in spans})
            new = _copy(spans, span_rows(export))
            _count(export, new, now)
    else:
        rows = list(span_rows(export))  # before the transaction, which holds SQLite's one write lock
        with transaction.atomic():
            summary_store.add_times(spans)
            new = _insert(spans, rows)
            _count(export, new, now)
    INGESTED.labels(signal, "accepted").inc(len(spans))
    return len(new)


def _count(export: DecodedExport, new: list[Span], now: float) -> None:
    """Turn the `new` spans into requests, count them in their traces' summaries, and announce
    them once the transaction commits."""
    orphans = pairing.pair_new_spans(new, export.resources, now)
    summary_store.add_spans(new, orphans)
    signal_change()  # spans are a graph telemetry source too
    touched = {s.trace_id for s in export.spans}
    publish_after_commit(
        TRACES_GROUP,
        "traces.delta",
        # For every reader: the sockets of restricted callers narrow it (live.consumers).
        lambda: {
            "traces": queries.summaries(
                queries.recent_trace_ids(queries.LIVE_TRACES, touched, access=EVERYTHING), access=EVERYTHING
            )
        },
    )


def settle_span_pairs(now: float | None = None) -> int:
    """Decide the pairing store's rows whose MESHVIEW_SPAN_PAIR_SECONDS have passed (see
    `pairing.settle`) and tell live graph viewers; return how many rows were decided. Run by beat."""
    with transaction.atomic():
        settled = pairing.settle(time.time() if now is None else now)
        if settled:
            signal_change()
    return settled


_COLUMNS = ", ".join(SPAN_COLUMNS)
_STORED = "ON CONFLICT DO NOTHING RETURNING trace_id, span_id, content_hash"


def _copy(spans: Sequence[Span], rows: Iterable[tuple]) -> list[Span]:
    """COPY the rows of `spans` (`rows`, in order) not stored yet into traces_span; return the
    spans stored. Stored spans are looked up first, so the rows go straight into the table;
    when another export of the same spans commits in between, the unique key refuses the COPY
    and the rows go through a temporary table and ON CONFLICT instead."""
    raw = connection.connection  # the psycopg 3 connection, inside Django's transaction
    new: list[Span] = []
    new_rows: list[tuple] = []
    with connection.wrap_database_errors, raw.cursor() as cursor:
        cursor.execute(
            "SELECT trace_id, span_id, content_hash FROM traces_span WHERE trace_id = ANY(%s) AND span_id = ANY(%s)",
            [sorted({span.trace_id for span in spans}), sorted({span.span_id for span in spans})],
        )
        known = set(cursor.fetchall())
        try:
            # In a savepoint, so the transaction goes on after a refusal.
            with raw.transaction(), cursor.copy(f"COPY traces_span ({_COLUMNS}) FROM STDIN") as copy:
                for span, row in zip(spans, rows, strict=True):
                    key = (row[0], row[1], row[-1])
                    if key not in known:
                        known.add(key)  # an export that repeats a span stores it once
                        copy.write_row(row)
                        new.append(span)
                        new_rows.append(row)
        except psycopg.errors.UniqueViolation:
            return _inserted(new, new_rows, bulk.insert_rows("traces_span", SPAN_COLUMNS, new_rows, _STORED))
    return new


def _insert(spans: Sequence[Span], rows: list[tuple]) -> list[Span]:
    """Insert the rows of `spans` (`rows`, in order) not stored yet; return the spans stored."""
    return _inserted(spans, rows, bulk.insert_rows("traces_span", SPAN_COLUMNS, rows, _STORED))


def _inserted(spans: Sequence[Span], rows: Sequence[tuple], stored: list[tuple]) -> list[Span]:
    """The `spans` whose rows (`rows`, in order) are among the (trace id, span id, content
    hash) of the rows `stored`; a span an export repeats counts once."""
    keys = set(stored)
    new = []
    for span, row in zip(spans, rows, strict=True):
        key = (row[0], row[1], row[-1])
        if key in keys:
            keys.discard(key)
            new.append(span)
    return new


def _partition_name(day: int) -> str:
    return "traces_span_p" + datetime.fromtimestamp(day * 86_400, UTC).strftime("%Y%m%d")


def _ensure_partitions(days: Iterable[int]) -> None:
    """Create the day partitions spans are about to land in (PostgreSQL). A day whose rows are
    already in the default partition stays there: creating it would fail, and it need not exist.

    The days found or made are remembered once the transaction commits: a partition created in
    a transaction that rolls back is gone again, and the spans of a day wrongly thought to have
    one would go to the default partition, which retention empties row by row."""
    missing = set(days) - _known_partitions
    if not missing:
        return
    ready: set[int] = set()
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
            ready.add(day)
    transaction.on_commit(lambda: _known_partitions.update(ready))


def prepare_partitions(now: float | None = None, days_ahead: int = 2) -> None:
    """Create today's and the next days' partitions ahead of the spans (PostgreSQL; beat)."""
    if connection.vendor != "postgresql":
        return
    today = int((time.time() if now is None else now) // 86_400)
    with transaction.atomic():
        _ensure_partitions(range(today, today + days_ahead + 1))


def delete_expired_spans(now: float | None = None) -> int:
    """Drop the spans older than MESHVIEW_TRACE_RETENTION (whole day partitions on PostgreSQL)
    and their traces' summaries (summed again from the spans left for a trace they were part
    of); return how many day partitions or rows went."""
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
            days = {int(datetime.strptime(name[len("traces_span_p") :], "%Y%m%d").replace(tzinfo=UTC).timestamp())
                    // 86_400 for (name,) in cursor.fetchall()}
            expired = sorted(day for day in days if (day + 1) * 86_400 <= cutoff.timestamp())
            # Every span older than the cutoff's day goes; of that day's, those in the default
            # partition only (a day is wholly in its partition or wholly in the default one).
            cutoff_day = cutoff_ns // DAY_NS
            cut = summary_store.forget_before(cutoff_day * DAY_NS if cutoff_day in days else cutoff_ns)
            for day in expired:
                cursor.execute(f"DROP TABLE {_partition_name(day)}")
                _known_partitions.discard(day)
                removed += 1
            cursor.execute("DELETE FROM traces_span_default WHERE start_ns < %s", [cutoff_ns])
        else:
            cut = summary_store.forget_before(cutoff_ns)
            cursor.execute("DELETE FROM traces_span WHERE start_ns < %s", [cutoff_ns])
        removed += cursor.rowcount
        summary_store.rebuild(cut)
    return removed
