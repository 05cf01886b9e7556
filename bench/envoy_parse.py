"""Envoy access-log parser throughput, lines per second on one core.

Generates realistic bookinfo-style traffic (inbound and outbound HTTP, gRPC, TCP, failures
with flags, passthrough and listener failures), renders it through the built-in format strings,
and times:

- the baseline: a bare precompiled ``re.match`` of the istio-1.24 regex, no field conversion;
- ``LogParser("auto")`` and ``LogParser("istio-1.24")`` on a pure istio-1.24 stream;
- ``LogParser("auto")`` on a stream mixing every built-in layout line by line (the worst case
  for layout detection: a layout switch on most lines), and on one where each layout comes in
  runs of 1,000 lines, as batches from proxies of different Istio versions do;
- ``LogParser("auto")`` and ``LogParser("json")`` on Istio's typed JSON lines;
- ``parse_lines`` (the stream API) on the pure istio-1.24 stream.

Usage: ``python bench/envoy_parse.py [--lines N] [--repeat R] [--profile]``. Each figure is
the best of R runs; ``--profile`` prints a cProfile of ``auto`` on the istio-1.24 stream.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import platform
import pstats
import random
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from meshview.envoy import BUILTIN_FORMATS, LogParser
from meshview.envoy.formats import builtin_format, command_field, parse_format

SERVICES = [
    ("productpage", 9080, "v1"),
    ("reviews", 9080, "v1"),
    ("reviews", 9080, "v2"),
    ("reviews", 9080, "v3"),
    ("ratings", 9080, "v1"),
    ("details", 9080, "v1"),
    ("cart", 8080, ""),
    ("checkout", 5050, ""),
]
USER_AGENTS = [
    "python-requests/2.31.0",
    "Apache-CXF/3.5.5",
    "curl/8.5.0",
    "grpc-go/1.62.1",
    "okhttp/4.12.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) "Mobile" Safari, v17',
]
PATHS = [
    "/productpage",
    "/reviews/0",
    "/ratings/0",
    "/details/0",
    "/api/v1/cart?user=42",
    "/hipstershop.Checkout/Place",
]


def traffic(count: int, rng: random.Random) -> list[dict[str, Any]]:
    """Return ``count`` canonical-like field sets of plausible mesh traffic."""
    moment = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    records = []
    for _ in range(count):
        moment += timedelta(microseconds=rng.randrange(50, 3000))
        service, port, subset = rng.choice(SERVICES)
        host = f"{service}.default.svc.cluster.local"
        pod_ip = f"10.244.{rng.randrange(0, 8)}.{rng.randrange(2, 250)}"
        peer_ip = f"10.244.{rng.randrange(0, 8)}.{rng.randrange(2, 250)}"
        service_ip = f"10.96.{rng.randrange(0, 255)}.{rng.randrange(1, 255)}"
        inbound = rng.random() < 0.5
        kind = rng.random()
        code, flags, details, reason = 200, "-", "via_upstream", None
        if kind < 0.04:
            code, flags, details, reason = (
                503,
                "UF,URX",
                "upstream_reset_before_response_started{connection_failure}",
                ("delayed connect error: 111"),
            )
        elif kind < 0.06:
            code, flags, details = 504, "UT", "response_timeout"
        elif kind < 0.07:
            code, flags, details = 503, "UO", "upstream_reset_before_response_started{overflow}"
        elif kind < 0.10:
            code = 404
        tcp = kind > 0.97
        fields: dict[str, Any] = {
            "start_time": f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z",
            "method": None if tcp else rng.choice(["GET", "GET", "GET", "POST"]),
            "path": None if tcp else rng.choice(PATHS),
            "protocol": None if tcp else rng.choice(["HTTP/1.1", "HTTP/2"]),
            "response_code": 0 if tcp else code,
            "response_flags": flags,
            "response_code_details": None if tcp else details,
            "connection_termination_details": None,
            "upstream_transport_failure_reason": reason,
            "bytes_received": rng.randrange(0, 2000),
            "bytes_sent": rng.randrange(0, 60000),
            "duration": rng.randrange(0, 900),
            "upstream_service_time": None if tcp or flags != "-" else rng.randrange(0, 800),
            "x_forwarded_for": rng.choice([None, None, "203.0.113.7", "203.0.113.7, 10.244.0.1"]),
            "user_agent": None if tcp else rng.choice(USER_AGENTS),
            "request_id": None if tcp else f"{rng.getrandbits(128):032x}",
            "authority": None if tcp else f"{service}:{port}",
            "upstream_host": f"{pod_ip}:{port}",
            "upstream_cluster": f"inbound|{port}||" if inbound else f"outbound|{port}|{subset}|{host}",
            "upstream_local_address": f"{'127.0.0.6' if inbound else peer_ip}:{rng.randrange(30000, 60000)}",
            "downstream_local_address": f"{pod_ip if inbound else service_ip}:{port}",
            "downstream_remote_address": f"{peer_ip}:{rng.randrange(30000, 60000)}",
            "requested_server_name": f"outbound_.{port}_._.{host}" if inbound else None,
            "route_name": "default",
        }
        records.append(fields)
    return records


def render(fmt: str, fields: dict[str, Any]) -> str:
    """Return the line Envoy prints for ``fields`` with format string ``fmt``."""
    parts = []
    for token in parse_format(fmt):
        if isinstance(token, str):
            parts.append(token)
            continue
        field = command_field(*token)
        value = fields.get(field.key) if field is not None and field.canonical else None
        parts.append("-" if value is None else str(value))
    return "".join(parts)


def typed_json(fields: dict[str, Any]) -> str:
    """Return Istio's typed JSON line for ``fields``."""
    return json.dumps({key: (None if value == "-" else value) for key, value in fields.items()})


