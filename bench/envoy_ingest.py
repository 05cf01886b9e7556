"""Envoy access-log ingest, end to end: lines/s through POST /api/v1/ingest/envoy into traffic
rollups, one traffic mix at a time, on SQLite and PostgreSQL, each next to a bare `re.match`
over the same lines measured in this run.

One `manage.py serve --no-worker` process (so every settle of the window happens in it) takes
5,000-line bodies from `--clients` client processes (keep-alive connections) for `--seconds`
seconds; a line counts once its body was answered 200. The mixes:

  server-unowned  TEXT, `?namespace=&pod=` reporters, server-side records only, every caller at
                  an address no proxy logged: NodePort clients from many external addresses,
                  kubelet probes, Prometheus scrapes. Each record waits in the settle window.
  server-plain    the same, but every caller a plain client at an address no proxy logged,
                  calling the service's port (pods without sidecars, VMs, other clusters): each
                  record also waits for a client-side twin, by its request id.
  client-gateway  TEXT, the ingress gateway's records (client side only), reporter from the
                  query parameters with `role=ingress-gateway`.
  text-sidecars   TEXT, one Bookinfo pod's records per body (both sides of every request, each
                  side in its reporter's body), reporter from the query parameters.
  ndjson-both     NDJSON Fluent Bit envelopes with pod IPs, both sides of each request in the
                  same body (the Bookinfo minute: NodePort and probe traffic included).
  ndjson-split    NDJSON envelopes without pod IPs; the client sides and the server sides of the
                  same requests in different bodies, sent by different clients at once.

After each run the bench checks that nothing acknowledged was lost: destination-reported
requests plus the records still waiting equal the server-side lines acknowledged, and
source-reported requests equal the client-side lines.

    python bench/envoy_ingest.py [--seconds 20] [--clients 2] [--batch 5000]
        [--mixes server-unowned,...] [--databases sqlite,postgresql] [--servers 1]

`--servers 2` runs two serve processes behind the same database, the clients spread over them.
Budget (DESIGN.md section 7): 100,000 lines/s end to end on one process.
"""

import argparse
import http.client
import itertools
import json
import multiprocessing
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from meshview.envoy.formats import builtin_format  # noqa: E402
from tests import meshsim  # noqa: E402
from tests.conftest import Server  # noqa: E402
from tests.meshsim import GATEWAY, NODE_IP, NODEPORT, PRODUCTPAGE, SERVICES, Call, Pod  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
BUDGET = 100_000
BODIES_PER_MIX = 24
PROMETHEUS_IP = "10.0.7.7"  # a Prometheus pod without a sidecar: its scrapes come from nobody
MIXES = ("server-unowned", "server-plain", "client-gateway", "text-sidecars", "ndjson-both", "ndjson-split")


@dataclass
class Body:
    """One request: its query string, content type, lines, and how many are server-side."""

    query: str
    content_type: str
    lines: list[str]
    server_lines: int

    def encoded(self) -> bytes:
        return "\n".join(self.lines).encode()


def reporter_query(pod: Pod) -> str:
    query = f"namespace={pod.namespace}&pod={pod.pod}&app={pod.app}&version={pod.version}"
    return query + ("&role=ingress-gateway" if pod.role == "ingress-gateway" else "")


