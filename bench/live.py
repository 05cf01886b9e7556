"""Live fan-out: how long a change takes to reach every open dashboard, with one socket and with
``--sockets`` sockets open on one web process.

The bench starts ``manage.py serve --no-worker`` (SQLite in a temporary data directory, the
in-memory channel layer), posts some Bookinfo access logs, and then, for the graph:

1. baseline: opens one websocket to ``/ws/graph/`` and, ``--rounds`` times, posts access logs of
   calls to a workload the graph has not shown yet (``ratings-vK``), timing the socket's
   ``graph.delta`` that adds that node;
2. opens ``--sockets`` websockets with the same parameters (1,000 dashboards on one view), timing
   connect + snapshot for all of them, reads the server's RSS, and repeats the rounds for every
   socket, with the CPU seconds the server and this client spent on each round.

Both run first on a quiet mesh (before each round the bench waits until no socket has received
anything for 1.5 s), then under steady ingest (``--busy-rate`` posts a second of ordinary
Bookinfo traffic in the background, so every socket gets a delta each second and the new node
lands in one of them). Then the same, quiet only, for ``/ws/traces/`` with ``--trace-sockets``
sockets: the ``traces.delta`` naming one of the traces of an OTLP export (``POST /v1/traces``,
1,000 spans).

Latency is printed from the POST's answer (p50, p95, max, how many within 1 s) and from the
moment it was sent (p50, max). The change is published when its transaction commits, before the
answer is written, so a socket may get it first (counted as 0 from the answer), and with many
sockets the answer itself waits behind the fan-out on the server's event loop: the figure from
sending is the bound a user sees, ingest included. The client is one asyncio process (uvloop
when installed) offering permessage-deflate, as browsers do (``--no-deflate`` to see what
compression costs the server); it stamps each message on arrival and parses only one that
names what the round waits for.

    .venv/bin/python bench/live.py [--sockets 1000] [--trace-sockets 200] [--rounds 3]
        [--busy-rate 2] [--duration 5m] [--connect-concurrency 100] [--no-deflate]

Budgets (DESIGN.md section 7): a change reaches an open browser within 1 s; 1,000 open
websockets on one process.
"""

import argparse
import asyncio
import collections
import contextlib
import json
import os
import random
import resource
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from otlp_ingest import build_export  # noqa: E402

from tests import meshsim  # noqa: E402
from tests.conftest import Server  # noqa: E402
from tests.meshsim import NS, REVIEWS, SERVICES, Call, Pod  # noqa: E402

