"""The summary store: what a Jaeger trace summary says of each trace, kept as its spans are
stored, so that a summary reads a few small rows whatever the trace's size.

- `traces_trace` (`Trace`): a trace's earliest start, latest start and latest end, and how
  many of its spans name a parent that is not stored (orphans);
- `traces_trace_resource` (`TraceResource`): per resource of the trace, its spans, its error
  spans and its earliest span without a parent. Per resource, because a caller's access is per
  namespace and a summary counts errors and names the root operation of readable spans only;
- `traces_missing_parent` (`MissingParent`): the parent span ids that stored spans name and no
  stored span of their trace has, with how many spans name each. When such a parent arrives,
  its row goes and its trace's orphan count goes down by as many.

Concurrency: the transaction that stores an export's spans first adds their times to their
traces' rows (`add_times`), which creates or updates those rows and so keeps them locked until
it ends, on PostgreSQL in trace id order (no two exports wait for each other in a cycle).
Two exports of one trace therefore take their turns from there on: whichever locks second
waits for the first to commit, and its statements after the lock (the look-up of parents in
the span store, the missing parents read here) see what the first stored. A child and its
parent stored at once by two processes are so counted right: the second finds the first's
parent stored, or the first's child waiting for it. SQLite's single writer gives the same
order. Every span of an export adds its times, stored before or not: an exact duplicate's are
those of the span stored.

`add_spans` then counts the spans the export really stored (a retried export adds nothing
twice), in a few statements whatever the number of spans.

Retention (`forget_before`, then `rebuild`) deletes the rows of the traces with spans about to
go and sums again, from their spans left, those it cuts. On PostgreSQL it first locks those
traces' rows in trace id order, before it touches the spans: an export of such a trace either
commits first (and retention then sees it cut) or waits and finds its rows gone and the spans
deleted. `rebuild` also fills the store from the spans stored before it existed (migration
traces/0004).
"""

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence

from django.db import connection

from meshview.core import bulk
from meshview.traces.model import STATUS_ERROR, Span

SpanId = tuple[str, str]  # (trace id, span id)
_CHUNK = 500  # values per IN (...) list
_TRACE_COLUMNS = ("trace_id", "start_ns", "last_start_ns", "end_ns", "orphan_count")
_RESOURCE_COLUMNS = ("trace_id", "service_name", "resource_key", "span_count", "error_count", "root_start_ns",
                     "root_name")
_MISSING_COLUMNS = ("trace_id", "parent_span_id", "span_count")
# An export's root replaces the stored one when it started earlier (or at once, with a name
# that sorts first): the root of a trace is its earliest span without a parent.
_EARLIER_ROOT = (
    "traces_trace_resource.root_start_ns IS NULL OR (excluded.root_start_ns, excluded.root_name) "
    "< (traces_trace_resource.root_start_ns, traces_trace_resource.root_name)"
)


def _chunks(items: Sequence, size: int = _CHUNK) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def add_times(spans: Iterable[Span]) -> None:
    """Add the starts and ends of `spans` to their traces' rows, creating the rows of new
    traces; the rows stay locked until the transaction ends. Run first in the transaction that
    stores `spans`, before anything there reads the span store."""
    times: dict[str, list[int]] = {}
    for span in spans:
        found = times.get(span.trace_id)
        if found is None:
            times[span.trace_id] = [span.start_ns, span.start_ns, span.end_ns]
            continue
        if span.start_ns < found[0]:
            found[0] = span.start_ns
        elif span.start_ns > found[1]:
            found[1] = span.start_ns
        if span.end_ns > found[2]:
            found[2] = span.end_ns
    least, greatest = ("LEAST", "GREATEST") if connection.vendor == "postgresql" else ("MIN", "MAX")
    bulk.insert_rows(
        "traces_trace",
        _TRACE_COLUMNS,
        [(trace_id, first, last, end, 0) for trace_id, (first, last, end) in sorted(times.items())],
        f"ON CONFLICT (trace_id) DO UPDATE SET start_ns = {least}(traces_trace.start_ns, excluded.start_ns), "
        f"last_start_ns = {greatest}(traces_trace.last_start_ns, excluded.last_start_ns), "
        f"end_ns = {greatest}(traces_trace.end_ns, excluded.end_ns)",
        ordered_by=("trace_id",),
    )