def unowned_calls(
    destination: Pod, start: datetime, count: int, rng: random.Random, plain: bool = False
) -> Iterator[Call]:
    """Requests into `destination` from callers no proxy vouches for: 60% NodePort clients from
    many external addresses, 25% kubelet probes, 15% Prometheus scrapes; or, `plain`, clients
    from many addresses calling the service's port."""
    service = SERVICES[destination.app] if destination.app in SERVICES else SERVICES["productpage"]
    for i in range(count):
        kind = rng.random()
        duration_ms = rng.choice((3, 12, 40, 120))
        caller: dict[str, Any]
        if plain:
            caller = {"remote_ip": f"10.{rng.randrange(64, 128)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"}
        elif kind < 0.60:
            caller = {"authority": f"{NODE_IP}:{NODEPORT}", "path": "/productpage",
                      "remote_ip": f"198.51.{rng.randrange(256)}.{rng.randrange(1, 255)}"}
        elif kind < 0.85:
            caller = {"user_agent": "kube-probe/1.29", "authority": f"{destination.ip}:{destination.port}",
                      "remote_ip": NODE_IP, "path": "/healthz"}
            duration_ms = 1
        else:
            caller = {"user_agent": "Prometheus/2.51.0", "authority": f"{destination.ip}:15020",
                      "remote_ip": PROMETHEUS_IP, "path": "/stats/prometheus"}
            duration_ms = 4
        yield Call(None, service, destination, start=start + timedelta(milliseconds=i), mtls=False,
                   duration_ms=duration_ms, **caller)


def bookinfo(start: datetime, lines: int) -> list[Call]:
    """Bookinfo minutes from `start` on, enough for `lines` records of both sides."""
    calls: list[Call] = []
    minute = 0
    while 2 * len(calls) < lines:
        calls += meshsim.bookinfo_calls(start + timedelta(seconds=minute), scale=10)
        minute += 1
    return calls


def text_by_reporter(calls: list[Call], batch: int) -> list[Body]:
    """Each pod's records (client and server side) in bodies of its own."""
    by_pod: dict[Pod, list[tuple[str, bool]]] = {}
    for call in calls:
        client, server = meshsim.client_line(call), meshsim.server_line(call)
        if client is not None and call.source is not None:
            by_pod.setdefault(call.source, []).append((client, False))
        if server is not None and call.destination is not None:
            by_pod.setdefault(call.destination, []).append((server, True))
    bodies = []
    for pod, records in by_pod.items():
        for i in range(0, len(records), batch):
            chunk = records[i : i + batch]
            bodies.append(
                Body(reporter_query(pod), "text/plain", [line for line, _ in chunk], sum(server for _, server in chunk))
            )
    return bodies


def make_bodies(mix: str, batch: int, count: int) -> list[Body]:
    rng = random.Random(9)
    start = datetime.now(UTC)
    if mix in ("server-unowned", "server-plain"):
        pods = [PRODUCTPAGE, meshsim.DETAILS, meshsim.REVIEWS["v1"], meshsim.RATINGS]
        bodies = []
        for i in range(count):
            pod = pods[i % len(pods)]
            unowned = unowned_calls(pod, start + timedelta(seconds=i), batch, rng, plain=mix == "server-plain")
            lines = [meshsim.server_line(c) for c in unowned]
            bodies.append(Body(reporter_query(pod), "text/plain", lines, batch))  # type: ignore[arg-type]
        return bodies
    if mix == "client-gateway":
        targets = [(SERVICES["productpage"], PRODUCTPAGE), (SERVICES["details"], meshsim.DETAILS)]
        bodies = []
        for i in range(count):
            calls = [
                Call(
                    GATEWAY,
                    *targets[j % 2],
                    start=start + timedelta(seconds=i, milliseconds=j),
                    path="/productpage",
                    duration_ms=rng.choice((3, 12, 40)),
                )
                for j in range(batch)
            ]
            bodies.append(Body(reporter_query(GATEWAY), "text/plain", [meshsim.client_line(c) for c in calls], 0))  # type: ignore[misc]
        return bodies
    if mix == "text-sidecars":
        bodies = text_by_reporter(bookinfo(start, batch * count), batch)
        return sorted(bodies, key=lambda b: -len(b.lines))[:count]
    calls = bookinfo(start, batch * count)
    if mix == "ndjson-both":
        envelopes = [(line, " inbound|" in line) for line in meshsim.envoy_envelopes(calls)]
        return [
            Body(
                "",
                "application/x-ndjson",
                [e for e, _ in envelopes[i : i + batch]],
                sum(s for _, s in envelopes[i : i + batch]),
            )
            for i in range(0, batch * count, batch)
        ]
    if mix == "ndjson-split":
        client = list(meshsim.envoy_envelopes(calls, sides="client", with_ip=False))
        server = list(meshsim.envoy_envelopes(calls, sides="server", with_ip=False))
        bodies = []
        for i in range(0, min(len(client), len(server)), batch):
            bodies.append(Body("", "application/x-ndjson", client[i : i + batch], 0))
            bodies.append(Body("", "application/x-ndjson", server[i : i + batch], len(server[i : i + batch])))
        return bodies[:count]
    raise ValueError(f"unknown mix {mix!r}")


