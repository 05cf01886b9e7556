"""Spans as traffic: a 10,000-span export's acknowledgement, the graph over a window fed by a
million spans, and Jaeger's dependencies over seven days, each beside a baseline of the same run.

For PostgreSQL (a scratch database ``mvbench_spans_<pid>``, created and dropped here) or SQLite
(a temporary ``MESHVIEW_DATA_DIR``), in one process:

1. ``export``: ``POST /v1/traces`` (Django's test client, in process, a token with the ingest
   scope) of one OTLP protobuf export holding one trace of 10,000 spans (a server root, then
   client and server spans of two services in turn), ``--repeat`` times with fresh ids; then
   the trace summary of that trace (``queries.summaries``, 100 times, best and p50), which reads
   the rows kept at ingest for the trace and each of its resources, whatever its number of
   spans. Baselines: decoding the export alone, and the summary of a 10-span trace of the same
   two resources, timed in turn with the big one.
2. ``graph``: stores ``--spans`` spans (the simulated Bookinfo mesh at 40 times its rate, 5,323
   spans an export) whose traces start within the 10 minutes before now, through the same
   write path (``store_spans``, in process: not over HTTP, which only adds the decoding measured
   in 1), settles the pairing store, then starts a fresh Python process that answers
   ``GET /api/v1/graph?duration=10m&sources=spans&namespaces=bookinfo`` (``queryTime`` the end of
   the stored window, so no cached live answer) ``--repeat`` times and reports its times and
   its peak resident memory (``ru_maxrss``: the web process's whole footprint, Django
   included). Baseline: ``SELECT COUNT(*)`` of the window's spans, the least any reader of raw
   spans does.
3. ``dependencies``: writes the dependency rollups that 10 million Bookinfo spans spread over
   seven days produce (written straight into the 10-second tier: generating 10 million spans
   would take longer than the rest together), rolls them up as beat does, and times
   ``/jaeger/api/dependencies?lookback=604800000`` (p50 and max of ``--repeat``). Baseline: the
   same request with a one-hour lookback. Then the page a user sees: a ``serve`` process on the
   same database and headless Chromium (Playwright, /usr/bin/chromium) open meshview's
   dependencies page (Jaeger's System Architecture) in a fresh browser profile and time it
   until its graph is painted, then the choice of the 7-day lookback until that answer's graph
   is painted, then the page opened again with the app's files in the browser's cache.
   Baseline: the browser opening ``/healthz`` in a fresh profile.

    .venv/bin/python bench/span_traffic.py [--database postgresql|sqlite] [--parts export,graph,dependencies]
        [--spans 1000000] [--repeat 5] [--postgres postgresql://postgres@127.0.0.1:5432]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

EXPORT_SPANS = 10_000
SEVEN_DAYS = 7 * 86_400


def timed(function: Callable[[], object]) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def setup(database: str, postgres: str) -> tuple[str, str]:
    """Point Django at a scratch database and migrate it; return (DATABASE_URL, data dir)."""
    data_dir = tempfile.mkdtemp(prefix="meshview-bench-spans-")
    os.environ["MESHVIEW_DATA_DIR"] = data_dir
    url = ""
    if database == "postgresql":
        import psycopg

        name = f"mvbench_spans_{os.getpid()}"
        with psycopg.connect(f"{postgres}/postgres", autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name}")
        url = os.environ["DATABASE_URL"] = f"{postgres}/{name}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "meshview.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    return url, data_dir


def teardown(database: str, postgres: str, data_dir: str) -> None:
    from django.db import connections

    connections.close_all()
    shutil.rmtree(data_dir, ignore_errors=True)
    if database == "postgresql":
        import psycopg

        with psycopg.connect(f"{postgres}/postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS mvbench_spans_{os.getpid()} WITH (FORCE)")


def big_export(trace: int) -> bytes:
    """One trace of EXPORT_SPANS spans: a server root, then client spans of `frontend` and their
    server children in `backend`, starting now."""
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as ts
    from opentelemetry.proto.common.v1 import common_pb2 as common
    from opentelemetry.proto.trace.v1 import trace_pb2 as tr

    def kv(key: str, value: str | int) -> common.KeyValue:
        if isinstance(value, int):
            return common.KeyValue(key=key, value=common.AnyValue(int_value=value))
        return common.KeyValue(key=key, value=common.AnyValue(string_value=value))

    now = time.time_ns() - 60 * 10**9
    trace_id = trace.to_bytes(16, "big")

    def span(n: int, parent: int, kind: int, name: str, **attributes: str | int) -> tr.Span:
        return tr.Span(trace_id=trace_id, span_id=(trace * 100_000 + n).to_bytes(8, "big"),
                       parent_span_id=(trace * 100_000 + parent).to_bytes(8, "big") if parent else b"",
                       name=name, kind=kind, start_time_unix_nano=now + n * 1000,
                       end_time_unix_nano=now + n * 1000 + 3 * 10**6,
                       attributes=[kv(k, v) for k, v in attributes.items()])

    frontend = [span(1, 0, tr.Span.SPAN_KIND_SERVER, "GET /", **{"http.response.status_code": 200})]
    backend = []
    for n in range(2, EXPORT_SPANS + 1, 2):
        frontend.append(span(n, 1, tr.Span.SPAN_KIND_CLIENT, "GET /item", **{
            "server.address": "backend", "http.request.method": "GET", "http.response.status_code": 200}))
        if n + 1 <= EXPORT_SPANS:
            backend.append(span(n + 1, n, tr.Span.SPAN_KIND_SERVER, "GET /item", **{
                "http.route": "/item", "http.response.status_code": 200}))

    def resource_spans(service: str, spans: list) -> tr.ResourceSpans:
        attributes = [kv("service.name", service), kv("k8s.namespace.name", "shop"),
                      kv("k8s.deployment.name", f"{service}-v1")]
        return tr.ResourceSpans(resource={"attributes": attributes}, scope_spans=[tr.ScopeSpans(spans=spans)])

    request = ts.ExportTraceServiceRequest(
        resource_spans=[resource_spans("frontend", frontend), resource_spans("backend", backend)])
    return request.SerializeToString()


def part_export(repeat: int) -> None:
    from django.test import Client

    from meshview.core.access import EVERYTHING
    from meshview.core.actions import issue_token
    from meshview.traces import queries
    from meshview.traces.decode import decode_otlp_protobuf

    _, token = issue_token(f"bench-{os.getpid()}", ["ingest"])
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    acks, decodes = [], []
    for n in range(repeat):
        body = big_export(1000 + n)
        decodes.append(timed(lambda body=body: decode_otlp_protobuf(body)))
        started = time.perf_counter()
        response = client.post("/v1/traces", body, content_type="application/x-protobuf")
        acks.append(time.perf_counter() - started)
        assert response.status_code == 200, response.content
    print(f"  10,000-span export acknowledged: best {ms(min(acks))}, median {ms(statistics.median(acks))}, "
          f"max {ms(max(acks))} ({len(body):,} bytes of protobuf)")
    print(f"    baseline, decoding that export alone: {ms(min(decodes))}")
    big = f"{1000:032x}"
    small = queries.find_trace_ids(queries.TraceQuery(0, time.time_ns(), limit=1000), access=EVERYTHING)
    assert big in small
    ten = big_export_small()
    summary_big, summary_small = [], []
    for _ in range(100):  # in turn, so that the machine's load weighs on both alike
        summary_big.append(timed(lambda: queries.summaries([big], access=EVERYTHING)))
        summary_small.append(timed(lambda: queries.summaries([ten], access=EVERYTHING)))
    (found,) = queries.summaries([big], access=EVERYTHING)
    assert found["spanCount"] == EXPORT_SPANS, found["spanCount"]
    (found,) = queries.summaries([ten], access=EVERYTHING)
    assert found["spanCount"] == 10, found["spanCount"]
    print(f"  trace summary of the 10,000-span trace: best {min(summary_big) * 1000:.2f} ms, "
          f"p50 {statistics.median(summary_big) * 1000:.2f} ms, max {ms(max(summary_big))}")
    print(f"    baseline, summary of a 10-span trace: best {min(summary_small) * 1000:.2f} ms, "
          f"p50 {statistics.median(summary_small) * 1000:.2f} ms")


def big_export_small() -> str:
    """Store a 10-span trace; return its id."""
    from meshview.traces.actions import store_spans
    from meshview.traces.decode import decode_otlp_protobuf

    global EXPORT_SPANS
    saved, EXPORT_SPANS = EXPORT_SPANS, 10
    try:
        store_spans(decode_otlp_protobuf(big_export(7)))
    finally:
        EXPORT_SPANS = saved
    return f"{7:032x}"


GRAPH_CHILD = """
import json, os, resource, statistics, sys, time
sys.path.insert(0, {root!r})
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "meshview.settings")
import django
django.setup()
from django.test import Client
from django.test.utils import override_settings
client = Client()
times = []
with override_settings(MESHVIEW_ANONYMOUS_ACCESS=True, ALLOWED_HOSTS=["*"]):
    for _ in range({repeat}):
        started = time.perf_counter()
        response = client.get("/api/v1/graph", {{"duration": "10m", "sources": "spans", "graphType": "workload",
                                                 "queryTime": "{query_time}", "namespaces": "bookinfo"}})
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.content[:500]
body = response.json()
print(json.dumps({{"times": times, "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "nodes": len(body["elements"]["nodes"]), "edges": len(body["elements"]["edges"])}}))
"""


def part_graph(spans: int, repeat: int, url: str) -> None:
    from django.db import connection

    from meshview.traces.actions import settle_span_pairs, store_spans
    from meshview.traces.decode import decode_otlp_protobuf
    from tests.graph.spansim import render
    from tests.meshsim import bookinfo_calls

    now = time.time()
    start = now - 600
    stored = 0
    started = time.perf_counter()
    batches = 0
    while stored < spans:
        at = start + 5 + (batches * 2.9) % 540
        export = decode_otlp_protobuf(render(bookinfo_calls(datetime.fromtimestamp(at, UTC), scale=40))
                                      .SerializeToString())
        stored += store_spans(export)
        batches += 1
    settle_span_pairs(now + 3600)
    elapsed = time.perf_counter() - started
    print(f"  stored {stored:,} spans in {batches} exports in {elapsed:,.0f} s ({stored / elapsed:,.0f} spans/s, "
          "rendering the exports included)")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM ANALYZE")
        count_times = []
        for _ in range(repeat):
            t = time.perf_counter()
            cursor.execute("SELECT COUNT(*) FROM traces_span WHERE start_ns >= %s AND start_ns < %s",
                           [int(start * 1e9), int(now * 1e9) + 10**9])
            in_window = cursor.fetchone()[0]
            count_times.append(time.perf_counter() - t)
    env = {**os.environ, "MESHVIEW_DATA_DIR": os.environ["MESHVIEW_DATA_DIR"]}
    if url:
        env["DATABASE_URL"] = url
    script = GRAPH_CHILD.format(root=str(ROOT), repeat=repeat, query_time=int(now) + 1)
    child = subprocess.run([sys.executable, "-c", script],
                           capture_output=True, text=True, env=env, check=False, cwd=ROOT)
    if child.returncode != 0:
        raise SystemExit(child.stderr)
    result = json.loads(child.stdout.strip().splitlines()[-1])
    times = result["times"]
    assert result["edges"], "the graph drew nothing"
    print(f"  GET /api/v1/graph?duration=10m&sources=spans over {in_window:,} spans: best {ms(min(times))}, "
          f"median {ms(statistics.median(times))}, first {ms(times[0])}; {result['nodes']} nodes, "
          f"{result['edges']} edges; web process peak RSS {result['maxrss_kb'] / 1024:,.0f} MB")
    print(f"    baseline, SELECT COUNT(*) of the window's spans: best {ms(min(count_times))}")


def part_dependencies(repeat: int) -> None:
    from django.db import connection, transaction
    from django.test import Client
    from django.test.utils import override_settings

    from meshview.mesh import rollups

    # Bookinfo's links and how many of its ~133 spans a minute each accounts for.
    links = [("istio-ingressgateway", "productpage", 20), ("productpage", "details", 20),
             ("productpage", "reviews", 20), ("reviews", "ratings", 2), ("ratings", "mongodb", 1)]
    spans_per_bucket = 10_000_000 / (SEVEN_DAYS / 10)
    scale = spans_per_bucket / (133 / 6)
    now = int(time.time())
    first = (now - SEVEN_DAYS) // 10 * 10
    rows = []
    total = 0
    for bucket in range(first, now // 10 * 10, 10):
        for parent, child, per_bucket in links:
            calls = max(1, round(per_bucket * scale / 6))
            rows.append((bucket, "bookinfo", parent, "bookinfo", child, calls))
            total += calls
    started = time.perf_counter()
    with transaction.atomic():
        for i in range(0, len(rows), 50000):
            rollups.write(rollups.DEPENDENCIES, {row[:-1]: (row[-1],) for row in rows[i : i + 50000]})
    rolled = rollups.roll_up(time.time())
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    print(f"  wrote {len(rows):,} 10-second dependency rows ({total:,} links, about 10 million spans' worth) "
          f"and rolled them up ({rolled:,} coarse rows) in {time.perf_counter() - started:,.0f} s")
    client = Client()
    with override_settings(MESHVIEW_ANONYMOUS_ACCESS=True):
        def get(lookback: int) -> list[float]:
            times = []
            for _ in range(repeat):
                t = time.perf_counter()
                response = client.get("/jaeger/api/dependencies", {"endTs": str(now * 1000), "lookback": str(lookback)})
                times.append(time.perf_counter() - t)
                assert response.status_code == 200 and response.json()["data"], response.content[:300]
            return times

        week = get(SEVEN_DAYS * 1000)
        hour = get(3_600_000)
    print(f"  /jaeger/api/dependencies?lookback=7d: p50 {ms(statistics.median(week))}, max {ms(max(week))}")
    print(f"    baseline, lookback=1h: p50 {ms(statistics.median(hour))}")
    page = dependencies_page(repeat)
    print(f"  the dependencies page (System Architecture) in Chromium, opened (lookback 1h) until its graph is drawn, "
          f"a cold browser cache: best {ms(min(page['cold']))}, median {ms(statistics.median(page['cold']))}")
    print(f"    the same page again in the same browser profile (the app's files cached): "
          f"best {ms(min(page['warm']))}, median {ms(statistics.median(page['warm']))}")
    print(f"    then lookback 7d chosen until that graph is drawn: best {ms(min(page['week']))}, "
          f"median {ms(statistics.median(page['week']))}")
    print(f"    baseline, the browser opening /healthz in the same way: best {ms(min(page['floor']))}, "
          f"median {ms(statistics.median(page['floor']))}")


def _week_of_dependencies(response: Any) -> bool:
    return "/jaeger/api/dependencies" in response.url and f"lookback={SEVEN_DAYS * 1000}" in response.url


# The page's DagView marks itself once the laid-out graph has been painted.
DRAWN = "[data-testid=dependencies-dag][data-drawn]"


def dependencies_page(repeat: int) -> dict[str, list[float]]:
    """Open meshview's dependencies page in headless Chromium against a `serve` process on the
    bench's database; return the seconds, `repeat` times each: `cold`, from opening it in a
    fresh browser profile (nothing cached) until its graph is drawn (the default lookback, 1h);
    `warm`, the same in the same profile again (the app's files from the browser's cache);
    `week`, from choosing 7d until the graph of that answer is drawn; `floor`, the browser
    opening /healthz in a fresh profile (what any page costs the browser and Playwright)."""
    from playwright.sync_api import sync_playwright

    from tests.conftest import CHROMIUM, CHROMIUM_ARGS, Server

    server = Server(Path(os.environ["MESHVIEW_DATA_DIR"]), args=("--no-worker",)).wait_ready()
    times: dict[str, list[float]] = {"cold": [], "warm": [], "week": [], "floor": []}
    viewport = {"width": 1440, "height": 900}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for _ in range(repeat):
                context = browser.new_context(viewport=viewport)
                page = context.new_page()
                started = time.perf_counter()
                page.goto(f"{server.url}/healthz")
                times["floor"].append(time.perf_counter() - started)
                context.close()

                context = browser.new_context(viewport=viewport)
                page = context.new_page()
                started = time.perf_counter()
                page.goto(f"{server.url}/dependencies")
                page.wait_for_selector(DRAWN, timeout=30000)
                times["cold"].append(time.perf_counter() - started)
                assert int(page.get_by_test_id("dependencies-dag").get_attribute("data-edges")) >= 4
                # Only the 7-day graph can set the mark again: its call counts differ from the hour's.
                page.eval_on_selector(DRAWN, "e => e.removeAttribute('data-drawn')")
                started = time.perf_counter()
                with page.expect_response(_week_of_dependencies):
                    page.get_by_test_id("dependencies-lookback").select_option("7d")
                page.wait_for_selector(DRAWN, timeout=30000)
                times["week"].append(time.perf_counter() - started)
                page.close()

                page = context.new_page()
                started = time.perf_counter()
                page.goto(f"{server.url}/dependencies")
                page.wait_for_selector(DRAWN, timeout=30000)
                times["warm"].append(time.perf_counter() - started)
                context.close()
            browser.close()
    finally:
        server.stop()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="postgresql", choices=["postgresql", "sqlite"])
    parser.add_argument("--parts", default="export,graph,dependencies")
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    url, data_dir = setup(args.database, args.postgres)
    from django.test.utils import override_settings

    hosts = override_settings(ALLOWED_HOSTS=["*"])  # Django's test client asks for "testserver"
    hosts.enable()
    try:
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"python {platform.python_version()}, {args.database}, {os.cpu_count()} cores, load {load}")
        for part in args.parts.split(","):
            print(f"{part}:")
            {"export": lambda: part_export(args.repeat), "graph": lambda: part_graph(args.spans, args.repeat, url),
             "dependencies": lambda: part_dependencies(args.repeat)}[part]()
        print(f"load at the end {', '.join(f'{x:.1f}' for x in os.getloadavg())}; bench process peak RSS "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")
    finally:
        teardown(args.database, args.postgres, data_dir)


if __name__ == "__main__":
    main()
