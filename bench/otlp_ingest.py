"""OTLP ingest end to end through HTTP, and trace-by-id and search latency with N spans stored.

For PostgreSQL (a scratch database ``mvbench_ingest_<pid>`` created and dropped here, given to
the server as ``DATABASE_URL``) and for SQLite (a temporary ``MESHVIEW_DATA_DIR``), the bench:

1. starts ``manage.py serve --no-worker`` on a free loopback port, sends five exports and runs
   ANALYZE, as autovacuum would on a store in use (it may be off on the server used);
2. posts OTLP/HTTP exports of 1,000 spans each (``application/x-protobuf``, as an instrumented
   mesh service sends them: HTTP server and client spans and database spans with about ten
   attributes each, a resource of eight attributes, error spans with an exception event) from
   1 client thread, then from 4, and prints spans per second, with the server process's CPU
   time and PostgreSQL's statement time per export; every export is distinct, so no run
   re-sends spans another already stored;
3. measures, in the same run on the same rows, the baselines: the bare protobuf parse
   (``ExportTraceServiceRequest.FromString``), then the bare write of the rows meshview stores
   for those spans, one transaction per export: psycopg ``COPY`` into a plain unlogged table
   (and, to show what the indexes cost, into a table with ``traces_span``'s indexes), and for
   SQLite ``executemany`` INSERT into a plain table;
4. loads the store up to ``--spans`` spans and times ``/jaeger/api/traces/{id}`` and
   ``/jaeger/api/traces?service=...&tags=...&limit=20`` through HTTP (p50 and p99).

Loading method for step 4: the bulk spans are not sent over HTTP (10 million would take longer
than everything else together). They are copies of spans meshview decoded and turned into rows
in step 3, each trace with a fresh trace id and span ids, spread evenly over the last
``--days`` days (default 2, the window a Jaeger search covers by default), written straight
into ``traces_span`` with ``COPY`` (PostgreSQL, into the day partitions meshview creates) or
``executemany`` (SQLite), then ``VACUUM ANALYZE`` / ``ANALYZE`` as autovacuum would leave a
steady-state store. Before loading, the bench estimates the disk space the spans need from the
bytes per span it measured and refuses a size that would leave less than 10 GB free.

Everything the bench creates (its database, data directory and servers) is removed at the end,
also on Ctrl-C. Budgets (DESIGN.md section 7): ingest 50,000 spans/s into PostgreSQL and 30,000
into SQLite on one process; trace by id under 50 ms and a search under 300 ms with 10 million
spans stored.

    .venv/bin/python bench/otlp_ingest.py [--spans 1000000 (0: ingest only)] [--databases postgresql,sqlite]
        [--ingest-batches 100] [--queries 200] [--postgres postgresql://postgres@127.0.0.1:5432]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest  # noqa: E402
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue  # noqa: E402
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status  # noqa: E402

SPANS_PER_BATCH = 1000
SPANS_PER_TRACE = 4
DAY_NS = 86_400 * 10**9
BUDGET_INGEST = {"postgresql": 50_000, "sqlite": 30_000}
BUDGET_TRACE_MS, BUDGET_SEARCH_MS = 50, 300
MIN_FREE_BYTES = 10 * 10**9
BENCH_CLIENT = "meshview-bench"  # application_name of the bench's own PostgreSQL connections
# A mesh of twelve services; each export comes from one pod of one of them.
SERVICES = [
    "productpage", "reviews", "ratings", "details", "checkout", "cart",
    "payment", "shipping", "catalog", "currency", "email", "frontend",
]
ROUTES = ["/api/orders/{id}", "/api/cart", "/api/checkout", "/healthz", "/api/products/{id}/reviews"]
DB_STATEMENTS = [
    "SELECT id, total, status FROM orders WHERE customer_id = $1 ORDER BY created_at DESC LIMIT 20",
    "UPDATE carts SET updated_at = now() WHERE id = $1",
    "INSERT INTO payments (order_id, amount, currency) VALUES ($1, $2, $3)",
]
# The searches timed, each with a service: from tags most spans carry to one no span carries
# (a search must then read every span of the service in the window, or its tag index).
SEARCHES = {
    "resource tag, every span": {"k8s.namespace.name": "shop"},
    "db.system, 1 span in 4": {"db.system": "postgresql"},
    "route, 1 span in 10": {"http.route": "/api/cart"},
    "status 500, 1 in 8": {"http.response.status_code": "500"},
    "error=true, 1 in 8": {"error": "true"},
    "GET and 404, 1 in 10": {"http.request.method": "GET", "http.response.status_code": "404"},
    "status 503, no span": {"http.response.status_code": "503"},
}


# --- exports ----------------------------------------------------------------------------------


def _kv(key: str, value: object) -> KeyValue:
    if isinstance(value, bool):
        return KeyValue(key=key, value=AnyValue(bool_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    if isinstance(value, float):
        return KeyValue(key=key, value=AnyValue(double_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=str(value)))


def build_export(rng: random.Random, service: str, start_ns: int, trace_ids: list[str]) -> bytes:
    """Return one OTLP protobuf export of SPANS_PER_BATCH spans from one pod of ``service``, in
    traces of four (HTTP server, HTTP client, HTTP server, database client) starting from
    ``start_ns``; the trace ids are appended to ``trace_ids``."""
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    pod = f"{service}-{rng.randrange(16**9):09x}-{rng.randrange(36**5):05x}"[:40]
    resource_spans.resource.attributes.extend(
        _kv(k, v)
        for k, v in {
            "service.name": service,
            "service.version": f"1.{rng.randrange(20)}.{rng.randrange(10)}",
            "service.namespace": "shop",
            "k8s.namespace.name": "shop",
            "k8s.pod.name": pod,
            "k8s.deployment.name": service,
            "host.name": f"node-{rng.randrange(12)}",
            "telemetry.sdk.language": "python",
        }.items()
    )
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = "opentelemetry.instrumentation.django"
    scope_spans.scope.version = "0.48b0"
    start = start_ns
    trace_id = parent = b""
    for i in range(SPANS_PER_BATCH):
        role = i % SPANS_PER_TRACE
        if role == 0:
            trace_id, parent = rng.randbytes(16), b""
            trace_ids.append(trace_id.hex())
        span_id = rng.randbytes(8)
        route = rng.choice(ROUTES)
        start += rng.randrange(50_000, 2_000_000)
        duration = rng.randrange(100_000, 80_000_000)
        status = rng.choice((200, 200, 200, 201, 404, 500))
        if role in (0, 2):
            kind, name = Span.SPAN_KIND_SERVER, f"GET {route}"
            attributes: dict[str, object] = {
                "http.request.method": "GET", "http.route": route,
                "url.path": route.replace("{id}", str(rng.randrange(10**6))),
                "url.scheme": "http", "http.response.status_code": status,
                "server.address": f"{service}.shop.svc.cluster.local", "server.port": 8080,
                "client.address": f"10.1.{rng.randrange(8)}.{rng.randrange(2, 250)}",
                "user_agent.original": "Envoy/1.31", "network.protocol.version": "1.1",
            }
        elif role == 1:
            callee = rng.choice(SERVICES)
            kind, name = Span.SPAN_KIND_CLIENT, "GET"
            attributes = {
                "http.request.method": "GET",
                "url.full": f"http://{callee}.shop:8080{route.replace('{id}', str(rng.randrange(10**6)))}",
                "http.response.status_code": status, "server.address": f"{callee}.shop", "server.port": 8080,
                "network.peer.address": f"10.1.7.{rng.randrange(2, 250)}", "network.peer.port": 8080,
                "http.request.resend_count": 0, "network.protocol.version": "1.1",
                "http.request.body.size": rng.randrange(100, 20_000),
            }
        else:
            kind, name = Span.SPAN_KIND_CLIENT, "SELECT shop.orders"
            attributes = {
                "db.system": "postgresql", "db.namespace": "shop", "db.query.text": rng.choice(DB_STATEMENTS),
                "db.operation.name": "SELECT", "db.collection.name": "orders",
                "server.address": "postgres.shop", "server.port": 5432, "db.response.returned_rows": rng.randrange(100),
                "db.client.connection.pool.name": "default", "sampled.ratio": 0.25,
            }
        span = scope_spans.spans.add(
            trace_id=trace_id, span_id=span_id, parent_span_id=parent, name=name, kind=kind,
            start_time_unix_nano=start, end_time_unix_nano=start + duration, flags=0x101,
        )
        span.attributes.extend(_kv(k, v) for k, v in attributes.items())
        if status >= 500:
            span.status.code = Status.STATUS_CODE_ERROR
            span.status.message = "upstream returned 500"
            event = span.events.add(time_unix_nano=start + duration // 2, name="exception")
            event.attributes.extend([
                _kv("exception.type", "HTTPError"),
                _kv("exception.message", "500 Internal Server Error"),
                _kv("exception.stacktrace", "Traceback (most recent call last):\n  ...\nHTTPError"),
            ])
        if role == 0:
            span.events.add(time_unix_nano=start + 1000, name="request.received")
        parent = span_id
    return request.SerializeToString()


def build_exports(count: int, rng: random.Random, trace_ids: list[str]) -> list[bytes]:
    """``count`` exports from services in turn, their spans in the last few minutes."""
    now = time.time_ns()
    return [
        build_export(rng, SERVICES[i % len(SERVICES)], now - rng.randrange(60, 600) * 10**9, trace_ids)
        for i in range(count)
    ]


# --- machine, server, measurements -------------------------------------------------------------


def machine() -> str:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{os.cpu_count()} CPUs, load average {load}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """``manage.py serve --no-worker`` on a free loopback port, its output in a log file."""

    def __init__(self, data_dir: Path, database_url: str) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env["MESHVIEW_DATA_DIR"] = str(data_dir)
        if database_url:
            env["DATABASE_URL"] = database_url
        self.log = open(data_dir / "serve.log", "w")  # noqa: SIM115  (closed in stop)
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "serve", "--no-worker", "--port", str(self.port)],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 120
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"serve exited with {self.process.returncode}: see {self.log.name}")
            try:
                if self.request("GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"serve did not answer within 120 s: see {self.log.name}")
            time.sleep(0.2)

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)

    def request(self, method: str, path: str, body: bytes | None = None,
                conn: http.client.HTTPConnection | None = None) -> tuple[int, bytes]:
        own = conn is None
        conn = conn or self.connection()
        try:
            headers = {"Content-Type": "application/x-protobuf"} if body is not None else {}
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            if own:
                conn.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def post_all(server: Server, bodies: list[bytes], threads: int) -> float:
    """Post every body (``threads`` clients, each on its own keep-alive connection); return the
    wall time. Raises RuntimeError on any answer but 200."""
    pending = list(reversed(bodies))
    lock = threading.Lock()
    failures: list[str] = []

    def client() -> None:
        conn = server.connection()
        try:
            while True:
                with lock:
                    if not pending or failures:
                        return
                    body = pending.pop()
                status, answer = server.request("POST", "/v1/traces", body, conn)
                if status != 200:
                    with lock:
                        failures.append(f"{status}: {answer[:200]!r}")
        finally:
            conn.close()

    workers = [threading.Thread(target=client) for _ in range(threads)]
    began = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - began
    if failures:
        raise RuntimeError(f"POST /v1/traces failed: {failures[0]}")
    return elapsed


def percentiles(samples: list[float]) -> tuple[float, float]:
    """(p50, p99) of ``samples``, in milliseconds."""
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p99 * 1000


# --- rows ------------------------------------------------------------------------------------


def stored_rows(bodies: list[bytes]) -> list[list[tuple]]:
    """The rows meshview writes for each body (its decoder and row builder), one list per export."""
    from meshview.traces.actions import span_rows
    from meshview.traces.decode import decode_otlp_protobuf

    return [list(span_rows(decode_otlp_protobuf(body))) for body in bodies]


def _copy_text(value: Any) -> str:
    if value is None:
        return "\\N"
    text = str(value)
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")


@dataclass
class TraceShape:
    """A template trace: its rows as COPY text around the fields each copy changes."""

    parents: list[int]  # index of each span's parent in the trace, -1 for the root
    offsets: list[int]  # start of each span after the trace's start, ns
    durations: list[int]
    rows: list[tuple]
    heads: list[str] = field(default_factory=list)  # trace_state, name, kind
    tails: list[str] = field(default_factory=list)  # status_code ... search_tags


def trace_shapes(rows: list[tuple], columns: tuple[str, ...]) -> list[TraceShape]:
    """Group rows (SPANS_PER_TRACE consecutive rows per trace) into template traces."""
    at = {name: i for i, name in enumerate(columns)}
    assert columns[:9] == ("trace_id", "span_id", "parent_span_id", "trace_state", "name", "kind",
                           "start_ns", "end_ns", "duration_ns"), columns
    shapes = []
    for first in range(0, len(rows) - SPANS_PER_TRACE + 1, SPANS_PER_TRACE):
        trace = rows[first:first + SPANS_PER_TRACE]
        ids = [row[at["span_id"]] for row in trace]
        start = min(row[at["start_ns"]] for row in trace)
        shape = TraceShape(
            parents=[ids.index(row[at["parent_span_id"]]) if row[at["parent_span_id"]] else -1 for row in trace],
            offsets=[row[at["start_ns"]] - start for row in trace],
            durations=[row[at["duration_ns"]] for row in trace],
            rows=trace,
        )
        for row in trace:
            shape.heads.append("\t".join(_copy_text(v) for v in row[3:6]))
            shape.tails.append("\t".join(_copy_text(v) for v in row[9:]))
        shapes.append(shape)
    return shapes


def bulk_traces(shapes: list[TraceShape], spans: int, first_ns: int, last_ns: int,
                rng: random.Random) -> Iterator[tuple[TraceShape, str, list[str], int]]:
    """Yield (shape, trace id, span ids, start) for traces of ``spans`` spans in all, their starts
    spread evenly from ``first_ns`` to ``last_ns``."""
    traces = max(1, spans // SPANS_PER_TRACE)
    step = (last_ns - first_ns) // traces
    bits = rng.getrandbits
    for n in range(traces):
        shape = shapes[n % len(shapes)]
        yield (shape, f"{bits(128):032x}", [f"{bits(64):016x}" for _ in shape.parents],
               first_ns + n * step)


# --- PostgreSQL -------------------------------------------------------------------------------


def pg_baselines(admin_url: str, database: str, rows: list[list[tuple]], columns: tuple[str, ...]) -> dict:
    """Bare COPY of ``rows`` (one transaction per export) into a plain unlogged table and into a
    table with traces_span's indexes; rows/s of each."""
    result = {}
    names = ", ".join(columns)
    with pg_connect(f"{admin_url}/{database}", autocommit=True) as conn:
        for table, how in (("bench_copy_plain", "UNLOGGED TABLE {t} (LIKE traces_span INCLUDING DEFAULTS "
                                                "INCLUDING IDENTITY)"),
                           ("bench_copy_indexed", "TABLE {t} (LIKE traces_span INCLUDING ALL)")):
            conn.execute(f"CREATE {how.format(t=table)}")
            began = time.perf_counter()
            for batch in rows:
                with conn.transaction(), conn.cursor() as cursor, \
                        cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for row in batch:
                        copy.write_row(row)
            result[table] = sum(map(len, rows)) / (time.perf_counter() - began)
            conn.execute(f"DROP TABLE {table}")
    return result


