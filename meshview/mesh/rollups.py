"""Traffic rollups in five tiers, 10 s -> 1 min -> 10 min -> 1 h -> 1 day: writing, rolling up,
reading, retention.

Three families of rollups share this: access-log traffic (`TRAFFIC`), the requests spans show
(`SPANS`) and Jaeger's service dependencies (`DEPENDENCIES`). Each family stores its keys (the
dimensions but the bucket: an edge and outcome) once, in a key table under an id hashed from
them (`key_id`), and has a table per tier with the same columns: `bucket`, `key_id` and the
measures, summed per bucket and key. Summing a window is then a GROUP BY over one integer; a
key's dimensions are looked up once per process.

- Ingest writes 10-second rows (`write`). A tier is complete before its watermark
  (`RollupWatermark.rolled_until`); a row that arrives later than that for an older bucket is
  added to the coarse tiers as well, so every tier always holds the same totals.
- The beat task (`roll_up`) sums the finer tier into the coarser one up to a little before now
  (`rollup_lag_seconds`), and moves the watermarks: the 10-second tier's to that moment.
- Every reader of traffic calls `read`: the coarsest complete tier covers as much of the window
  as its buckets fit exactly, finer tiers the ragged ends, all in one query that sums only the
  measures the reader asks for. A day's window reads about 24 hourly buckets, a week's about 7
  daily ones, plus the ragged ends. The process keeps the sums of the settled part of the
  last windows read, valid while the family's revision (`RollupRevision`, changed by late rows
  and by expiry) stands: a live window then reads only the time that entered or left it since.
  The beat task stores those of the live windows of Kiali's durations from an hour up
  (`keep_pasts`), so that a process that kept nothing of such a window starts from them.
- `delete_expired` keeps each tier's buckets until they ended a retention ago (and two minutes
  more), and a key while a row names it.
"""

import hashlib
import math
import secrets
import threading
import time
import zlib
from array import array
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from operator import add
from typing import Any, Literal

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Q

from meshview.core import bulk
from meshview.mesh.models import (
    DEPENDENCY_DIMENSIONS,
    DEPENDENCY_MEASURES,
    LATENCY_COLUMNS,
    ROLLUP_DIMENSIONS,
    ROLLUP_MEASURES,
    SPAN_ROLLUP_DIMENSIONS,
    SPAN_ROLLUP_MEASURES,
    DependencyKey,
    DependencyRollup,
    DependencyRollupDay,
    DependencyRollupHour,
    DependencyRollupMinute,
    DependencyRollupTenMinutes,
    RollupPast,
    RollupRevision,
    RollupWatermark,
    SpanKey,
    SpanRollup,
    SpanRollupDay,
    SpanRollupHour,
    SpanRollupMinute,
    SpanRollupTenMinutes,
    TrafficKey,
    TrafficRollup,
    TrafficRollupDay,
    TrafficRollupHour,
    TrafficRollupMinute,
    TrafficRollupTenMinutes,
)

RESOLUTIONS = (10, 60, 600, 3600, 86400)  # seconds per bucket of each tier, finest first
BUCKET_SECONDS = RESOLUTIONS[0]

Measures = Sequence[float]
Rows = Mapping[tuple, Measures]


@dataclass(frozen=True)
class Family:
    """Rollup tables of one kind: the key model, one model per tier (finest first), the
    dimensions (`bucket` first, then the key's) and the measures."""

    name: str
    keys: type[models.Model]
    tiers: tuple[type[models.Model], ...]
    dimensions: tuple[str, ...]
    measures: tuple[str, ...]

    @property
    def key_dimensions(self) -> tuple[str, ...]:
        return self.dimensions[1:]


TRAFFIC = Family(
    "traffic",
    TrafficKey,
    (TrafficRollup, TrafficRollupMinute, TrafficRollupTenMinutes, TrafficRollupHour, TrafficRollupDay),
    ROLLUP_DIMENSIONS,
    ROLLUP_MEASURES,
)
SPANS = Family(
    "spans",
    SpanKey,
    (SpanRollup, SpanRollupMinute, SpanRollupTenMinutes, SpanRollupHour, SpanRollupDay),
    SPAN_ROLLUP_DIMENSIONS,
    SPAN_ROLLUP_MEASURES,
)
DEPENDENCIES = Family(
    "dependencies",
    DependencyKey,
    (DependencyRollup, DependencyRollupMinute, DependencyRollupTenMinutes, DependencyRollupHour, DependencyRollupDay),
    DEPENDENCY_DIMENSIONS,
    DEPENDENCY_MEASURES,
)
FAMILIES = (TRAFFIC, SPANS, DEPENDENCIES)


