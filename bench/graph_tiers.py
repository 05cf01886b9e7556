"""The graph of 1,000 workloads over long windows (24 hours, 7 days), read from the rollup tiers.

Loading: the synthetic mesh of ``bench/graph.py`` (about 1,000 workloads, 8,800 rollup keys per
bucket) is written as access-log rollups into exactly the tier buckets that ``rollups.read``
reads for the windows, as the beat task would have left them: the watermarks say each coarse
tier is complete up to the last of its buckets that ended ``rollup_lag_seconds`` before now,
every bucket read holds every key (a dense mesh, busy all the time), and each tier's measures are
the 10-second ones times the buckets it sums, so every tier holds the same totals. A bucket no
read touches is not written: it would change nothing but the loading time.

The window ends now, as a live graph's does (``--end midnight`` ends it on a UTC midnight, the
most favourable case: whole days only), so the coarsest tiers answer the middle and every finer
tier its ragged ends; the 10-second tier's ends older than its retention are read from the
coarser bucket that holds them, as in production. Then ``GET /api/v1/graph``'s work is timed:
the rollup read and samples (``accesslogs.collect``), the graph build, Kiali's JSON and its
rendering, with every appender (the API's default, what meshview's own page asks for) and with
Kiali's page's default appenders (no ``responseTime``: no latency histograms are read).
Baseline in the same run: the same stages over a 10-minute window ending at the same time.
The first read of each window finds nothing kept from an earlier one, as after a late row
changed the family's revision; it is read first again in a process that kept nothing but
finds the past the beat task stored (``rollups.keep_pasts``) 30 seconds before, at its oldest
(the task runs every 30 s), whose own cost is printed: stored anew, then moved on by 30 s.
Then ``--repeat`` - 1 reads follow as a live viewer's ticks, each window ten seconds later than the one before (their
best, median and worst), so each reads what entered and left the window's rolled-up past and its
newest buckets; `--repeat 61` spans ten minutes of ticks, and so the roll-up moving a 10-minute
bucket into the window's past. Last, two live views in one process, over 1 hour and over 24
hours, tick in turn (every appender), as two open graph pages or a Kiali client beside
meshview's page: each must move its own past on, not the other's.

    .venv/bin/python bench/graph_tiers.py [--hours 24,168] [--repeat 5] [--end now|midnight]
        [--database-url postgresql://...]
"""

import argparse
import dataclasses
import gc
import os
import statistics
import sys
import time
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import graph as graph_bench  # bench/graph.py

from meshview.graph.engine import APPENDERS, GraphOptions, paused_gc

KIALI_PAGE_APPENDERS = APPENDERS - {"responseTime"}
TICK_SECONDS = 10  # a live graph's refresh, as meshview's page and Kiali's shortest one


def watermarks_at(now: int) -> dict[int, int]:
    """The tiers' watermarks as the roll-up task (every 10 s) leaves them at `now`."""
    from meshview.mesh import rollups

    horizon = now - rollups.rollup_lag_seconds()
    until, complete = {}, horizon
    for resolution in rollups.RESOLUTIONS:
        until[resolution] = complete = min(horizon, complete) // resolution * resolution
    return until


def set_watermarks(now: int) -> None:
    from meshview.mesh.models import RollupWatermark

    for resolution, rolled_until in watermarks_at(now).items():
        RollupWatermark.objects.filter(family="traffic", resolution=resolution).update(rolled_until=rolled_until)


def planned_buckets(windows: list[tuple[int, int, int]]) -> dict[int, set[int]]:
    """The buckets per tier index that `rollups.read` reads for `windows` (start, end, and the
    time it is read at, with the watermarks as the roll-up task leaves them then), each after
    the one before when they have the same length: the whole window first, then the time that
    entered or left its rolled-up past."""
    from meshview.mesh import rollups

    buckets: dict[int, set[int]] = {}

    def add(pieces: list[tuple[int, int, int]]) -> None:
        for level, first, last in pieces:
            buckets.setdefault(level, set()).update(range(first, last, rollups.RESOLUTIONS[level]))

    before: dict[int, tuple[int, int]] = {}  # window length -> the last window's past
    for start, stop, now in windows:
        until = watermarks_at(now)
        lo, hi = rollups._ceil(start, rollups.BUCKET_SECONDS), rollups._ceil(stop, rollups.BUCKET_SECONDS)
        pieces = rollups._plan(lo, hi, until, now)
        add(pieces)
        past = rollups.past_of(pieces, until[rollups.BUCKET_SECONDS])
        if stop - start in before:
            changes = rollups.changes_between(before[stop - start], past, until, now, len(rollups.RESOLUTIONS) - 1)
            add([piece[2:] for piece in changes or ()])
        before[stop - start] = past
    return buckets


