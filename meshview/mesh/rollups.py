"""Traffic rollups in five tiers, 10 s -> 1 min -> 10 min -> 1 h -> 1 day: writing, rolling up,
reading, retention.

Three families of rollups share this: access-log traffic (`TRAFFIC`), the requests spans show
(`SPANS`) and Jaeger's service dependencies (`DEPENDENCIES`). Each has a table per tier with the
same columns: the dimensions (`bucket` first) and the measures, summed per key.

- Ingest writes 10-second rows (`write`). A coarse tier is complete before its watermark
  (`RollupWatermark.rolled_until`); a row that arrives later than that for an older bucket is
  added to the coarse tiers as well, so every tier always holds the same totals.
- The beat task (`roll_up`) sums the finer tier into the coarser one up to a little before now
  (`rollup_lag_seconds`), and moves the watermark.
- Every reader of traffic calls `read`: the coarsest complete tier covers as much of the window
  as its buckets fit exactly, finer tiers the ragged ends, all in one query that sums only the
  measures the reader asks for. A day's window reads about 24 hourly buckets, a week's about 7
  daily ones, plus the ragged ends.
- `delete_expired` keeps each tier for its retention.
"""

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Q

from meshview.core import bulk
from meshview.mesh.models import (
    DEPENDENCY_DIMENSIONS,
    DEPENDENCY_MEASURES,
    ROLLUP_DIMENSIONS,
    ROLLUP_MEASURES,
    SPAN_ROLLUP_DIMENSIONS,
    SPAN_ROLLUP_MEASURES,
    DependencyRollup,
    DependencyRollupDay,
    DependencyRollupHour,
    DependencyRollupMinute,
    DependencyRollupTenMinutes,
    RollupWatermark,
    SpanRollup,
    SpanRollupDay,
    SpanRollupHour,
    SpanRollupMinute,
    SpanRollupTenMinutes,
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
    """Rollup tables of one kind: one model per tier (finest first), their dimensions (`bucket`
    first) and measures."""

    name: str
    tiers: tuple[type[models.Model], ...]
    dimensions: tuple[str, ...]
    measures: tuple[str, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        return self.dimensions + self.measures


TRAFFIC = Family(
    "traffic",
    (TrafficRollup, TrafficRollupMinute, TrafficRollupTenMinutes, TrafficRollupHour, TrafficRollupDay),
    ROLLUP_DIMENSIONS,
    ROLLUP_MEASURES,
)
SPANS = Family(
    "spans",
    (SpanRollup, SpanRollupMinute, SpanRollupTenMinutes, SpanRollupHour, SpanRollupDay),
    SPAN_ROLLUP_DIMENSIONS,
    SPAN_ROLLUP_MEASURES,
)
DEPENDENCIES = Family(
    "dependencies",
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
    """`rolled_until` of the family's coarse tiers; locked until the transaction ends when
    asked (PostgreSQL; SQLite's writers take turns anyway)."""
    sql = "SELECT resolution, rolled_until FROM mesh_rollup_watermark WHERE family = %s"
    if lock and connection.vendor == "postgresql":
        sql += " FOR SHARE" if lock == "share" else " FOR UPDATE"
    with connection.cursor() as cursor:
        cursor.execute(sql, [family.name])
        found = dict(cursor.fetchall())
    return {resolution: found.get(resolution, 0) for resolution in RESOLUTIONS[1:]}


def _upsert(table: str, family: Family, rows: Rows) -> None:
    """Add `rows` to `table`, summing the measures of keys other batches wrote. Keys go in
    sorted, so concurrent writers lock rows in the same order and cannot deadlock."""
    updates = ", ".join(f"{m} = {table}.{m} + excluded.{m}" for m in family.measures)
    bulk.insert_rows(
        table,
        family.columns,
        [(*key, *measures) for key, measures in sorted(rows.items())],
        f"ON CONFLICT ({', '.join(family.dimensions)}) DO UPDATE SET {updates}",
        ordered_by=family.dimensions,
    )


def write(family: Family, rows: Rows) -> None:
    """Add `rows` (key: the family's dimensions, bucket first and 10-second aligned; value: the
    measures in order) to the 10-second tier, and to each coarse tier already rolled up past
    their bucket. Call it inside the ingest's transaction."""
    if not rows:
        return
    until = _watermarks(family, lock="share")
    _upsert(family.tiers[0]._meta.db_table, family, rows)
    for tier, resolution in zip(family.tiers[1:], RESOLUTIONS[1:], strict=True):
        late: dict[tuple, list[float]] = {}
        for key, measures in rows.items():
            if key[0] < until[resolution]:
                coarse = (key[0] // resolution * resolution, *key[1:])
                total = late.get(coarse)
                if total is None:
                    late[coarse] = list(measures)
                else:
                    for i, value in enumerate(measures):
                        total[i] += value
        _upsert(tier._meta.db_table, family, late)


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
    return written


def _first_bucket(fine: type[models.Model], resolution: int, end: int) -> int:
    first = fine._default_manager.filter(bucket__lt=end).order_by("bucket").values_list("bucket", flat=True).first()
    return end if first is None else int(first) // resolution * resolution


def _roll(
    family: Family, fine: type[models.Model], coarse: type[models.Model], resolution: int, start: int, end: int
) -> int:
    dimensions = ", ".join(family.dimensions[1:])
    sums = ", ".join(f"SUM({m})" for m in family.measures)
    table = coarse._meta.db_table
    updates = ", ".join(f"{m} = {table}.{m} + excluded.{m}" for m in family.measures)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(family.columns)}) "  # noqa: S608  (constant identifiers)
            f"SELECT bucket / {resolution} * {resolution}, {dimensions}, {sums} FROM {fine._meta.db_table} "
            f"WHERE bucket >= %s AND bucket < %s GROUP BY bucket / {resolution} * {resolution}, {dimensions} "
            f"ON CONFLICT ({', '.join(family.dimensions)}) DO UPDATE SET {updates}",
            [start, end],
        )
        return max(cursor.rowcount, 0)


def _plan(
    lo: int, hi: int, until: Mapping[int, int], now: float, top: int = len(RESOLUTIONS) - 1
) -> list[tuple[int, int, int]]:
    """The (tier index, first bucket, end) pieces that cover the 10-second buckets [lo, hi):
    the coarsest complete tier (at most tier `top`) where its buckets fit, finer ones at the
    ragged ends. A ragged end whose fine tier has expired is read from the coarser bucket that
    holds it, up to tier `top`."""
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
    expired = []
    for level, first, end in pieces:
        while level < top and end <= now - retention_seconds(RESOLUTIONS[level]):
            coarser = RESOLUTIONS[level + 1]
            if _ceil(end, coarser) > until[coarser]:
                break  # not rolled up there: the fine rows are all there is
            level += 1
            first, end = first // coarser * coarser, _ceil(end, coarser)
        expired.append((level, first, end))
    # Ends rounded out to a coarser bucket may meet: read each bucket once.
    planned: list[tuple[int, int, int]] = []
    for level, first, end in sorted(expired):
        if planned and planned[-1][0] == level and first <= planned[-1][2]:
            planned[-1] = (level, planned[-1][1], max(end, planned[-1][2]))
        else:
            planned.append((level, first, end))
    return planned


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
    summed per `dimensions` (default: all but the bucket) over the rows that meet `where`: one
    tuple per key, the values of `dimensions` then the sums of `measures` (default: all the
    family's), in their order. Two queries: the watermarks, then every tier the window needs
    at once. `coarsest` (one of RESOLUTIONS) bounds the tiers read, for a reader that keeps
    `bucket` and needs buckets of at most that many seconds (a chart's steps)."""
    dimensions = tuple(dimensions or family.dimensions[1:])
    measures = tuple(measures or family.measures)
    lo, hi = _ceil(math.ceil(start), BUCKET_SECONDS), _ceil(math.ceil(end), BUCKET_SECONDS)
    top = RESOLUTIONS.index(coarsest)
    pieces = _plan(lo, hi, _watermarks(family), time.time() if now is None else now, top)
    if not pieces:
        return []
    querysets = []
    for level, first, last in pieces:
        query = family.tiers[level]._default_manager.filter(bucket__gte=first, bucket__lt=last)
        if where is not None:
            query = query.filter(where)
        querysets.append(query.values_list(*dimensions, *measures).order_by())
    rows = querysets[0].union(*querysets[1:], all=True) if len(querysets) > 1 else querysets[0]
    pieces_sql, params = rows.query.sql_with_params()
    # One GROUP BY over the rows of every piece; plain tuples, as the readers unpack them.
    # Sums of integer columns are cast back to integers (PostgreSQL sums bigints as numeric).
    sums = ", ".join(
        f"CAST(SUM({m}) AS BIGINT)" if isinstance(family.tiers[0]._meta.get_field(m), models.IntegerField)
        else f"SUM({m})"
        for m in measures
    )
    group = ", ".join(dimensions)
    with connection.cursor() as cursor:
        # Only constant identifiers are formatted in; values are parameters.
        cursor.execute(
            f"SELECT {group}, {sums} FROM ({pieces_sql}) AS pieces GROUP BY {group}",  # noqa: S608
            params,
        )
        return cursor.fetchall()


def delete_expired(now: float) -> int:
    """Delete each tier's rows past its retention; return how many went."""
    deleted = 0
    for family in FAMILIES:
        for tier, resolution in zip(family.tiers, RESOLUTIONS, strict=True):
            cutoff = now - retention_seconds(resolution)
            count, _ = tier._default_manager.filter(bucket__lt=cutoff).delete()
            deleted += count
    return deleted