def pg_connect(url: str, autocommit: bool = False) -> psycopg.Connection:
    """A connection of the bench's own, named so that it is told apart from the server's."""
    return psycopg.connect(url, autocommit=autocommit, application_name=BENCH_CLIENT)


def pg_count(url: str) -> int:
    with pg_connect(url) as conn:
        return conn.execute("SELECT count(*) FROM traces_span").fetchone()[0]


def pg_bytes_per_span(url: str) -> float:
    with pg_connect(url) as conn:
        size = conn.execute(
            "SELECT coalesce(sum(pg_total_relation_size(i.inhrelid)), 0) FROM pg_inherits i "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'traces_span'"
        ).fetchone()[0]
        count = conn.execute("SELECT count(*) FROM traces_span").fetchone()[0]
    return float(size) / max(count, 1)


def pg_bulk_load(url: str, shapes: list[TraceShape], spans: int, days: int, rng: random.Random,
                 sample: list[str]) -> float:
    """COPY ``spans`` spans into traces_span (day partitions created first, named as meshview
    names them), then VACUUM ANALYZE; return spans/s of the COPY. Adds some trace ids to
    ``sample``."""
    from meshview.traces.actions import SPAN_COLUMNS, _partition_name

    last_ns = time.time_ns() - 60 * 10**9
    first_ns = last_ns - days * DAY_NS
    with pg_connect(url, autocommit=True) as conn:
        for day in range(first_ns // DAY_NS, last_ns // DAY_NS + 1):
            conn.execute(f"CREATE TABLE IF NOT EXISTS {_partition_name(day)} PARTITION OF traces_span "
                         f"FOR VALUES FROM ({day * DAY_NS}) TO ({(day + 1) * DAY_NS})")
        began = time.perf_counter()
        chunk: list[str] = []
        written = 0
        every = max(1, spans // SPANS_PER_TRACE // 2000)
        with conn.cursor() as cursor, cursor.copy(f"COPY traces_span ({', '.join(SPAN_COLUMNS)}) FROM STDIN") as copy:
            for n, (shape, trace_id, span_ids, start) in enumerate(bulk_traces(shapes, spans, first_ns, last_ns, rng)):
                if n % every == 0:
                    sample.append(trace_id)
                for i, parent in enumerate(shape.parents):
                    begin = start + shape.offsets[i]
                    chunk.append(f"{trace_id}\t{span_ids[i]}\t{span_ids[parent] if parent >= 0 else ''}\t"
                                 f"{shape.heads[i]}\t{begin}\t{begin + shape.durations[i]}\t{shape.durations[i]}\t"
                                 f"{shape.tails[i]}\n")
                if len(chunk) >= 20_000:
                    copy.write("".join(chunk))
                    written += len(chunk)
                    chunk.clear()
                    progress(written, spans, began)
            copy.write("".join(chunk))
            written += len(chunk)
        elapsed = time.perf_counter() - began
        print(f"\r    copied {written:,} spans in {elapsed:.0f} s; VACUUM ANALYZE ...", end="", flush=True)
        conn.execute("VACUUM ANALYZE traces_span")
        print(" done")
    return written / elapsed


def progress(done: int, total: int, began: float) -> None:
    if done % 500_000 < 20_000:
        rate = done / max(time.perf_counter() - began, 1e-9)
        print(f"\r    {done:,} of {total:,} spans, {rate:,.0f} spans/s", end="", flush=True)


# --- SQLite ------------------------------------------------------------------------------------


def sqlite_connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=5000")
    return conn


def sqlite_baseline(path: Path, rows: list[list[tuple]], columns: tuple[str, ...]) -> float:
    """Bare executemany INSERT of ``rows`` (one transaction per export) into a plain table."""
    conn = sqlite_connect(path)
    try:
        conn.execute(f"CREATE TABLE bench_insert (id INTEGER PRIMARY KEY AUTOINCREMENT, {', '.join(columns)})")
        sql = f"INSERT INTO bench_insert ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        began = time.perf_counter()
        for batch in rows:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(sql, batch)
            conn.execute("COMMIT")
        return sum(map(len, rows)) / (time.perf_counter() - began)
    finally:
        conn.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def sqlite_count(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT count(*) FROM traces_span").fetchone()[0]
    finally:
        conn.close()


def sqlite_bulk_load(path: Path, shapes: list[TraceShape], spans: int, days: int, rng: random.Random,
                     sample: list[str]) -> float:
    """INSERT ``spans`` spans into traces_span with executemany (100,000 a transaction), then
    ANALYZE; return spans/s of the inserts."""
    from meshview.traces.actions import SPAN_COLUMNS

    last_ns = time.time_ns() - 60 * 10**9
    first_ns = last_ns - days * DAY_NS
    sql = f"INSERT INTO traces_span ({', '.join(SPAN_COLUMNS)}) VALUES ({', '.join('?' * len(SPAN_COLUMNS))})"
    conn = sqlite_connect(path)
    try:
        began = time.perf_counter()
        chunk: list[tuple] = []
        written = 0
        every = max(1, spans // SPANS_PER_TRACE // 2000)

        def flush() -> None:
            nonlocal written
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(sql, chunk)
            conn.execute("COMMIT")
            written += len(chunk)
            chunk.clear()
            progress(written, spans, began)

        for n, (shape, trace_id, span_ids, start) in enumerate(bulk_traces(shapes, spans, first_ns, last_ns, rng)):
            if n % every == 0:
                sample.append(trace_id)
            for i, parent in enumerate(shape.parents):
                begin = start + shape.offsets[i]
                row = shape.rows[i]
                chunk.append((trace_id, span_ids[i], span_ids[parent] if parent >= 0 else "", *row[3:6], begin,
                              begin + shape.durations[i], shape.durations[i], *row[9:]))
            if len(chunk) >= 100_000:
                flush()
        if chunk:
            flush()
        elapsed = time.perf_counter() - began
        print(f"\r    inserted {written:,} spans in {elapsed:.0f} s; ANALYZE ...", end="", flush=True)
        conn.execute("ANALYZE")
        print(" done")
        return written / elapsed
    finally:
        conn.close()


# --- queries -----------------------------------------------------------------------------------


def time_queries(server: Server, trace_ids: list[str], queries: int, rng: random.Random) -> dict:
    """p50/p99 of trace by id and of searches, through HTTP, ``queries`` of each (after a few
    untimed ones)."""
    conn = server.connection()
    by_id: list[float] = []
    searches: dict[str, list[float]] = {}
    try:
        wanted = [rng.choice(trace_ids) for _ in range(queries + 10)]
        for n, trace_id in enumerate(wanted):
            began = time.perf_counter()
            status, body = server.request("GET", f"/jaeger/api/traces/{trace_id}", conn=conn)
            elapsed = time.perf_counter() - began
            if status != 200 or json.loads(body)["data"][0]["traceID"] != trace_id:
                raise RuntimeError(f"trace {trace_id}: {status} {body[:200]!r}")
            if n >= 10:
                by_id.append(elapsed)
        found = 0
        kinds = list(SEARCHES.items())
        for n in range(queries + 10):
            label, tags = kinds[n % len(kinds)]
            params = urllib.parse.urlencode({"service": rng.choice(SERVICES), "tags": json.dumps(tags), "limit": 20})
            began = time.perf_counter()
            status, body = server.request("GET", f"/jaeger/api/traces?{params}", conn=conn)
            elapsed = time.perf_counter() - began
            if status != 200:
                raise RuntimeError(f"search {params}: {status} {body[:200]!r}")
            found += len(json.loads(body)["data"])
            if n >= 10:
                searches.setdefault(label, []).append(elapsed)
    finally:
        conn.close()
    every = [t for samples in searches.values() for t in samples]
    return {
        "by_id": percentiles(by_id),
        "search": percentiles(every),
        "search_by_tags": {tags: percentiles(samples) for tags, samples in searches.items()},
        "traces_per_search": found / (queries + 10),
    }


# --- the run -----------------------------------------------------------------------------------


@dataclass
class Result:
    database: str
    ingest: dict[int, float] = field(default_factory=dict)
    # ms per export: server process CPU, PostgreSQL time running statements
    cpu: dict[int, tuple[float, float]] = field(default_factory=dict)
    parse: float = 0.0
    write: dict[str, float] = field(default_factory=dict)
    load_rate: float = 0.0
    stored: int = 0
    bytes_per_span: float = 0.0
    queries: dict = field(default_factory=dict)
    load: list[str] = field(default_factory=list)


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time the processes used so far (Linux /proc); 0 for those gone."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def pg_active_ms(url: str) -> float:
    """Milliseconds the database's sessions have spent running statements (pg_stat_database,
    which also counts the sessions that ended; statistics reach it within a second)."""
    if not url:
        return 0.0
    with pg_connect(url) as conn:
        return float(conn.execute(
            "SELECT active_time FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()[0])


def measure_ingest(result: Result, server: Server, runs: dict[int, list[bytes]], count: Callable[[], int],
                   url: str) -> None:
    before = count()
    posted = 0
    for threads, bodies in runs.items():
        post_all(server, bodies[:threads], threads)  # open the connections this run uses
        time.sleep(1.5)
        cpu_began = cpu_seconds([server.process.pid]), pg_active_ms(url)
        elapsed = post_all(server, bodies[threads:], threads)
        server_cpu = cpu_seconds([server.process.pid]) - cpu_began[0]
        time.sleep(1.5)
        cpu = server_cpu, (pg_active_ms(url) - cpu_began[1]) / 1000
        exports = len(bodies) - threads
        posted += len(bodies) * SPANS_PER_BATCH
        result.ingest[threads] = exports * SPANS_PER_BATCH / elapsed
        result.cpu[threads] = (cpu[0] / exports * 1000, cpu[1] / exports * 1000)
        print(f"    {threads} client thread{'s' if threads > 1 else ''}: {result.ingest[threads]:,.0f} spans/s "
              f"({exports:,} exports in {elapsed:.1f} s; CPU per export: server process {result.cpu[threads][0]:.1f} "
              f"ms, PostgreSQL statements active {result.cpu[threads][1]:.1f} ms; {machine()})")
    stored = count() - before
    if stored != posted:
        raise RuntimeError(f"posted {posted:,} spans but {stored:,} were stored")


def analyze(url: str, sqlite_path: Path) -> None:
    if url:
        with pg_connect(url, autocommit=True) as conn:
            conn.execute("ANALYZE traces_span")
    else:
        conn = sqlite3.connect(sqlite_path)
        try:
            conn.execute("ANALYZE")
        finally:
            conn.close()


def parse_rate(bodies: list[bytes]) -> float:
    began = time.perf_counter()
    for body in bodies:
        ExportTraceServiceRequest.FromString(body)
    return len(bodies) * SPANS_PER_BATCH / (time.perf_counter() - began)


def run_database(database: str, args: argparse.Namespace, work: Path, rng: random.Random) -> Result:
    from meshview.traces.actions import SPAN_COLUMNS

    result = Result(database)
    print(f"\n{database}: {machine()}")
    trace_ids: list[str] = []
    warmup = build_exports(5, rng, trace_ids)
    runs = {threads: build_exports(args.ingest_batches, rng, trace_ids) for threads in (1, 4)}
    data_dir = work / database
    data_dir.mkdir()
    pg_name = f"mvbench_ingest_{os.getpid()}"
    url = ""
    if database == "postgresql":
        with pg_connect(f"{args.postgres}/postgres", autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {pg_name}")
        url = f"{args.postgres}/{pg_name}"
    server = None
    try:
        server = Server(data_dir, url)
        count: Callable[[], int] = (lambda: pg_count(url)) if url else (
            lambda: sqlite_count(data_dir / "meshview.sqlite3"))
        post_all(server, warmup, 1)
        # A store in use has planner statistics from autovacuum, which may be off on the server
        # the bench runs against; without them PostgreSQL reads a new day partition whole to
        # find the traces an export touched.
        analyze(url, data_dir / "meshview.sqlite3")
        print("  ingest through HTTP")
        result.load.append(machine())
        measure_ingest(result, server, runs, count, url)
        result.load.append(machine())
        every_body = [body for bodies in runs.values() for body in bodies]
        rows = stored_rows(every_body)
        result.parse = max(parse_rate(every_body) for _ in range(3))
        if url:
            result.write = pg_baselines(args.postgres, pg_name, rows, SPAN_COLUMNS)
            result.bytes_per_span = pg_bytes_per_span(url)
        else:
            result.write = {"sqlite_plain": sqlite_baseline(data_dir / "baseline.sqlite3", rows, SPAN_COLUMNS)}
            result.bytes_per_span = (data_dir / "meshview.sqlite3").stat().st_size / max(count(), 1)
        for name, rate in result.write.items():
            print(f"  baseline {name}: {rate:,.0f} spans/s")
        stored = count()
        if args.spans <= 0:
            return result  # ingest only: no store to load and query
        bulk = max(0, args.spans - stored)
        need = bulk * result.bytes_per_span
        free = shutil.disk_usage(work).free
        if free - need < MIN_FREE_BYTES:
            raise RuntimeError(f"{args.spans:,} spans need about {need / 1e9:.0f} GB ({result.bytes_per_span:,.0f} "
                               f"bytes a span) and {free / 1e9:.0f} GB are free: choose a smaller --spans")
        print(f"  loading {bulk:,} spans (about {need / 1e9:.1f} GB) ...")
        shapes = trace_shapes([row for batch in rows for row in batch], SPAN_COLUMNS)
        sample: list[str] = []
        if url:
            result.load_rate = pg_bulk_load(url, shapes, bulk, args.days, rng, sample)
        else:
            result.load_rate = sqlite_bulk_load(data_dir / "meshview.sqlite3", shapes, bulk, args.days, rng, sample)
        result.stored = count()
        print(f"  {result.stored:,} spans stored; timing queries ({machine()})")
        result.load.append(machine())
        result.queries = time_queries(server, sample + trace_ids[:: max(1, len(trace_ids) // 200)], args.queries, rng)
        result.load.append(machine())
    finally:
        if server is not None:
            server.stop()
        if url:
            with pg_connect(f"{args.postgres}/postgres", autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {pg_name} WITH (FORCE)")
    return result


def report(results: list[Result], args: argparse.Namespace) -> None:
    names = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}
    width = 56
    print(f"\nOTLP ingest through HTTP, exports of {SPANS_PER_BATCH:,} spans (application/x-protobuf), spans/s")
    print(f"{'':{width}}" + "".join(f"{names[r.database]:>16}" for r in results))

    def line(label: str, values: list[str]) -> None:
        print(f"{label:{width}}" + "".join(f"{v:>16}" for v in values))

    for threads in (1, 4):
        line(f"meshview, {threads} client thread{'s' if threads > 1 else ''}",
             [f"{r.ingest[threads]:,.0f}" for r in results])
    line("baseline: ExportTraceServiceRequest.FromString", [f"{r.parse:,.0f}" for r in results])
    line("baseline: COPY, plain unlogged table / executemany",
         [f"{r.write.get('bench_copy_plain', r.write.get('sqlite_plain', 0)):,.0f}" for r in results])
    line("baseline: parse + that write, one after the other",
         [f"{1 / (1 / r.parse + 1 / r.write.get('bench_copy_plain', r.write.get('sqlite_plain', 1))):,.0f}"
          for r in results])
    line("reference: COPY into a table with traces_span's indexes",
         [f"{r.write['bench_copy_indexed']:,.0f}" if "bench_copy_indexed" in r.write else "-" for r in results])
    line("budget", [f"{BUDGET_INGEST[r.database]:,}" for r in results])
    for threads in (1, 4):
        line(f"ms per export, {threads} thread{'s' if threads > 1 else ''}: server CPU / PostgreSQL active",
             [f"{r.cpu[threads][0]:.1f} / {r.cpu[threads][1]:.1f}" if r.database == "postgresql"
              else f"{r.cpu[threads][0]:.1f}" for r in results])
    line("bytes stored per span (table, TOAST and indexes)", [f"{r.bytes_per_span:,.0f}" for r in results])
    if args.spans > 0:
        print(f"\nQueries through HTTP with the spans stored ({args.queries} of each, p50 / p99 ms)")
        line("spans stored", [f"{r.stored:,}" for r in results])
        line("bulk load rate (spans/s, see the loading method)", [f"{r.load_rate:,.0f}" for r in results])
        line(f"GET /jaeger/api/traces/{{id}} (budget {BUDGET_TRACE_MS} ms)",
             ["{:.1f} / {:.1f}".format(*r.queries["by_id"]) for r in results])
        line(f"search service+tags, limit 20 (budget {BUDGET_SEARCH_MS} ms)",
             ["{:.1f} / {:.1f}".format(*r.queries["search"]) for r in results])
        for label in results[0].queries["search_by_tags"]:
            line(f"  {label}", ["{:.1f} / {:.1f}".format(*r.queries["search_by_tags"][label]) for r in results])
        line("traces per search (mean)", [f"{r.queries['traces_per_search']:.1f}" for r in results])
    print("\nMachine load (1, 5, 15 min) before/after ingest, before/after queries:")
    for r in results:
        print(f"  {names[r.database]}: " + " | ".join(r.load))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=1_000_000,
                        help="spans stored when timing queries; 0 measures ingest only")
    parser.add_argument("--databases", default="postgresql,sqlite", help="comma-separated: postgresql, sqlite")
    parser.add_argument("--ingest-batches", type=int, default=100, help="exports of 1,000 spans per ingest run")
    parser.add_argument("--queries", type=int, default=200, help="timed queries of each kind")
    parser.add_argument("--days", type=int, default=2, help="days the bulk-loaded spans cover, ending now")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432",
                        help="PostgreSQL server URL (without a database) for the scratch database")
    parser.add_argument("--work-dir", default=None, help="where the temporary data directory goes")
    args = parser.parse_args()
    databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    if not set(databases) <= {"postgresql", "sqlite"}:
        parser.error("--databases takes postgresql and/or sqlite")

    work = Path(tempfile.mkdtemp(prefix="mvbench_", dir=args.work_dir))
    # The bench imports meshview's decoder and row builder; its own settings point at a
    # database in the scratch directory that it never opens.
    os.environ.pop("DATABASE_URL", None)
    os.environ["MESHVIEW_DATA_DIR"] = str(work / "bench")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "meshview.settings")
    import django

    django.setup()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    print(f"OTLP ingest and query bench; {machine()}; {shutil.disk_usage(work).free / 1e9:.0f} GB free at {work}")
    try:
        rng = random.Random(11)
        results = [run_database(database, args, work, rng) for database in databases]
        report(results, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