def add_spans(spans: Sequence[Span], orphans: Iterable[SpanId]) -> None:
    """Count newly stored `spans` in their traces' summaries; `orphans` holds the (trace id,
    parent span id) of each of them whose parent is not stored. Run after `add_times` of
    their export, in the same transaction."""
    if not spans:
        return
    resources: dict[tuple[str, str, str], list] = {}
    for span in spans:
        key = (span.trace_id, span.service_name, span.resource_key)
        found = resources.get(key)
        if found is None:
            found = resources[key] = [0, 0, None, ""]
        found[0] += 1
        if span.status_code == STATUS_ERROR:
            found[1] += 1
        if not span.parent_span_id and (found[2] is None or (span.start_ns, span.name) < (found[2], found[3])):
            found[2], found[3] = span.start_ns, span.name
    bulk.insert_rows(
        "traces_trace_resource",
        _RESOURCE_COLUMNS,
        [(*key, *sums) for key, sums in sorted(resources.items())],
        "ON CONFLICT (trace_id, service_name, resource_key) DO UPDATE SET "
        "span_count = traces_trace_resource.span_count + excluded.span_count, "
        "error_count = traces_trace_resource.error_count + excluded.error_count, "
        f"root_start_ns = CASE WHEN {_EARLIER_ROOT} THEN excluded.root_start_ns "
        "ELSE traces_trace_resource.root_start_ns END, "
        f"root_name = CASE WHEN {_EARLIER_ROOT} THEN excluded.root_name ELSE traces_trace_resource.root_name END",
    )
    waiting = Counter(orphans)
    orphan_counts: Counter[str] = Counter()
    for (trace_id, _), count in waiting.items():
        orphan_counts[trace_id] += count
    for trace_id, count in _take_missing({(span.trace_id, span.span_id) for span in spans}):
        orphan_counts[trace_id] -= count
    bulk.insert_rows(
        "traces_missing_parent",
        _MISSING_COLUMNS,
        [(trace_id, parent, count) for (trace_id, parent), count in sorted(waiting.items())],
        "ON CONFLICT (trace_id, parent_span_id) DO UPDATE SET "
        "span_count = traces_missing_parent.span_count + excluded.span_count",
    )
    changed = [(trace_id, count) for trace_id, count in sorted(orphan_counts.items()) if count]
    with connection.cursor() as cursor:
        for chunk in _chunks(changed):  # one statement per chunk, not per trace
            cursor.execute(
                "UPDATE traces_trace SET orphan_count = orphan_count + CASE trace_id "  # noqa: S608
                f"{' '.join(['WHEN %s THEN %s'] * len(chunk))} END "
                f"WHERE trace_id IN ({', '.join(['%s'] * len(chunk))})",
                [*(value for pair in chunk for value in pair), *(trace_id for trace_id, _ in chunk)],
            )


def _take_missing(arrived: set[SpanId]) -> list[tuple[str, int]]:
    """Delete the missing parents that spans which `arrived` are; return their (trace id,
    spans that named them)."""
    found: list[tuple[str, str, int]] = []
    with connection.cursor() as cursor:
        for chunk in _chunks(sorted({trace_id for trace_id, _ in arrived})):
            cursor.execute(
                "SELECT trace_id, parent_span_id, span_count FROM traces_missing_parent "  # noqa: S608
                f"WHERE trace_id IN ({', '.join(['%s'] * len(chunk))})",
                list(chunk),
            )
            found += [row for row in cursor.fetchall() if (row[0], row[1]) in arrived]
        for chunk in _chunks(found):
            cursor.execute(
                "DELETE FROM traces_missing_parent WHERE (trace_id, parent_span_id) IN "  # noqa: S608
                f"(VALUES {', '.join(['(%s, %s)'] * len(chunk))})",
                [value for trace_id, parent, _ in chunk for value in (trace_id, parent)],
            )
    return [(trace_id, count) for trace_id, _, count in found]