BUDGET_SECONDS = 1.0
QUIET_SECONDS = 1.5
BUSY = {False: "", True: ", steady ingest"}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def raise_fd_limit(sockets: int) -> None:
    """Allow this process, and the server it starts (which inherits the limit), a descriptor
    per socket and some to spare."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = sockets + 512
    if soft < wanted:
        if hard != resource.RLIM_INFINITY and hard < wanted:
            raise SystemExit(f"{sockets} sockets need {wanted} descriptors; the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"/proc/{pid}/status has no VmRSS")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def drain(server: Server) -> collections.deque[str]:
    """Read the server's output as it comes (its log of 1,000 connections would otherwise fill
    the pipe and stall it), keeping the last lines for an error message."""
    tail: collections.deque[str] = collections.deque(maxlen=50)

    def read() -> None:
        for line in server.process.stdout or ():
            tail.append(line.rstrip())

    threading.Thread(target=read, daemon=True).start()
    return tail


def post(url: str, body: bytes, content_type: str) -> tuple[float, float]:
    """POST `body`; return when it was sent and when its answer arrived (monotonic)."""
    request = urllib.request.Request(url, body, headers={"Content-Type": content_type})
    sent = time.monotonic()
    with urllib.request.urlopen(request, timeout=60) as response:
        response.read()
        if response.status != 200:
            raise RuntimeError(f"POST {url}: {response.status}")
    return sent, time.monotonic()


def envoy_body(calls: list[Call]) -> bytes:
    return "\n".join(meshsim.envoy_envelopes(calls)).encode()


def new_workload_calls(k: int) -> tuple[str, list[Call]]:
    """Calls from reviews-v2 to `ratings-vK`, a workload no graph has shown yet, and its node id."""
    pod = Pod(NS, f"ratings-v{k}", "ratings", f"v{k}", f"10.0.3.{k}")
    now = datetime.now(UTC)
    calls = [Call(REVIEWS["v2"], SERVICES["ratings"], pod, start=now, path="/ratings/0") for _ in range(5)]
    return f"workload:Kubernetes:{NS}:{pod.workload}", calls


Change = Callable[[], tuple[set[str], Callable[[], tuple[float, float]]]]


@dataclass
class Viewer:
    """One open socket and when it received the awaited change of each round."""

    socket: ClientConnection
    arrivals: dict[int, float] = field(default_factory=dict)


@dataclass
class Fleet:
    """The open sockets and what the current round waits for."""

    viewers: list[Viewer] = field(default_factory=list)
    round: int = -1
    expected_type: str = ""
    markers: frozenset[str] = frozenset()
    last_message: float = 0.0
    arrived: int = 0  # sockets that got the current round's change
    readers: list[asyncio.Task] = field(default_factory=list)
    complete: asyncio.Event = field(default_factory=asyncio.Event)

    def matches(self, text: str) -> bool:
        """A cheap test on the text first; only a likely match is parsed."""
        if self.expected_type not in text or not any(m in text for m in self.markers):
            return False
        message = json.loads(text)
        if message["type"] == "graph.delta":
            return any(n["data"]["id"] in self.markers for n in message["nodes"]["added"])
        return message["type"] == "traces.delta" and any(t["traceId"] in self.markers for t in message["traces"])

    async def read(self, viewer: Viewer) -> None:
        try:
            async for text in viewer.socket:
                now = time.monotonic()
                self.last_message = now
                if (
                    self.round >= 0
                    and self.round not in viewer.arrivals
                    and isinstance(text, str)
                    and self.matches(text)
                ):
                    viewer.arrivals[self.round] = now
                    self.arrived += 1
                    if self.arrived == len(self.viewers):
                        self.complete.set()
        except ConnectionClosed:
            pass

    async def open(
        self, url: str, origin: str, count: int, snapshot_type: str, concurrency: int, deflate: bool = True
    ) -> float:
        """Open `count` sockets, at most `concurrency` handshakes at a time, each waiting for its
        snapshot; return the seconds until every snapshot had arrived."""
        gate = asyncio.Semaphore(concurrency)

        async def one() -> Viewer:
            async with gate:
                socket = await connect(
                    url,
                    origin=Origin(origin),
                    compression="deflate" if deflate else None,
                    max_size=None,
                    ping_interval=None,
                    open_timeout=120,
                )
                first = json.loads(await socket.recv())
                self.last_message = time.monotonic()
                if first["type"] != snapshot_type:
                    raise RuntimeError(f"expected {snapshot_type}, got {str(first)[:200]}")
                return Viewer(socket)

        began = time.monotonic()
        viewers = await asyncio.gather(*(one() for _ in range(count)))
        elapsed = time.monotonic() - began
        self.viewers += viewers
        self.readers += [asyncio.create_task(self.read(v)) for v in viewers]
        return elapsed

    async def close(self) -> None:
        await asyncio.gather(*(v.socket.close() for v in self.viewers), return_exceptions=True)
        for task in self.readers:
            task.cancel()
        await asyncio.gather(*self.readers, return_exceptions=True)
        self.viewers, self.readers = [], []

    async def quiet(self, timeout: float = 60) -> None:
        """Wait until no socket has received anything for QUIET_SECONDS."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            idle = time.monotonic() - self.last_message
            if idle >= QUIET_SECONDS:
                return
            await asyncio.sleep(QUIET_SECONDS - idle)
        raise RuntimeError(f"the sockets did not go quiet within {timeout:g} s")


@dataclass
class Round:
    latencies: list[float]  # seconds from the POST's answer, per socket that got the change
    from_sent: list[float]  # the same from the moment the POST was sent
    missed: int
    early: int  # arrived before the POST's answer
    server_cpu: float
    client_cpu: float


