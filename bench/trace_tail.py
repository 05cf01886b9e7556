"""Live trace tail under a burst of connects: ``--sockets`` websockets to ``/ws/traces/``
opened at once on one web process over a span store of ``--spans`` spans.

The bench starts ``manage.py serve --no-worker`` (SQLite in a temporary data directory),
stores the spans through OTLP/HTTP (exports of 1,000 spans, 10 per trace), then:

1. baseline: one socket, connect to snapshot, ``--rounds`` times;
2. the burst: ``--sockets`` sockets at once, the time until every one has its snapshot, and
   each socket's own connect-to-snapshot time (p50, max).

    .venv/bin/python bench/trace_tail.py [--spans 300000] [--sockets 500] [--port 8105]
"""

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import websockets
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as ts
from opentelemetry.proto.common.v1 import common_pb2 as common
from opentelemetry.proto.trace.v1 import trace_pb2 as tr

ROOT = Path(__file__).resolve().parent.parent


def export(first_trace: int, spans: int, now_ns: int) -> bytes:
    resource = {"attributes": [common.KeyValue(key="service.name", value=common.AnyValue(string_value="frontend"))]}
    batch = [
        tr.Span(
            trace_id=(first_trace + i // 10).to_bytes(16, "big"),
            span_id=(i % 10 + 1).to_bytes(8, "big"),
            parent_span_id=b"" if i % 10 == 0 else (1).to_bytes(8, "big"),
            name=f"GET /{i % 37}",
            kind=tr.Span.SPAN_KIND_SERVER,
            start_time_unix_nano=now_ns + i * 1000,
            end_time_unix_nano=now_ns + i * 1000 + 5_000_000,
        )
        for i in range(spans)
    ]
    request = ts.ExportTraceServiceRequest(
        resource_spans=[tr.ResourceSpans(resource=resource, scope_spans=[tr.ScopeSpans(spans=batch)])]
    )
    return request.SerializeToString()


def wait_until_up(base: str) -> None:
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("serve did not start")


async def snapshot_time(url: str) -> float:
    started = time.perf_counter()
    async with websockets.connect(url, origin="http://127.0.0.1", open_timeout=600, max_size=None) as socket:
        await asyncio.wait_for(socket.recv(), timeout=600)
    return time.perf_counter() - started


async def burst(url: str, sockets: int) -> tuple[float, list[float]]:
    started = time.perf_counter()
    times = await asyncio.gather(*(snapshot_time(url) for _ in range(sockets)))
    return time.perf_counter() - started, list(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--spans", type=int, default=300_000)
    parser.add_argument("--sockets", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--port", type=int, default=8105)
    args = parser.parse_args()
    base = f"http://127.0.0.1:{args.port}"
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "MESHVIEW_DATA_DIR": data}
        env.pop("DATABASE_URL", None)
        env.pop("REDIS_URL", None)
        server = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--no-worker", "--port", str(args.port)],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            wait_until_up(base)
            now_ns = time.time_ns() - 600 * 10**9
            stored = time.perf_counter()
            for first in range(0, args.spans, 1000):
                body = export(first // 10 + 1, 1000, now_ns + first * 1000)
                request = urllib.request.Request(
                    f"{base}/v1/traces", data=body, headers={"Content-Type": "application/x-protobuf"}
                )
                with urllib.request.urlopen(request, timeout=60):
                    pass
            print(f"stored {args.spans:,} spans in {time.perf_counter() - stored:.1f} s")
            url = f"ws://127.0.0.1:{args.port}/ws/traces/"
            single = [asyncio.run(snapshot_time(url)) for _ in range(args.rounds)]
            print(f"baseline, one socket: connect to snapshot p50 {statistics.median(single) * 1000:.0f} ms, "
                  f"max {max(single) * 1000:.0f} ms")
            total, times = asyncio.run(burst(url, args.sockets))
            print(f"{args.sockets} sockets at once: all snapshots in {total:.2f} s; per socket p50 "
                  f"{statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms")
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