def best_rate(work: Callable[[], object], lines: int, repeat: int) -> float:
    """Return the best lines per second over ``repeat`` runs of ``work``."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return lines / best


def parse_all(fmt: str, lines: list[str]) -> Callable[[], object]:
    def work() -> None:
        parse_line = LogParser(fmt).parse_line
        for line in lines:
            parse_line(line)

    return work


def stream_all(fmt: str, lines: Iterable[str]) -> Callable[[], object]:
    def work() -> None:
        for _ in LogParser(fmt).parse_lines(lines):
            pass

    return work


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--lines", type=int, default=200_000)
    options.add_argument("--repeat", type=int, default=3)
    options.add_argument("--profile", action="store_true")
    args = options.parse_args()

    rng = random.Random(20240501)
    records = traffic(args.lines, rng)
    pure = [render(BUILTIN_FORMATS["istio-1.24"], fields) + "\n" for fields in records]
    layouts = list(BUILTIN_FORMATS.values())
    mixed = [render(rng.choice(layouts), fields) + "\n" for fields in records]
    runs = [render(layouts[number // 1000 % len(layouts)], fields) + "\n" for number, fields in enumerate(records)]
    json_lines = [typed_json(fields) + "\n" for fields in records]
    errors = [error for _, _, error in LogParser("auto").parse_lines(pure + mixed + runs + json_lines) if error]
    if errors:
        raise SystemExit(f"generated lines did not parse: {errors[:3]}")

    regex = builtin_format("istio-1.24").strict

    def baseline() -> None:
        match = regex.match
        for line in pure:
            match(line)

    print(
        f"python {platform.python_version()} on {platform.machine()}: "
        f"{args.lines} lines per case, best of {args.repeat} runs"
    )
    figures = [
        ("baseline: bare re.match of the istio-1.24 regex", baseline),
        ("LogParser('auto'), istio-1.24 stream", parse_all("auto", pure)),
        ("LogParser('istio-1.24'), istio-1.24 stream", parse_all("istio-1.24", pure)),
        ("LogParser('auto').parse_lines, istio-1.24 stream", stream_all("auto", pure)),
        ("LogParser('auto'), all layouts mixed line by line", parse_all("auto", mixed)),
        ("LogParser('auto'), all layouts in runs of 1,000 lines", parse_all("auto", runs)),
        ("LogParser('auto'), Istio typed JSON lines", parse_all("auto", json_lines)),
        ("LogParser('json'), Istio typed JSON lines", parse_all("json", json_lines)),
    ]
    for label, work in figures:
        print(f"{label:<52} {best_rate(work, args.lines, args.repeat):>12,.0f} lines/s")

    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(parse_all("auto", pure))
        pstats.Stats(profiler).sort_stats("tottime").print_stats(12)


if __name__ == "__main__":
    main()
