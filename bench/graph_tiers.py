"""The graph of 1,000 workloads over long windows, read from the coarse rollup tiers.

The synthetic mesh of ``bench/graph.py`` (about 1,000 workloads, 5,300 edges) is written as
access-log rollups straight into the 10-minute tier for every 10 minutes of ``--hours`` (the
tier beat rolls them into; the watermarks say it is complete), then ``GET /api/v1/graph``'s
work is timed for a window of that length ending on a 10-minute boundary: the rollup read
(``accesslogs.collect``: one query over the 10-minute tier), the graph build, Kiali's JSON and
its rendering. Baseline in the same run: the same stages over a 10-minute window (one bucket
of the same tier). Times are the best of ``--repeat``.

    .venv/bin/python bench/graph_tiers.py [--hours 24] [--repeat 3] [--database-url postgresql://...]
"""

import argparse
import gc
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import graph as graph_bench  # bench/graph.py

from meshview.graph.engine import GraphOptions


def write_ten_minute_tier(hours: int, end: int) -> tuple[int, frozenset[str]]:
    """The synthetic mesh's per-edge totals in every 10-minute bucket of `hours` before `end`."""
    from django.db import connection, transaction

    from meshview.mesh.models import ROLLUP_DIMENSIONS, ROLLUP_MEASURES, RollupWatermark

    graph_bench.QUERY_TIME = end
    samples, namespaces = graph_bench.synthetic_mesh(1000)
    graph_bench.store_rollups(samples)  # one window's rows in the 10-second tier, then moved below
    columns = ROLLUP_DIMENSIONS + ROLLUP_MEASURES
    others = ", ".join(columns[1:])
    with transaction.atomic(), connection.cursor() as cursor:
        for bucket in range(end - hours * 3600, end, 600):
            cursor.execute(
                f"INSERT INTO mesh_traffic_rollup_10m ({', '.join(columns)}) "
                f"SELECT %s, {others} FROM mesh_traffic_rollup WHERE TRUE ON CONFLICT DO NOTHING",
                [bucket],
            )
        cursor.execute("DELETE FROM mesh_traffic_rollup")
        cursor.execute("SELECT COUNT(*) FROM mesh_traffic_rollup_10m")
        rows = cursor.fetchone()[0]
        RollupWatermark.objects.filter(family="traffic").update(rolled_until=end)
    return rows, namespaces


def timed_graph(options: GraphOptions, repeat: int) -> tuple[dict[str, float], int]:
    best: dict[str, float] = {}
    samples = 0
    for _ in range(repeat):
        gc.collect()
        result = None
        for name, stage in graph_bench.STAGES:
            started = time.perf_counter()
            result = stage(result, options)
            best[name] = min(best.get(name, 1e9), time.perf_counter() - started)
            if name == "load":
                samples = len(result)
    return best, samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    graph_bench.setup_database(args.database_url)
    from django.db import connection

    end = int(time.time()) // 600 * 600 - 600
    rows, namespaces = write_ten_minute_tier(args.hours, end)
    print(f"{connection.vendor}, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
          f"{rows:,} rows in the 10-minute tier over {args.hours} h")
    for label, seconds in (("window", args.hours * 3600), ("baseline 10 min", 600)):
        options = GraphOptions(query_time=end, duration_s=seconds, graph_type="versionedApp", namespaces=namespaces,
                               cluster_name="Kubernetes")
        times, samples = timed_graph(options, args.repeat)
        stages = ", ".join(f"{name} {times[name] * 1000:,.0f}" for name, _ in graph_bench.STAGES)
        print(f"{label}: {sum(times.values()) * 1000:,.0f} ms ({stages}); {samples:,} samples")


if __name__ == "__main__":
    main()
