"""Resident memory of one web process under sustained ingest: the RSS of ``manage.py serve``
(VmRSS from /proc) every ``--interval`` seconds while client threads post, at a steady rate,
access-log bodies of 5,000 lines (``POST /api/v1/ingest/envoy``) and OTLP exports of 1,000
spans (``POST /v1/traces``) in turn, each body built fresh with current timestamps and new
request and trace ids, as a live mesh sends them.

The server runs on SQLite in a temporary data directory with the in-memory channel layer, and
by default with ``--no-worker``, so the process measured is the web process alone; ``--worker``
also starts the embedded Celery worker and beat (a separate process, not counted). The baseline
is the same process idle, right after it answered its first health check. With
``--graph-sockets N``, N live graph dashboards (``/ws/graph/`` on Bookinfo, a 5-minute window)
stay open for the whole run, reading every delta, so the process also carries their sockets and
a graph push a second to each.

    .venv/bin/python bench/memory.py [--minutes 10] [--interval 10] [--rate 4] [--clients 2]
        [--worker] [--graph-sockets 0]

Budget (DESIGN.md section 7): a web process stays under 300 MB resident during 10 minutes of
sustained ingest, with no growth.
"""

import argparse
import asyncio
import collections
import contextlib
import http.client
import os
import random
import resource
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from otlp_ingest import SERVICES, build_export  # noqa: E402

from tests import meshsim  # noqa: E402
from tests.conftest import Server  # noqa: E402

BUDGET_MB = 300
LINES_PER_BODY = 5000
ENVOY_PATH = "/api/v1/ingest/envoy"
OTLP_PATH = "/v1/traces"
GRAPH_VIEW = "/ws/graph/?namespaces=bookinfo&graphType=workload&duration=5m&sources=accesslogs"


