"""Envoy access-log ingest, end to end: lines/s through POST /api/v1/ingest/envoy into traffic
rollups, on SQLite and PostgreSQL, next to the parser alone and a bare `re.match` baseline over
the same lines, all measured in this run.

    python bench/envoy_ingest.py [--requests 40] [--batch 5000] [--clients 1]

Budgets (DESIGN.md section 7): 100,000 lines/s end to end on one process; parser 200,000.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from meshview.envoy.formats import builtin_format  # noqa: E402
from meshview.envoy.parser import LogParser  # noqa: E402
from tests import meshsim  # noqa: E402
from tests.conftest import Server  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def workload(batch: int, requests: int) -> list[list[str]]:
    """`requests` bodies of `batch` NDJSON envelopes each (Bookinfo traffic, both sides)."""
    start = datetime.now(UTC)
    envelopes: list[str] = []
    while len(envelopes) < batch * requests:
        envelopes += meshsim.envoy_envelopes(meshsim.bookinfo_calls(start, scale=10))
    return [envelopes[i * batch : (i + 1) * batch] for i in range(requests)]


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:>10,.0f} lines/s"


def bench_baselines(bodies: list[list[str]]) -> None:
    lines = [json.loads(e)["log"] for body in bodies for e in body]
    pattern = builtin_format("istio-1.24").strict
    started = time.perf_counter()
    for line in lines:
        pattern.match(line)
    print(f"  baseline: bare re.match (istio-1.24)   {rate(len(lines), time.perf_counter() - started)}")
    parser = LogParser("auto")
    started = time.perf_counter()
    for line in lines:
        parser.parse_line(line)
    print(f"  parser alone (auto)                    {rate(len(lines), time.perf_counter() - started)}")


def post(url: str, body: list[str]) -> None:
    request = urllib.request.Request(url, "\n".join(body).encode(), headers={"Content-Type": "application/x-ndjson"})
    with urllib.request.urlopen(request, timeout=300) as response:
        answer = json.load(response)
    assert answer["rejected"] == 0, answer["errors"][:3]


def bench_http(label: str, env: dict[str, str], bodies: list[list[str]], clients: int) -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        server = Server(Path(data_dir), env=env, args=("--no-worker",)).wait_ready()
        url = server.url + "/api/v1/ingest/envoy"
        try:
            post(url, bodies[0])  # warm-up: migrations, imports, the address inventory
            work = bodies[1:]
            started = time.perf_counter()
            threads = [
                threading.Thread(target=lambda share=work[i::clients]: [post(url, b) for b in share])
                for i in range(clients)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - started
        finally:
            server.stop()
    lines = sum(len(b) for b in work)
    print(f"  HTTP → rollups, {label:<26} {rate(lines, elapsed)}  ({lines:,} lines, {clients} client(s))")


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--requests", type=int, default=40)
    options.add_argument("--batch", type=int, default=5000)
    options.add_argument("--clients", type=int, default=1)
    args = options.parse_args()
    bodies = workload(args.batch, args.requests)
    print(f"Envoy ingest: {args.requests} requests of {args.batch:,} lines, load average {os.getloadavg()[0]:.2f}")
    bench_baselines(bodies)
    bench_http("SQLite", {}, bodies, args.clients)
    database = f"mvbench_envoy_{os.getpid()}"
    subprocess.run(["psql", PG_ADMIN, "-qc", f"CREATE DATABASE {database}"], check=True)
    try:
        bench_http(
            "PostgreSQL", {"DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{database}"}, bodies, args.clients
        )
    finally:
        subprocess.run(["psql", PG_ADMIN, "-qc", f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"], check=True)


if __name__ == "__main__":
    main()