def forget_before(start_ns: int) -> list[str]:
    """Delete the summary rows of every trace with a span that started before `start_ns`, as
    retention is about to delete those spans; return the ids of those traces with a span left
    (started at `start_ns` or later), for `rebuild` once the spans are deleted. On PostgreSQL
    the traces' rows are locked first, in trace id order, as ingest locks them."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT COUNT(*) FROM (SELECT 1 FROM traces_trace WHERE start_ns < %s ORDER BY trace_id FOR UPDATE) "
                "AS expiring",
                [start_ns],
            )
        cursor.execute("SELECT trace_id FROM traces_trace WHERE start_ns < %s AND last_start_ns >= %s",
                       [start_ns, start_ns])
        cut = sorted(row[0] for row in cursor.fetchall())
        for table in ("traces_trace_resource", "traces_missing_parent"):
            cursor.execute(
                f"DELETE FROM {table} WHERE trace_id IN (SELECT trace_id FROM traces_trace WHERE start_ns < %s)",  # noqa: S608
                [start_ns],
            )
        cursor.execute("DELETE FROM traces_trace WHERE start_ns < %s", [start_ns])
    return cut


def rebuild(trace_ids: Sequence[str] | None = None) -> None:
    """Write the summary rows of the traces `trace_ids` (of every stored trace when None) from
    their stored spans, in a few statements. The traces must have no summary rows."""
    if connection.vendor == "postgresql":
        start = "lpad(CAST(s.start_ns AS TEXT), 20, '0')"
    else:
        start = "printf('%%020d', s.start_ns)"
    chunks: Iterable[Sequence[str] | None] = [None] if trace_ids is None else _chunks(trace_ids)
    with connection.cursor() as cursor:
        for chunk in chunks:
            where = "TRUE" if chunk is None else f"s.trace_id IN ({', '.join(['%s'] * len(chunk))})"
            params = [] if chunk is None else list(chunk)
            # The earliest root of each resource's spans as one string that sorts by start (20
            # digits: a signed 64-bit count has at most 19), then by operation name.
            cursor.execute(
                f"INSERT INTO traces_trace_resource ({', '.join(_RESOURCE_COLUMNS)}) "  # noqa: S608
                "SELECT s.trace_id, s.service_name, s.resource_key, COUNT(*), "
                f"SUM(CASE WHEN s.status_code = {STATUS_ERROR} THEN 1 ELSE 0 END), "
                "MIN(CASE WHEN s.parent_span_id = '' THEN s.start_ns END), "
                f"COALESCE(SUBSTR(MIN(CASE WHEN s.parent_span_id = '' THEN {start} || s.name END), 21), '') "
                f"FROM traces_span s WHERE {where} GROUP BY s.trace_id, s.service_name, s.resource_key",
                params,
            )
            cursor.execute(
                f"INSERT INTO traces_missing_parent ({', '.join(_MISSING_COLUMNS)}) "  # noqa: S608
                "SELECT s.trace_id, s.parent_span_id, COUNT(*) FROM traces_span s "
                f"WHERE {where} AND s.parent_span_id <> '' AND NOT EXISTS (SELECT 1 FROM traces_span p "
                "WHERE p.trace_id = s.trace_id AND p.span_id = s.parent_span_id) "
                "GROUP BY s.trace_id, s.parent_span_id",
                params,
            )
            cursor.execute(
                f"INSERT INTO traces_trace ({', '.join(_TRACE_COLUMNS)}) "  # noqa: S608
                "SELECT s.trace_id, MIN(s.start_ns), MAX(s.start_ns), MAX(s.end_ns), "
                "COALESCE((SELECT SUM(m.span_count) FROM traces_missing_parent m WHERE m.trace_id = s.trace_id), 0) "
                f"FROM traces_span s WHERE {where} GROUP BY s.trace_id",
                params,
            )