async def measure_round(
    fleet: Fleet,
    expected_type: str,
    markers: set[str],
    send: Callable[[], tuple[float, float]],
    server_pid: int,
    timeout: float,
    quiet: bool,
) -> Round:
    """Post through `send` (a blocking callable returning sent/answered times, run in a thread)
    and wait for every socket's matching message. With `quiet`, first wait until the sockets
    are quiet; else (traffic flowing) post at a random moment of the sockets' one-second push
    cycle."""
    if quiet:
        await fleet.quiet()
    else:
        await asyncio.sleep(QUIET_SECONDS + random.uniform(0, 1))
    fleet.complete.clear()
    fleet.arrived = 0
    fleet.expected_type, fleet.markers = f'"{expected_type}"', frozenset(markers)
    index = fleet.round = fleet.round + 1
    server_before, client_before = cpu_seconds(server_pid), time.process_time()
    sent, answered = await asyncio.get_running_loop().run_in_executor(None, send)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(fleet.complete.wait(), timeout)
    server_cpu, client_cpu = cpu_seconds(server_pid) - server_before, time.process_time() - client_before
    arrivals = [v.arrivals[index] for v in fleet.viewers if index in v.arrivals]
    return Round(
        latencies=[max(0.0, t - answered) for t in arrivals],
        from_sent=[t - sent for t in arrivals],
        missed=len(fleet.viewers) - len(arrivals),
        early=sum(t < answered for t in arrivals),
        server_cpu=server_cpu,
        client_cpu=client_cpu,
    )


def percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def summary(rounds: list[Round], sockets: int) -> str:
    """From the answer: p50, p95, max and how many within the budget; from sending: p50, max."""
    latencies = sorted(x for r in rounds for x in r.latencies)
    if not latencies:
        return "no socket got the change"
    from_sent = sorted(x for r in rounds for x in r.from_sent)
    within = sum(x <= BUDGET_SECONDS for x in latencies)
    missed = sum(r.missed for r in rounds)
    return (
        f"p50 {percentile(latencies, 0.5) * 1000:4.0f} ms  p95 {percentile(latencies, 0.95) * 1000:4.0f} ms  "
        f"max {latencies[-1] * 1000:4.0f} ms  within 1 s {within}/{sockets * len(rounds)}"
        + (f"  missed {missed}" if missed else "")
        + f"  [from sending: p50 {percentile(from_sent, 0.5) * 1000:4.0f} ms, max {from_sent[-1] * 1000:4.0f} ms]"
    )


def round_line(index: int, result: Round, sockets: int) -> str:
    return (
        f"      round {index + 1}: {summary([result], sockets)}  (before the answer: {result.early}; "
        f"CPU s server {result.server_cpu:.2f}, client {result.client_cpu:.2f})"
    )