def log_lines(body: Body) -> list[str]:
    if body.content_type == "text/plain":
        return body.lines
    return [json.loads(line)["log"].rstrip("\n") for line in body.lines]


def bare_match_rate(bodies: list[Body]) -> float:
    """Lines/s of the istio-1.24 regex alone over the mix's access-log lines."""
    lines = [line for body in bodies for line in log_lines(body)]
    pattern = builtin_format("istio-1.24").strict
    best = 0.0
    for _ in range(3):
        started = time.perf_counter()
        for line in lines:
            pattern.match(line)
        best = max(best, len(lines) / (time.perf_counter() - started))
    return best


def client(
    urls: list[str], bodies: list[tuple[str, str, bytes, int, int]], deadline: float, out: "multiprocessing.Queue"
) -> None:
    """Post `bodies` in turn, round robin over `urls`, until `deadline`; put (lines, server
    lines, requests, refused) on `out`."""
    connections = [http.client.HTTPConnection(*url.split("//")[1].split(":"), timeout=300) for url in urls]
    lines = server_lines = requests = refused = 0
    for n, (query, content_type, data, count, server_count) in enumerate(itertools.cycle(bodies)):
        if time.time() >= deadline:
            break
        connection = connections[n % len(connections)]
        connection.request("POST", f"/api/v1/ingest/envoy?{query}", data, {"Content-Type": content_type})
        response = connection.getresponse()
        answer = response.read()
        requests += 1
        if response.status != 200:
            refused += 1
            continue
        assert json.loads(answer)["rejected"] == 0, answer[:300]
        lines += count
        server_lines += server_count
    out.put((lines, server_lines, requests, refused))


def load(urls: list[str], bodies: list[Body], clients: int, seconds: float) -> tuple[int, int, int, int, float]:
    """Run the clients; return (lines, server lines, requests, refused, elapsed seconds)."""
    encoded = [(b.query, b.content_type, b.encoded(), len(b.lines), b.server_lines) for b in bodies]
    results: multiprocessing.Queue = multiprocessing.Queue()
    deadline = time.time() + seconds
    started = time.perf_counter()
    processes = [
        multiprocessing.Process(
            target=client, args=(urls[i % len(urls) :] + urls[: i % len(urls)], encoded[i::clients], deadline, results)
        )
        for i in range(clients)
    ]
    for process in processes:
        process.start()
    totals = [results.get() for _ in processes]
    elapsed = time.perf_counter() - started
    for process in processes:
        process.join()
    return (*(sum(t[i] for t in totals) for i in range(4)), elapsed)  # type: ignore[return-value]


def warm_up(url: str, bodies: list[Body]) -> tuple[int, int]:
    """One body of each reporter first (imports, migrations, the address inventory), as a mesh
    that has been running; return (lines, server lines) sent."""
    seen: set[str] = set()
    lines = server_lines = 0
    for body in bodies:
        if body.query in seen and body.query:
            continue
        seen.add(body.query)
        host, port = url.split("//")[1].split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=300)
        connection.request(
            "POST", f"/api/v1/ingest/envoy?{body.query}", body.encoded(), {"Content-Type": body.content_type}
        )
        response = connection.getresponse()
        assert response.status == 200, response.read()[:300]
        response.read()
        lines += len(body.lines)
        server_lines += body.server_lines
        if not body.query:
            break
    return lines, server_lines