def write_planned_tiers(windows: list[tuple[int, int, int]], end: int) -> tuple[dict[int, int], frozenset[str]]:
    """Write the synthetic mesh's rows into every tier bucket `rollups.read` reads for
    `windows` (`planned_buckets`), scaled to each tier's resolution as the roll-up task would
    sum them (every tier holds the same totals), and return the rows written per tier
    resolution and the mesh's namespaces."""
    from django.db import connection, transaction

    from meshview.mesh import rollups
    from meshview.mesh.models import ROLLUP_MEASURES

    graph_bench.QUERY_TIME = end
    samples, namespaces = graph_bench.synthetic_mesh(1000)
    graph_bench.store_rollups(samples)  # one window's rows in the 10-second tier: the template below
    columns = ("bucket", "key_id", *ROLLUP_MEASURES)
    others = ", ".join(columns[1:])
    buckets = planned_buckets(windows)
    written = {}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE bench_template AS SELECT {others} FROM mesh_traffic_rollup WHERE "
                       f"bucket = (SELECT MIN(bucket) FROM mesh_traffic_rollup)")
        cursor.execute("DELETE FROM mesh_traffic_rollup")
        for level, starts in sorted(buckets.items()):
            table = rollups.TRAFFIC.tiers[level]._meta.db_table
            scale = rollups.RESOLUTIONS[level] // rollups.BUCKET_SECONDS
            scaled = ", ".join(["key_id", *(f"{m} * {scale}" for m in ROLLUP_MEASURES)])
            for bucket in sorted(starts):
                cursor.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT %s, {scaled} FROM bench_template",
                               [bucket])
            cursor.execute(f"SELECT COUNT(*) FROM {table}")
            written[rollups.RESOLUTIONS[level]] = cursor.fetchone()[0]
        cursor.execute("DROP TABLE bench_template")
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE")
    return written, namespaces


def keep_pasts(at: int) -> float:
    """Run the beat task's `rollups.keep_pasts` at `at`, with the watermarks as the roll-up task
    leaves them then; return its seconds."""
    from meshview.mesh import rollups

    set_watermarks(at)
    started = time.perf_counter()
    with mock.patch("time.time", return_value=float(at)):
        rollups.keep_pasts(at)
    return time.perf_counter() - started


def timed_graph(options: GraphOptions, ticks: list[tuple[int, int]],
                stored_at: int) -> tuple[list[dict[str, float]], int]:
    """Each run's seconds per stage, and the number of samples loaded: the first with nothing
    kept from an earlier read nor stored, the first again in a process that kept nothing but
    finds the past the beat task stored at `stored_at`, then as a live viewer's ticks, each
    window (`ticks`: its end, and the time it is read at) ten seconds later, with the
    watermarks moving on as the roll-up task moves them."""
    from meshview.mesh import rollups
    from meshview.mesh.models import RollupPast

    RollupPast.objects.all().delete()
    rollups._PASTS.clear()
    runs = []
    samples = 0
    for tick, (end, now) in enumerate([ticks[0], *ticks]):
        if tick == 1:
            keep_pasts(stored_at)
            rollups._PASTS.clear()  # another process
        set_watermarks(now)
        times, samples = timed_stages(options, end, now)
        runs.append(times)
    return runs, samples


def timed_stages(options: GraphOptions, end: int, now: int) -> tuple[dict[str, float], int]:
    """The seconds of each stage of one graph of the window ending at `end`, read at `now`, and
    the number of samples loaded."""
    gc.collect()
    ticked = dataclasses.replace(options, query_time=end)
    result = None
    times = {}
    samples = 0
    # The tick's moment is the reader's clock too: its retention decides which tiers answer.
    with paused_gc(), mock.patch("time.time", return_value=float(now)):  # as graph_json
        for name, stage in graph_bench.STAGES[:-1]:
            started = time.perf_counter()
            result = stage(result, ticked)
            times[name] = time.perf_counter() - started
            if name == "load":
                samples = len(result)
    name, stage = graph_bench.STAGES[-1]
    started = time.perf_counter()
    stage(result, ticked)
    times[name] = time.perf_counter() - started
    return times, samples