def rss_mb(pid: int, field_name: str = "VmRSS") -> float:
    """`field_name` (VmRSS, VmHWM) of process `pid` in MB, from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"/proc/{pid}/status has no {field_name}")


def drain(server: Server) -> collections.deque[str]:
    """Read the server's output as it comes, keeping the last lines: its access log would
    otherwise fill the pipe and stall the server."""
    tail: collections.deque[str] = collections.deque(maxlen=50)

    def read() -> None:
        for line in server.process.stdout or ():
            tail.append(line.rstrip())

    threading.Thread(target=read, daemon=True).start()
    return tail


def envoy_body() -> bytes:
    """5,000 Bookinfo access-log envelopes (both sides of each call) stamped now."""
    envelopes: list[str] = []
    while len(envelopes) < LINES_PER_BODY:
        envelopes += meshsim.envoy_envelopes(meshsim.bookinfo_calls(datetime.now(UTC), scale=10))
    return "\n".join(envelopes[:LINES_PER_BODY]).encode()


def otlp_body(rng: random.Random) -> bytes:
    """One export of 1,000 spans from one pod of a shop service, in new traces, stamped now."""
    return build_export(rng, rng.choice(SERVICES), time.time_ns() - 2 * 10**9, [])


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    sent: collections.Counter = field(default_factory=collections.Counter)
    failed: collections.Counter = field(default_factory=collections.Counter)
    seconds: dict[str, list[float]] = field(default_factory=lambda: {ENVOY_PATH: [], OTLP_PATH: []})
    first_failure: str = ""

    def add(self, path: str, status: int, answer: bytes, seconds: float) -> None:
        with self.lock:
            self.sent[path] += 1
            self.seconds[path].append(seconds)
            if status != 200:
                self.failed[path] += 1
                self.first_failure = self.first_failure or f"{path} {status}: {answer[:200]!r}"


def client(port: int, index: int, period: float, until: float, tally: Tally, stop: threading.Event) -> None:
    """Post a body every `period` seconds until `until`, alternating the two kinds; a late
    request is sent at once, but the schedule does not catch up in a burst."""
    rng = random.Random(index)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    turn = index
    next_at = time.monotonic() + period * index / 2
    while not stop.is_set() and time.monotonic() < until:
        pause = next_at - time.monotonic()
        if pause > 0:
            stop.wait(pause)
            continue
        next_at = max(next_at + period, time.monotonic())
        if turn % 2 == 0:
            path, body, kind = ENVOY_PATH, envoy_body(), "application/x-ndjson"
        else:
            path, body, kind = OTLP_PATH, otlp_body(rng), "application/x-protobuf"
        turn += 1
        began = time.monotonic()
        try:
            conn.request("POST", path, body=body, headers={"Content-Type": kind})
            response = conn.getresponse()
            status, answer = response.status, response.read()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            status, answer = 0, repr(exc).encode()
        tally.add(path, status, answer, time.monotonic() - began)
    conn.close()


class GraphViewers:
    """`count` dashboards on the live Bookinfo graph (``/ws/graph/``), open for the whole run in
    a thread of their own: they read every message and count the deltas."""

    def __init__(self, url: str, count: int) -> None:
        self.url, self.count = url, count
        self.ready, self.stop = threading.Event(), threading.Event()
        self.deltas = 0
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "GraphViewers":
        if self.count:
            self.thread.start()
            self.ready.wait()
            if self.error is not None:
                raise self.error
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        if self.count:
            self.thread.join()

    def _run(self) -> None:
        try:
            asyncio.run(self._watch())
        except BaseException as exc:
            self.error = exc
            self.ready.set()

    async def _watch(self) -> None:
        ws = self.url.replace("http://", "ws://") + GRAPH_VIEW
        gate = asyncio.Semaphore(100)

        async def one() -> ClientConnection:
            async with gate:
                socket = await connect(ws, origin=Origin(self.url), max_size=None, ping_interval=None, open_timeout=120)
                await socket.recv()  # the snapshot
                return socket

        async def read(socket: ClientConnection) -> None:
            with contextlib.suppress(ConnectionClosed):
                async for text in socket:
                    if '"graph.delta"' in text:
                        self.deltas += 1

        sockets = await asyncio.gather(*(one() for _ in range(self.count)))
        readers = [asyncio.create_task(read(s)) for s in sockets]
        self.ready.set()
        await asyncio.get_running_loop().run_in_executor(None, self.stop.wait)
        await asyncio.gather(*(s.close() for s in sockets), return_exceptions=True)
        await asyncio.gather(*readers, return_exceptions=True)


def slope_mb_per_min(series: list[tuple[float, float]], after: float) -> float:
    """Least-squares slope of RSS over time for the samples taken from `after` seconds on."""
    points = [(t / 60, mb) for t, mb in series if t >= after]
    if len(points) < 2:
        return float("nan")
    return statistics.linear_regression([p[0] for p in points], [p[1] for p in points]).slope


def sustain(
    server: Server, pid: int, args: argparse.Namespace, tail: collections.deque[str]
) -> tuple[list[tuple[float, float]], "Tally", float]:
    """Post for `--minutes` while sampling the server's RSS; return the samples (seconds from
    the start, MB), the requests' tally and the monotonic start time."""
    tally = Tally()
    stop = threading.Event()
    began = time.monotonic()
    until = began + args.minutes * 60
    period = args.clients / args.rate
    threads = [
        threading.Thread(target=client, args=(server.port, i, period, until, tally, stop), daemon=True)
        for i in range(args.clients)
    ]
    for thread in threads:
        thread.start()
    series: list[tuple[float, float]] = []
    try:
        next_sample = began + args.interval
        while time.monotonic() < until:
            time.sleep(max(0.0, min(next_sample, until) - time.monotonic()))
            if server.process.poll() is not None:
                raise RuntimeError(f"serve exited with {server.process.returncode}: " + "\n".join(tail))
            elapsed = time.monotonic() - began
            series.append((elapsed, rss_mb(pid)))
            with tally.lock:
                done = sum(tally.sent.values())
            print(f"  {elapsed:6.0f} s  {series[-1][1]:6.1f} MB  ({done} requests)", flush=True)
            next_sample += args.interval
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    return series, tally, began


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--minutes", type=float, default=10)
    options.add_argument("--interval", type=float, default=10, help="seconds between RSS samples")
    options.add_argument("--rate", type=float, default=4, help="requests per second, all clients together")
    options.add_argument("--clients", type=int, default=2)
    options.add_argument("--worker", action="store_true", help="also run the embedded worker (not measured)")
    options.add_argument("--graph-sockets", type=int, default=0, help="live graph dashboards open during the run")
    args = options.parse_args()
    for name in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(name, None)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < args.graph_sockets + 512 <= hard:  # the server inherits the limit
        resource.setrlimit(resource.RLIMIT_NOFILE, (args.graph_sockets + 512, hard))

    mode = "embedded worker on (its process not counted)" if args.worker else "--no-worker"
    print(
        f"Memory under sustained ingest: {args.minutes:g} min, {args.rate:g} requests/s from {args.clients} "
        f"threads, envoy bodies of {LINES_PER_BODY:,} lines and OTLP exports of 1,000 spans in turn; "
        f"SQLite, in-memory channel layer, {mode}, {args.graph_sockets} live graph sockets open; "
        f"{os.cpu_count()} CPUs, load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    with tempfile.TemporaryDirectory() as data_dir:
        server = Server(Path(data_dir), args=() if args.worker else ("--no-worker",))
        tail = drain(server)
        server.wait_ready()
        pid = server.process.pid
        try:
            idle = rss_mb(pid)
            print(f"  idle right after start: {idle:6.1f} MB (pid {pid})")
            with GraphViewers(server.url, args.graph_sockets) as viewers:
                if args.graph_sockets:
                    time.sleep(1)
                    print(f"  with {args.graph_sockets} graph sockets open: {rss_mb(pid):6.1f} MB")
                series, tally, began = sustain(server, pid, args, tail)
                peak = rss_mb(pid, "VmHWM")
        finally:
            server.stop()

    elapsed = time.monotonic() - began
    values = [mb for _, mb in series]
    print(f"  RSS series (MB, every {args.interval:g} s): " + " ".join(f"{mb:.0f}" for mb in values))
    print(
        f"  first {values[0]:.1f} MB, last {values[-1]:.1f} MB, max {max(values):.1f} MB "
        f"(process peak VmHWM {peak:.1f} MB); idle baseline {idle:.1f} MB; budget {BUDGET_MB} MB"
    )
    half = args.minutes * 30
    print(
        f"  slope after the first minute: {slope_mb_per_min(series, 60):+.2f} MB/min "
        f"(over the second half: {slope_mb_per_min(series, half):+.2f} MB/min)"
    )
    if args.graph_sockets:
        print(f"  graph sockets: {viewers.deltas:,} deltas received in all")
    for path, unit, per in ((ENVOY_PATH, "lines", LINES_PER_BODY), (OTLP_PATH, "spans", 1000)):
        seconds = tally.seconds[path]
        mean = f", mean {statistics.fmean(seconds) * 1000:.0f} ms" if seconds else ""
        print(
            f"  {path:<22} {tally.sent[path]:5d} requests ({tally.sent[path] * per / elapsed:,.0f} {unit}/s), "
            f"{tally.failed[path]} failed{mean}"
        )
    if tally.first_failure:
        print(f"  first failure: {tally.first_failure}")


if __name__ == "__main__":
    main()