def _ceil(seconds: int, resolution: int) -> int:
    return -(-seconds // resolution) * resolution


def bucket_of(seconds: float) -> int:
    """The start of the 10-second bucket holding `seconds` (unix time)."""
    return int(seconds) // BUCKET_SECONDS * BUCKET_SECONDS


def rollup_lag_seconds() -> int:
    """How long after a bucket ends it is rolled up: by then the access-log settle window and
    the span pairing window have both ended, so later rows are rare (and still counted)."""
    return max(settings.MESHVIEW_SETTLE_SECONDS, settings.MESHVIEW_SPAN_PAIR_SECONDS) + 30


def retention_seconds(resolution: int) -> int:
    """How long a tier is kept: its own setting, never longer than MESHVIEW_TRAFFIC_RETENTION."""
    own = {
        10: settings.MESHVIEW_TRAFFIC_RETENTION_10S_SECONDS,
        60: settings.MESHVIEW_TRAFFIC_RETENTION_1M_SECONDS,
        600: settings.MESHVIEW_TRAFFIC_RETENTION_10M_SECONDS,
        3600: settings.MESHVIEW_TRAFFIC_RETENTION_1H_SECONDS,
        86400: settings.MESHVIEW_TRAFFIC_RETENTION_1D_SECONDS,
    }[resolution]
    return min(own, settings.MESHVIEW_TRAFFIC_RETENTION_SECONDS)


def _watermarks(family: Family, lock: Literal["", "share", "update"] = "") -> dict[int, int]:
    """`rolled_until` of the family's tiers; locked until the transaction ends when asked
    (PostgreSQL; SQLite's writers take turns anyway)."""
    sql = "SELECT resolution, rolled_until FROM mesh_rollup_watermark WHERE family = %s"
    if lock and connection.vendor == "postgresql":
        sql += " FOR SHARE" if lock == "share" else " FOR UPDATE"
    with connection.cursor() as cursor:
        cursor.execute(sql, [family.name])
        found = dict(cursor.fetchall())
    return {resolution: found.get(resolution, 0) for resolution in RESOLUTIONS}


# How much longer than its retention a tier keeps a bucket: a live window as long as the
# retention (a day of 10-second rows, a week of minutes) can then move on by that much and still
# take out exactly the buckets that left it, as a viewer's next tick or a stored past does.
RETENTION_GRACE_SECONDS = 120


def _kept_from(resolution: int, now: float) -> int:
    """The first bucket of a tier that its retention keeps at `now`: each earlier one ended a
    retention (and the grace) ago or more, and may be deleted."""
    return max(0, int(now) - retention_seconds(resolution) - RETENTION_GRACE_SECONDS) // resolution * resolution


def key_id(dimensions: tuple) -> int:
    """The id of the key `dimensions` (a family's key dimensions, in order): the first eight
    bytes of their BLAKE2b hash, as a signed 64-bit integer. Every process and database gives
    the same dimensions the same id, so ids need no look-up when written and never go stale
    when read; n keys collide with odds of about n²/2⁶⁵ (10⁻⁸ for a million keys)."""
    # Length-prefixed, so no value can run into the next; numbers and booleans as integers.
    text = "".join(f"{len(v)}:{v}" if isinstance(v, str) else f"#{int(v)}" for v in dimensions)
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big", signed=True)


def _upsert(table: str, family: Family, rows: Mapping[tuple[int, int], Measures]) -> None:
    """Add `rows` (key: bucket and key id) to `table`, summing the measures of keys other
    batches wrote. Rows go in sorted, so concurrent writers lock them in the same order and
    cannot deadlock."""
    updates = ", ".join(f"{m} = {table}.{m} + excluded.{m}" for m in family.measures)
    bulk.insert_rows(
        table,
        ("bucket", "key_id", *family.measures),
        [(*key, *measures) for key, measures in sorted(rows.items())],
        f"ON CONFLICT (bucket, key_id) DO UPDATE SET {updates}",
        ordered_by=("bucket", "key_id"),
    )


def write(family: Family, rows: Rows) -> None:
    """Add `rows` (key: the family's dimensions, bucket first and 10-second aligned; value: the
    measures in order, the first counting at least one request or call) to the 10-second tier,
    and to each coarse tier already rolled up past their bucket; store keys not stored yet.
    Call it inside the ingest's transaction. Raises ValueError for a row of no request."""
    if not rows:
        return
    keys: dict[int, tuple] = {}
    by_id: dict[tuple[int, int], Measures] = {}
    for key, measures in rows.items():
        if measures[0] < 1:
            raise ValueError(f"a {family.name} rollup row counts no {family.measures[0]}: {key}")
        dimensions = key[1:]
        found = key_id(dimensions)
        keys[found] = dimensions
        by_id[(key[0], found)] = measures
    until = _watermarks(family, lock="share")
    # Sorted, as the rows: concurrent writers of the same new keys wait in one order.
    bulk.insert_rows(
        family.keys._meta.db_table,
        ("id", *family.key_dimensions),
        [(found, *dimensions) for found, dimensions in sorted(keys.items())],
        "ON CONFLICT (id) DO NOTHING",
        ordered_by=("id",),
    )
    _upsert(family.tiers[0]._meta.db_table, family, by_id)
    revised = False
    for tier, resolution in zip(family.tiers[1:], RESOLUTIONS[1:], strict=True):
        late: dict[tuple[int, int], list[float]] = {}
        for (bucket, found), measures in by_id.items():
            if bucket < until[resolution]:
                coarse = (bucket // resolution * resolution, found)
                total = late.get(coarse)
                if total is None:
                    late[coarse] = list(measures)
                else:
                    for i, value in enumerate(measures):
                        total[i] += value
        if late:
            _upsert(tier._meta.db_table, family, late)
            revised = True
    if revised or any(bucket < until[BUCKET_SECONDS] for bucket, _ in by_id):
        _revise(family)


def _revise(family: Family) -> None:
    """Give the family a new revision: rows of its settled past changed, so what readers kept
    of it is stale. Call it in the transaction that changes them."""
    RollupRevision.objects.filter(family=family.name).update(revision=secrets.randbits(63))


def roll_up(now: float) -> int:
    """Sum each family's finer tiers into the coarser ones up to `rollup_lag_seconds` before
    `now` and move the watermarks; return how many coarse rows were written or added to."""
    horizon = int(now) - rollup_lag_seconds()
    written = 0
    for family in FAMILIES:
        with transaction.atomic():
            until = _watermarks(family, lock="update")
            complete = horizon  # the finest tier is complete before the horizon
            for fine, (coarse, resolution) in zip(
                family.tiers, zip(family.tiers[1:], RESOLUTIONS[1:], strict=True), strict=False
            ):
                end = min(horizon, complete) // resolution * resolution
                start = until[resolution] or _first_bucket(fine, resolution, end)
                if start < end:
                    written += _roll(family, fine, coarse, resolution, start, end)
                    RollupWatermark.objects.filter(family=family.name, resolution=resolution).update(
                        rolled_until=end
                    )
                    until[resolution] = end
                complete = until[resolution]
            settled = horizon // BUCKET_SECONDS * BUCKET_SECONDS
            if settled > until[BUCKET_SECONDS]:
                RollupWatermark.objects.filter(family=family.name, resolution=BUCKET_SECONDS).update(
                    rolled_until=settled
                )
    return written


def _first_bucket(fine: type[models.Model], resolution: int, end: int) -> int:
    first = fine._default_manager.filter(bucket__lt=end).order_by("bucket").values_list("bucket", flat=True).first()
    return end if first is None else int(first) // resolution * resolution


def _roll(
    family: Family, fine: type[models.Model], coarse: type[models.Model], resolution: int, start: int, end: int
) -> int:
    sums = ", ".join(f"SUM({m})" for m in family.measures)
    table = coarse._meta.db_table
    updates = ", ".join(f"{m} = {table}.{m} + excluded.{m}" for m in family.measures)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (bucket, key_id, {', '.join(family.measures)}) "  # noqa: S608  (constant identifiers)
            f"SELECT bucket / {resolution} * {resolution}, key_id, {sums} FROM {fine._meta.db_table} "
            f"WHERE bucket >= %s AND bucket < %s GROUP BY bucket / {resolution} * {resolution}, key_id "
            f"ON CONFLICT (bucket, key_id) DO UPDATE SET {updates}",
            [start, end],
        )
        return max(cursor.rowcount, 0)


def _plan(
    lo: int, hi: int, until: Mapping[int, int], now: float, top: int = len(RESOLUTIONS) - 1
) -> list[tuple[int, int, int]]:
    """The (tier index, first bucket, end) pieces that cover the 10-second buckets [lo, hi):
    the coarsest complete tier (at most tier `top`) where its buckets fit, finer ones at the
    ragged ends. Buckets that retention may have deleted are read from the coarser bucket that
    holds them, up to tier `top`, which then answers alone for its time: no two pieces overlap."""
    pieces: list[tuple[int, int, int]] = []

    def cover(lo: int, hi: int, level: int) -> None:
        if lo >= hi:
            return
        if level > 0:
            resolution = RESOLUTIONS[level]
            first = _ceil(lo, resolution)
            last = min(hi // resolution * resolution, until[resolution])
            if first < last:
                pieces.append((level, first, last))
                cover(lo, first, level - 1)
                cover(last, hi, level - 1)
                return
            return cover(lo, hi, level - 1)
        pieces.append((0, lo, hi))

    cover(lo, hi, top)
    held = [part for piece in pieces for part in _held(*piece, until, now, top)]
    # Coarsest first, each bucket read once: a coarse bucket read for an expired end answers for
    # the finer buckets inside it.
    merged: list[tuple[int, int, int]] = []
    for level, first, end in sorted(held, key=lambda piece: (-piece[0], piece[1])):
        if merged and merged[-1][0] == level and first <= merged[-1][2]:
            merged[-1] = (level, merged[-1][1], max(end, merged[-1][2]))
        else:
            merged.append((level, first, end))
    planned: list[tuple[int, int, int]] = []
    covered: list[tuple[int, int]] = []
    for level, first, end in merged:
        at = first
        for start, stop in covered:
            if stop <= at or start >= end:
                continue
            if start > at:
                planned.append((level, at, start))
            at = max(at, stop)
        if at < end:
            planned.append((level, at, end))
        covered = sorted([*covered, (first, end)])
    return sorted(planned)


def _held(
    level: int, first: int, end: int, until: Mapping[int, int], now: float, top: int
) -> list[tuple[int, int, int]]:
    """Pieces that hold the buckets [first, end) of tier `level`: the ones its retention keeps
    stay; the earlier ones are read from the coarser tier's buckets that hold them (rounded out
    to those buckets), up to tier `top`, where that tier is rolled up."""
    resolution = RESOLUTIONS[level]
    kept = _kept_from(resolution, now)
    if first >= kept or level >= top:
        return [(level, first, end)]
    coarser = RESOLUTIONS[level + 1]
    expired = min(end, kept)
    if _ceil(expired, coarser) > until[coarser]:
        return [(level, first, end)]  # not rolled up there: the fine rows are all there is
    held = _held(level + 1, first // coarser * coarser, _ceil(expired, coarser), until, now, top)
    if expired < end:
        held.append((level, expired, end))
    return held


def read(
    family: Family,
    start: float,
    end: float,
    where: Q | None = None,
    dimensions: Sequence[str] | None = None,
    measures: Sequence[str] | None = None,
    now: float | None = None,
    coarsest: int = RESOLUTIONS[-1],
) -> list[tuple[Any, ...]]:
    """Return the traffic of the 10-second buckets starting in [start, end) (unix seconds),
    summed per `dimensions` (default: all but the bucket) over the keys that meet `where` (a
    filter on the key model's fields): one tuple per distinct value of `dimensions`, those
    values then the sums of `measures` (default: all the family's), in their order. Two
    queries, and a third for keys this process has not read before: the watermarks, then every
    tier the window needs at once, summed per key id. `coarsest` (one of RESOLUTIONS) bounds the
    tiers read, for a reader that keeps `bucket` and needs buckets of at most that many
    seconds (a chart's steps).

    The window's settled past (before the 10-second watermark) changes only with the family's
    revision, so the process keeps its sums per key (`_Past`) and reads only the time that
    entered or left it since, with the rest of the window: a live window that moved on by ten
    seconds reads a few buckets, not the dozens its tiers' ragged ends take, and none of the
    time the roll-up task moved on to a coarser tier meanwhile. Sums of integers only, so they
    equal a fresh read exactly; not inside a transaction, whose rows may yet be rolled back."""
    dimensions = tuple(dimensions or family.key_dimensions)
    measures = tuple(measures or family.measures)
    lo, hi = _ceil(math.ceil(start), BUCKET_SECONDS), _ceil(math.ceil(end), BUCKET_SECONDS)
    top = RESOLUTIONS.index(coarsest)
    until, revision = _reader_state(family)
    now = time.time() if now is None else now
    pieces = _plan(lo, hi, until, now, top)
    if not pieces:
        return []
    by_bucket = "bucket" in dimensions
    keys = None if where is None else family.keys._default_manager.filter(where).values("id")
    settled = until[BUCKET_SECONDS]
    if (revision is None or by_bucket or not _integers(family, measures) or connection.in_atomic_block
            or all(first >= settled for _, first, _ in pieces)):  # no past to keep
        grouping = ("bucket", "key_id") if by_bucket else ("key_id",)
        summed = _sum(family, [(1, 1, *piece) for piece in pieces], grouping, measures, keys)
    else:
        summed = _with_recent(*_moved_past(family, pieces, (until, now, top, hi - lo), revision, measures, keys))
    width = 2 if by_bucket else 1
    named = _key_dimensions(family, {row[width - 1] for row in summed})
    if dimensions == family.key_dimensions:  # one row per key already
        return [(*named[row[0]], *row[1:]) for row in summed]
    positions = [family.key_dimensions.index(d) if d != "bucket" else -1 for d in dimensions]
    totals: dict[tuple, list] = {}
    for row in summed:
        key = named[row[width - 1]]
        projected = tuple(row[0] if p < 0 else key[p] for p in positions)
        found = totals.get(projected)
        if found is None:
            totals[projected] = list(row[width:])
        else:
            for i, value in enumerate(row[width:]):
                found[i] += value
    return [(*projected, *values) for projected, values in totals.items()]


def _reader_state(family: Family) -> tuple[dict[int, int], int | None]:
    """The family's watermarks, as `_watermarks` reads them, and its revision (None without
    watermarks, as in a database just flushed)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT w.resolution, w.rolled_until, r.revision FROM mesh_rollup_watermark w "
            "LEFT JOIN mesh_rollup_revision r ON r.family = w.family WHERE w.family = %s",
            [family.name],
        )
        rows = cursor.fetchall()
    found = {resolution: rolled_until for resolution, rolled_until, _ in rows}
    until = {resolution: found.get(resolution, 0) for resolution in RESOLUTIONS}
    return until, rows[0][2] if rows else None


# (part, sign, tier index, first bucket, end): rows of a tier's buckets [first, end), summed
# into `part` with their measures times `sign`.
Piece = tuple[int, int, int, int, int]


def _sum(
    family: Family,
    pieces: Sequence[Piece],
    grouping: tuple[str, ...],
    measures: tuple[str, ...],
    keys: models.QuerySet | None,
    counted: bool = False,
) -> list[tuple]:
    """One statement summing `pieces` per `grouping` (of part, bucket, key_id): those columns,
    then when `counted` the (signed) sum of the family's first measure, which each row counts
    at least one of (requests, calls), so it is non-zero where a key has rows whichever tiers
    answer, then the sums of `measures`."""
    key_filter, key_params = "", ()
    if keys is not None:
        key_sql, key_params = keys.query.sql_with_params()
        # Unary plus: no index of key_id, or SQLite looks up every row of each key, in every
        # bucket the tier keeps, instead of the window's buckets.
        key_filter = f" AND +key_id IN ({key_sql})"
    selects, params = [], []
    for part, sign, level, first, last in pieces:
        columns = [f"{part} AS part" if c == "part" else c for c in grouping]
        if counted:
            columns.append(f"{'-' if sign < 0 else ''}{family.measures[0]} AS n")
        columns += (f"{'-' if sign < 0 else ''}{m} AS {m}" for m in measures)
        selects.append(
            f"SELECT {', '.join(columns)} "  # noqa: S608
            f"FROM {connection.ops.quote_name(family.tiers[level]._meta.db_table)} "
            f"WHERE bucket >= %s AND bucket < %s{key_filter}"
        )
        params += [first, last, *key_params]
    sums = ", ".join(_sum_of(family, m) for m in measures)
    group = ", ".join(grouping)
    count = f"{_sum_of(family, family.measures[0], 'n')}, " if counted else ""
    with connection.cursor() as cursor:
        # Only constant identifiers are formatted in; values are parameters.
        cursor.execute(
            f"SELECT {group}, {count}{sums} FROM ({' UNION ALL '.join(selects)}) AS pieces GROUP BY {group}",  # noqa: S608
            params,
        )
        return cursor.fetchall()


# Measures that count requests: never near 2**53, below which doubles add integers exactly.
_REQUEST_COUNTS = frozenset({"requests", "calls", *LATENCY_COLUMNS})


def _sum_of(family: Family, measure: str, column: str = "") -> str:
    """The SQL sum of a measure (of `column`, which holds it, when named); sums of integer
    columns are cast back to integers (PostgreSQL sums bigints as numeric). PostgreSQL adds
    bigints in 128-bit states, which makes a window of a thousand workloads read two to three
    times slower than with doubles (more across parallel workers), so it sums request counts as
    doubles: exact for them."""
    column = column or measure
    if not isinstance(family.tiers[0]._meta.get_field(measure), models.IntegerField):
        return f"SUM({column})"
    if connection.vendor == "postgresql" and measure in _REQUEST_COUNTS:
        return f"CAST(SUM(CAST({column} AS DOUBLE PRECISION)) AS BIGINT)"
    return f"CAST(SUM({column}) AS BIGINT)"


@dataclass(frozen=True)
class _Past:
    """Sums of a window's settled past under one revision: the time it covers ([start, end),
    unix seconds), and per key id its requests (calls), then the measures' sums. Never changed
    once kept."""

    revision: int
    start: int
    end: int
    sums: dict[int, tuple[int, ...]]


# Per database, family, filter, measures, coarsest tier, window length and, for a window that
# ended before the 10-second watermark, its end: that window's past, the least recently read
# given up first past 32 of them or 50,000 keys in all (some 40 MB): the live graphs open at
# once (a view of an hour and one of a day each move their own past on, a look at last night
# leaves both alone) and the alert rules, each of which reads a few keys.
_PASTS: OrderedDict[tuple, _Past] = OrderedDict()
_PASTS_KEPT = 32
_PAST_KEYS_KEPT = 50_000
_PASTS_LOCK = threading.Lock()


def _with_recent(past: _Past, recent: dict[int, list]) -> list[tuple]:
    """`read`'s sums per key id: a window's settled past (its requests dropped) plus `recent`,
    the sums of its time after the 10-second watermark."""
    summed = []
    for key, total in past.sums.items():
        recent_sums = recent.pop(key, None)
        summed.append((key, *(total[1:] if recent_sums is None else map(add, total[1:], recent_sums))))
    summed += [(key, *values) for key, values in recent.items()]
    return summed


def _moved_past(
    family: Family,
    pieces: Sequence[tuple[int, int, int]],
    planned: tuple[Mapping[int, int], float, int, int],
    revision: int,
    measures: tuple[str, ...],
    keys: models.QuerySet | None,
    kept_here: bool = True,
) -> tuple[_Past, dict[int, list]]:
    """The settled past (before the 10-second watermark) of the window planned as `pieces`
    under `revision`, and the sums per key of the window's time after it, read in the same
    statement. `planned` is what the pieces were planned with: the watermarks, now, the
    coarsest tier and the window's length. The past is kept for the next read in this process
    unless `kept_here` is False. It starts from what this process kept of the last such
    window, else from what the beat task stored (`keep_pasts`), and reads only the time the
    past gained or lost since, each planned as a window of its own: sums over the same time
    are the same whichever tiers hold it."""
    until, now, top, seconds = planned
    settled = until[BUCKET_SECONDS]
    start, end = past_of(pieces, settled)
    # Only the finest tier's pieces reach past the watermarks.
    recent: list[Piece] = [(1, 1, level, max(first, settled), last) for level, first, last in pieces if last > settled]
    # A live window (one that reaches past the watermark) moves its own past on; a window that
    # ended before it (a look at the past) keeps one of its own, and leaves the live one's alone.
    cache_key = (connection.alias, connection.settings_dict["NAME"], family.name, measures, top, seconds,
                 None if recent else end, None if keys is None else str(keys.query))
    with _PASTS_LOCK:
        kept = _PASTS.get(cache_key)
    if (kept is None or kept.revision != revision) and top == len(RESOLUTIONS) - 1:
        kept = _stored_past(family, revision, seconds, measures, keys)
    changes = None
    if kept is not None and kept.revision == revision:
        changes = changes_between((kept.start, kept.end), (start, end), until, now, top)
    if kept is None or changes is None:  # read the past anew
        kept = _Past(revision, start, start, {})
        changes = [(0, 1, level, first, min(last, end)) for level, first, last in pieces if first < end]
    rows = _sum(family, changes + recent, ("part", "key_id"), measures, keys, counted=True) if changes or recent else []
    sums: dict[int, tuple[int, ...]] = kept.sums
    fresh: dict[int, list] = {}
    if changes:
        sums = dict(sums)
    for part, key, *change in rows:
        if part:
            fresh[key] = change[1:]
            continue
        old = sums.get(key)
        total = tuple(change) if old is None else tuple(map(add, old, change))
        if total[0]:
            sums[key] = total
        else:  # no row of the key is left in the past
            sums.pop(key, None)
    past = _Past(revision, start, end, sums)
    if not kept_here:
        return past, fresh
    with _PASTS_LOCK:
        _PASTS[cache_key] = past
        _PASTS.move_to_end(cache_key)
        while len(_PASTS) > _PASTS_KEPT or (
            len(_PASTS) > 1 and sum(len(p.sums) for p in _PASTS.values()) > _PAST_KEYS_KEPT
        ):
            _PASTS.popitem(last=False)
    return past, fresh


# Kiali's graph durations from an hour up (its console's durations, offered up to the retention:
# frontend/src/config/ServerConfig.ts): the live windows whose settled past the beat task keeps
# in the database, so that a process's first read of one costs about what its next does.
KEPT_WINDOWS = (3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 7 * 86400, 30 * 86400)


def _stored_past(
    family: Family,
    revision: int,
    seconds: int,
    measures: tuple[str, ...],
    keys: models.QuerySet | None,
) -> _Past | None:
    """What the beat task stored of the past of windows `seconds` long under `revision`,
    narrowed to `measures` and the keys `keys` selects; None without it."""
    kept = _stored_measures(family)
    if seconds not in KEPT_WINDOWS or not set(measures) <= set(kept):
        return None
    stored = (
        RollupPast.objects.filter(family=family.name, seconds=seconds, revision=revision)
        .values_list("start", "end", "sums")
        .first()
    )
    if stored is None:
        return None
    start, end, blob = stored
    values = array("q")
    values.frombytes(zlib.decompress(blob))
    width = 2 + len(kept)
    wanted = (0, *(1 + kept.index(m) for m in measures))  # requests (calls), then the measures
    selected = None if keys is None else {row["id"] for row in keys}
    sums = {}
    for at in range(0, len(values), width):
        key = values[at]
        if selected is None or key in selected:
            sums[key] = tuple(values[at + 1 + i] for i in wanted)
    return _Past(revision, start, end, sums)


def keep_pasts(now: float) -> int:
    """Store the settled past of the live windows of `KEPT_WINDOWS` (those within the traffic
    retention) ending `now`, of every family, with its measures that are integers (a reader
    keeps sums of those alone), for readers in any process to start from; return how many were
    stored. Beat runs it every 30 s, outside a transaction: each is moved on from the one stored
    before, as a reader's would be. A family with more keys than a process keeps pasts of
    (`_PAST_KEYS_KEPT`) has none stored: each would cost beat tens of megabytes every run."""
    stored = 0
    hi = _ceil(math.ceil(now), BUCKET_SECONDS)
    lengths = [seconds for seconds in KEPT_WINDOWS if seconds <= settings.MESHVIEW_TRAFFIC_RETENTION_SECONDS]
    for family in FAMILIES:
        measures = _stored_measures(family)
        until, revision = _reader_state(family)
        if revision is None or family.keys._default_manager.count() > _PAST_KEYS_KEPT:
            RollupPast.objects.filter(family=family.name).delete()
            continue
        RollupPast.objects.filter(family=family.name).exclude(seconds__in=lengths).delete()
        for seconds in lengths:
            # The window up to the watermark: its settled past alone is read.
            pieces = _plan(hi - seconds, min(hi, until[BUCKET_SECONDS]), until, now)
            if not pieces:  # nothing of it is settled yet
                continue
            # Moved on from the one stored: the pasts of this process's readers stay kept.
            past, _ = _moved_past(family, pieces, (until, now, len(RESOLUTIONS) - 1, seconds), revision, measures,
                                  None, kept_here=False)
            values = array("q")
            for key, sums in past.sums.items():
                values.append(key)
                values.extend(sums)
            RollupPast.objects.update_or_create(
                family=family.name, seconds=seconds,
                defaults={"revision": revision, "start": past.start, "end": past.end,
                          "sums": zlib.compress(values.tobytes(), 1)},
            )
            stored += 1
    return stored


def _integers(family: Family, measures: Sequence[str]) -> bool:
    return all(isinstance(family.tiers[0]._meta.get_field(m), models.IntegerField) for m in measures)


def _stored_measures(family: Family) -> tuple[str, ...]:
    """The measures of a family whose sums `keep_pasts` stores: those that are integers."""
    return tuple(m for m in family.measures if _integers(family, (m,)))


def past_of(pieces: Sequence[tuple[int, int, int]], settled: int) -> tuple[int, int]:
    """The time [start, end) that the settled past of a window planned as `pieces` covers:
    from the first piece's start (rounded out where retention did) up to `settled`."""
    return min(first for _, first, _ in pieces), min(max(last for _, _, last in pieces), settled)


def changes_between(
    kept: tuple[int, int], past: tuple[int, int], until: Mapping[int, int], now: float, top: int
) -> list[Piece] | None:
    """The signed pieces that turn the sums of the time `kept` into those of `past` (each
    [start, end)): the time gained at either end added, the time lost subtracted, each planned
    as a window of its own. None when the two do not overlap, reading the changes would take
    longer than the past itself, or a change cannot be read exactly (its fine tier expired)."""
    (kept_start, kept_end), (start, end) = kept, past
    if kept_end <= start or end <= kept_start:
        return None
    spans = [(1, kept_end, end), (-1, end, kept_end), (-1, kept_start, start), (1, start, kept_start)]
    if sum(max(0, stop - first) for _, first, stop in spans) > end - start:
        return None
    changes: list[Piece] = []
    for sign, first, stop in spans:
        if first >= stop:
            continue
        pieces = _plan(first, stop, until, now, top)
        if min(piece[1] for piece in pieces) != first or max(piece[2] for piece in pieces) != stop:
            return None  # rounded out to a coarser bucket
        changes += [(0, sign, *piece) for piece in pieces]
    return changes


# Family name -> key id -> the key's dimensions, as `key_id` makes ids: an entry never goes stale.
_KEYS: dict[str, dict[int, tuple]] = {}
_KEYS_KEPT = 50_000  # past that the cache of a family's keys starts again


def _key_dimensions(family: Family, ids: set[int]) -> dict[int, tuple]:
    """The dimensions of the keys `ids`, from this process's cache or the key table."""
    cache = _KEYS.setdefault(family.name, {})
    missing = [i for i in ids if i not in cache]
    if not missing:
        return cache
    if len(cache) + len(missing) > _KEYS_KEPT:  # start again with this read's keys
        kept = {i: cache[i] for i in ids if i in cache}
        cache.clear()
        cache.update(kept)
    names = ", ".join(family.key_dimensions)
    with connection.cursor() as cursor:
        for first in range(0, len(missing), 900):
            chunk = missing[first : first + 900]
            cursor.execute(
                f"SELECT id, {names} FROM {family.keys._meta.db_table} "  # noqa: S608
                f"WHERE id IN ({', '.join(['%s'] * len(chunk))})",
                chunk,
            )
            cache.update((row[0], row[1:]) for row in cursor.fetchall())
    return cache


def delete_expired(now: float) -> int:
    """Delete each tier's buckets that ended its retention ago or more (as `read` expects),
    then the keys no row names any more; return how many rows went."""
    deleted = 0
    for family in FAMILIES:
        with transaction.atomic():
            for tier, resolution in zip(family.tiers, RESOLUTIONS, strict=True):
                count, _ = tier._default_manager.filter(bucket__lt=_kept_from(resolution, now)).delete()
                deleted += count
            _revise(family)
        _delete_unused_keys(family)
    return deleted


def _delete_unused_keys(family: Family) -> None:
    """Delete the family's keys that no tier's row names (each tier has an index by key). The
    watermarks' lock keeps writers out meanwhile: a writer stores its keys and rows under it."""
    unused = " AND ".join(
        f"NOT EXISTS (SELECT 1 FROM {tier._meta.db_table} t WHERE t.key_id = k.id)" for tier in family.tiers  # noqa: S608
    )
    with transaction.atomic():
        _watermarks(family, lock="update")
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {family.keys._meta.db_table} AS k WHERE {unused}")  # noqa: S608