def timed_views(views: list[GraphOptions], ticks: list[tuple[int, int]]) -> list[list[float]]:
    """Each view's seconds per tick after its first read, when the views tick in turn in one
    process (two live graphs open over windows of different lengths)."""
    from meshview.mesh import rollups

    rollups._PASTS.clear()
    totals: list[list[float]] = [[] for _ in views]
    for tick, (end, now) in enumerate(ticks):
        set_watermarks(now)
        for i, options in enumerate(views):
            times, _ = timed_stages(options, end, now)
            if tick:
                totals[i].append(sum(times.values()))
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", default="24,168", help="window lengths, comma-separated")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--end", choices=("now", "midnight"), default="now")
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    graph_bench.setup_database(args.database_url)
    from django.db import connection

    now = int(time.time())
    end = now if args.end == "now" else now // 86400 * 86400
    hours = [int(h) for h in args.hours.split(",")]
    # The last tick's window ends at `end`, read now; each earlier one ten seconds before.
    ticks = [(end - back, now - back) for back in range((args.repeat - 1) * TICK_SECONDS, -1, -TICK_SECONDS)]
    # The beat task stores the windows' pasts 30 s before the first tick (anew, as after a
    # revision), and 30 s before that (so that the first is the task's usual step).
    from meshview.mesh import rollups

    stored_at = ticks[0][1] - 30
    windows = [
        window
        for seconds in sorted({*(h * 3600 for h in hours), 600, *rollups.KEPT_WINDOWS[:-1]})
        for window in [*((at - seconds, at, at) for at in (stored_at - 30, stored_at)),
                       *((tick - seconds, tick, at) for tick, at in ticks)]
    ]
    written, namespaces = write_planned_tiers(windows, end)
    tiers = ", ".join(f"{r}s: {n:,}" for r, n in written.items())
    print(f"{connection.vendor}, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; window ends "
          f"{args.end} ({end}); rows written per tier: {tiers}")
    from meshview.mesh.models import RollupPast

    anew = keep_pasts(stored_at - 30)
    moved = keep_pasts(stored_at)
    print(f"the beat task's keep_pasts (every family, windows of 1 h to 7 d): {anew * 1000:,.0f} ms anew, "
          f"{moved * 1000:,.0f} ms 30 s later; {sum(len(p.sums) for p in RollupPast.objects.all()) / 1e6:.1f} MB "
          f"stored")
    for label, seconds in [*((f"{h} h", h * 3600) for h in hours), ("baseline 10 min", 600)]:
        for appenders, kind in ((None, "all appenders"), (KIALI_PAGE_APPENDERS, "no responseTime")):
            options = GraphOptions(query_time=end, duration_s=seconds, graph_type="versionedApp",
                                   namespaces=namespaces, cluster_name="Kubernetes", appenders=appenders)
            (first, stored, *live), samples = timed_graph(options, ticks, stored_at)
            totals = [sum(run.values()) * 1000 for run in live]
            best = min(live, key=lambda run: sum(run.values()))

            def stages(run: dict[str, float]) -> str:
                return ", ".join(f"{name} {run[name] * 1000:,.0f}" for name, _ in graph_bench.STAGES)

            print(f"{label}, {kind}: first read {sum(first.values()) * 1000:,.0f} ms ({stages(first)}); "
                  f"from the stored past {sum(stored.values()) * 1000:,.0f} ms ({stages(stored)}); "
                  f"live ticks best {min(totals):,.0f} ms ({stages(best)}), median {statistics.median(totals):,.0f} "
                  f"ms, worst {max(totals):,.0f} ms; {samples:,} samples; load average {os.getloadavg()[0]:.1f}")
    views = [GraphOptions(query_time=end, duration_s=seconds, graph_type="versionedApp", namespaces=namespaces,
                          cluster_name="Kubernetes") for seconds in (3600, 86400)]
    one_hour, one_day = (sorted(t * 1000 for t in totals) for totals in timed_views(views, ticks))
    print(f"two live views in one process, 1 h and 24 h, all appenders, ticking in turn: 1 h median "
          f"{statistics.median(one_hour):,.0f} ms (worst {one_hour[-1]:,.0f}), 24 h median "
          f"{statistics.median(one_day):,.0f} ms (worst {one_day[-1]:,.0f}); load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