def stored_counts(query: Callable[[str], int]) -> tuple[int, int, int]:
    """(destination-reported requests, source-reported requests, records still waiting)."""
    return (
        query(f"{REQUESTS_REPORTED_BY} 'destination'"),
        query(f"{REQUESTS_REPORTED_BY} 'source'"),
        query(f"SELECT COUNT(*) FROM {PENDING_TABLE}"),
    )


PENDING_TABLE = "mesh_pendingrequest"
REQUESTS_REPORTED_BY = ("SELECT COALESCE(SUM(requests), 0) FROM mesh_traffic_rollup r "
                        "JOIN mesh_traffic_key k ON k.id = r.key_id WHERE k.reporter =")


def run(mix: str, database: str, bodies: list[Body], args: argparse.Namespace) -> float:
    with tempfile.TemporaryDirectory() as data_dir:
        env = {"MESHVIEW_SETTLE_SECONDS": str(args.settle_seconds)}
        pg_name = f"mvbench_envoy_{os.getpid()}"
        sqlite_path = Path(data_dir) / "meshview.sqlite3"
        if database == "postgresql":
            subprocess.run(["psql", PG_ADMIN, "-qc", f"CREATE DATABASE {pg_name}"], check=True)
            env["DATABASE_URL"] = f"postgresql://postgres@127.0.0.1:5432/{pg_name}"
        else:
            env["DATABASE_URL"] = f"sqlite:///{sqlite_path}"  # every serve process writes the same file
        servers: list[Server] = []
        try:
            for i in range(args.servers):  # one after the other: each applies migrations first
                servers.append(Server(Path(data_dir) / f"web{i}", env=env, args=("--no-worker",)).wait_ready())
            sent_lines, sent_server = warm_up(servers[0].url, bodies)
            load_before = os.getloadavg()[0]
            lines, server_lines, requests, refused, elapsed = load(
                [s.url for s in servers], bodies, args.clients, args.seconds
            )
            sent_lines += lines
            sent_server += server_lines
            if database == "postgresql":
                with psycopg.connect(env["DATABASE_URL"], autocommit=True) as conn:
                    destination, source, waiting = stored_counts(lambda sql: conn.execute(sql).fetchone()[0])
            else:
                with sqlite3.connect(sqlite_path) as conn:
                    destination, source, waiting = stored_counts(lambda sql: conn.execute(sql).fetchone()[0])
        finally:
            for server in servers:
                server.stop()
            if database == "postgresql":
                subprocess.run(["psql", PG_ADMIN, "-qc", f"DROP DATABASE IF EXISTS {pg_name} WITH (FORCE)"], check=True)
    rate = lines / elapsed
    lost = (sent_server - destination - waiting, sent_lines - sent_server - source)
    print(
        f"  {mix:<15} {database:<10} {rate:>9,.0f} lines/s  ({lines:,} lines in {elapsed:.1f} s, {requests} requests,"
        f" {refused} refused; {waiting:,} waiting; load {load_before:.1f})"
        + ("" if lost == (0, 0) else f"  LOST server/client: {lost}"),
        flush=True,
    )
    return rate


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--seconds", type=float, default=20)
    options.add_argument("--clients", type=int, default=2)
    options.add_argument("--batch", type=int, default=5000)
    options.add_argument("--servers", type=int, default=1)
    options.add_argument("--settle-seconds", type=float, default=10)
    options.add_argument("--mixes", default=",".join(MIXES))
    options.add_argument("--databases", default="sqlite,postgresql")
    args = options.parse_args()
    print(
        f"Envoy ingest through HTTP, {args.servers} serve process(es), {args.clients} client processes, "
        f"{args.batch:,}-line bodies, {args.seconds:.0f} s per run, settle window {args.settle_seconds:g} s; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}"
    )
    for mix in args.mixes.split(","):
        bodies = make_bodies(mix, args.batch, BODIES_PER_MIX)
        print(
            f"{mix}: baseline bare re.match (istio-1.24) over the same lines {bare_match_rate(bodies):>11,.0f} lines/s"
        )
        for database in args.databases.split(","):
            run(mix, database, bodies, args)


if __name__ == "__main__":
    main()