class Bench:
    def __init__(self, server: Server, args: argparse.Namespace) -> None:
        self.server = server
        self.args = args
        self.pid = server.process.pid
        self.origin = server.url
        self.ws = server.url.replace("http://", "ws://")
        self.next_workload = 2
        self.rng = random.Random(7)

    def graph_change(self) -> tuple[set[str], Callable[[], tuple[float, float]]]:
        node, calls = new_workload_calls(self.next_workload)
        self.next_workload += 1
        body = envoy_body(calls)
        return {node}, lambda: post(self.server.url + "/api/v1/ingest/envoy", body, "application/x-ndjson")

    def traces_change(self) -> tuple[set[str], Callable[[], tuple[float, float]]]:
        trace_ids: list[str] = []
        body = build_export(self.rng, "checkout", time.time_ns() - 10**9, trace_ids)
        return set(trace_ids), lambda: post(self.server.url + "/v1/traces", body, "application/x-protobuf")

    @contextlib.contextmanager
    def steady_ingest(self) -> Iterator[None]:
        """Post Bookinfo access logs (a minute of its traffic, about 300 lines, stamped now)
        `--busy-rate` times a second in the background, so every graph view changes each second."""
        stop = threading.Event()
        period = 1 / self.args.busy_rate
        url = self.server.url + "/api/v1/ingest/envoy"

        def run() -> None:
            next_at = time.monotonic()
            while not stop.wait(max(0.0, next_at - time.monotonic())):
                next_at = max(next_at + period, time.monotonic())
                post(url, envoy_body(meshsim.bookinfo_calls(datetime.now(UTC))), "application/x-ndjson")

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        try:
            time.sleep(2)  # into the steady state: every socket already had a delta
            yield
        finally:
            stop.set()
            thread.join()

    async def rounds(self, fleet: Fleet, sockets: int, change: Change, delta_type: str, busy: bool) -> list[Round]:
        results = []
        with self.steady_ingest() if busy else contextlib.nullcontext():
            for i in range(self.args.rounds):
                markers, send = change()
                results.append(
                    await measure_round(
                        fleet, delta_type, markers, send, self.pid, self.args.round_timeout, quiet=not busy
                    )
                )
                if sockets > 1:
                    print(round_line(i, results[-1], sockets))
        return results

    async def fan_out(
        self, label: str, path: str, snapshot_type: str, delta_type: str, change: Change, sockets: int, busy: bool
    ) -> None:
        args = self.args
        modes = [False, True] if busy else [False]
        print(f"  {label}")
        fleet = Fleet()
        await fleet.open(self.ws + path, self.origin, 1, snapshot_type, 1, args.deflate)
        for mode in modes:
            alone = await self.rounds(fleet, 1, change, delta_type, mode)
            print(f"    1 socket alone{BUSY[mode]} (baseline):  {summary(alone, 1)}")
        await fleet.close()

        fleet = Fleet()
        idle = rss_mb(self.pid)
        opened = await fleet.open(
            self.ws + path, self.origin, sockets, snapshot_type, args.connect_concurrency, args.deflate
        )
        await asyncio.sleep(1)
        held = rss_mb(self.pid)
        print(
            f"    {sockets} sockets: connect + snapshot for all {opened:.2f} s ({sockets / opened:,.0f}/s); "
            f"server RSS {idle:.0f} MB before, {held:.0f} MB with them open "
            f"({(held - idle) * 1024 / sockets:.0f} kB per socket)"
        )
        for mode in modes:
            print(f"    {sockets} sockets{BUSY[mode]}:")
            results = await self.rounds(fleet, sockets, change, delta_type, mode)
            print(f"      all rounds:  {summary(results, sockets)}")
        after = rss_mb(self.pid)
        await fleet.close()
        await asyncio.sleep(2)
        print(f"    server RSS after the rounds {after:.0f} MB, {rss_mb(self.pid):.0f} MB once they closed")

    async def run(self) -> None:
        args = self.args
        graph_path = f"/ws/graph/?namespaces={NS}&graphType=workload&duration={args.duration}&sources=accesslogs"
        await self.fan_out(
            f"graph: {graph_path}, delta adding a new workload node",
            graph_path,
            "graph.snapshot",
            "graph.delta",
            self.graph_change,
            args.sockets,
            busy=args.busy_rate > 0,
        )
        if args.trace_sockets:
            await self.fan_out(
                "traces: /ws/traces/, delta naming a trace of an OTLP export of 1,000 spans",
                "/ws/traces/",
                "traces.snapshot",
                "traces.delta",
                self.traces_change,
                args.trace_sockets,
                busy=False,
            )


def client_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loops when it is installed (the client then adds less to what it measures)."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--sockets", type=int, default=1000)
    options.add_argument("--trace-sockets", type=int, default=200, help="0 skips the traces fan-out")
    options.add_argument("--rounds", type=int, default=3)
    options.add_argument("--duration", default="5m", help="the graph window (seeded traffic stays in it)")
    options.add_argument(
        "--busy-rate", type=float, default=2, help="access-log posts a second in the steady-ingest rounds; 0 skips them"
    )
    options.add_argument("--connect-concurrency", type=int, default=100, help="handshakes in flight at once")
    options.add_argument("--round-timeout", type=float, default=10, help="seconds a round waits for every socket")
    options.add_argument(
        "--no-deflate", dest="deflate", action="store_false", help="do not offer permessage-deflate (browsers do)"
    )
    args = options.parse_args()
    for name in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(name, None)
    raise_fd_limit(max(args.sockets, args.trace_sockets))
    loop_factory = client_loop_factory()
    client_loop = "asyncio" if loop_factory is None else "uvloop"

    print(
        f"Live fan-out: {args.sockets} graph sockets, {args.trace_sockets} trace sockets, {args.rounds} rounds; "
        f"serve --no-worker, SQLite, in-memory channel layer; client {client_loop}, permessage-deflate "
        f"{'offered' if args.deflate else 'not offered'}; {os.cpu_count()} CPUs, "
        f"load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    with tempfile.TemporaryDirectory() as data_dir:
        server = Server(Path(data_dir), args=("--no-worker",))
        tail = drain(server)
        server.wait_ready()
        try:
            seed = envoy_body(meshsim.bookinfo_calls(datetime.now(UTC), scale=2))
            post(server.url + "/api/v1/ingest/envoy", seed, "application/x-ndjson")
            with asyncio.Runner(loop_factory=loop_factory) as runner:
                runner.run(Bench(server, args).run())
        except BaseException:
            print("\n".join(tail), file=sys.stderr)
            raise
        finally:
            server.stop()


if __name__ == "__main__":
    main()
