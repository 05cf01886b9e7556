"""Decode rate of meshview's OTLP decoders against the bare parse of the same bytes.

Builds batches of 1,000 spans as an instrumented mesh service exports them (HTTP server spans,
HTTP client spans, database spans; about ten attributes each, a few events), encodes them as
OTLP protobuf and OTLP JSON, and prints spans per second for ``decode_otlp_protobuf`` and
``decode_otlp_json`` next to the baselines measured in the same run on the same bytes:
``ExportTraceServiceRequest.FromString`` and ``json.loads``. Each figure is the best of five
rounds.

    python bench/otlp_decode.py [--batches N] [--seconds S]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from otlp_ingest import SPANS_PER_BATCH, build_export  # the same exports the ingest benchmark sends

from meshview.traces.decode import decode_otlp_json, decode_otlp_protobuf
from meshview.traces.jaeger import otlp_json


def _rate(label: str, func: Callable[[], object], spans: int, seconds: float, rounds: int = 5) -> float:
    """Print and return the best spans/s of ``rounds`` timed rounds (the best round is the one
    least disturbed by other processes on the machine)."""
    func()
    best = 0.0
    for _ in range(rounds):
        runs = 0
        began = time.perf_counter()
        while True:
            func()
            runs += 1
            elapsed = time.perf_counter() - began
            if elapsed >= seconds / rounds:
                break
        best = max(best, runs * spans / elapsed)
    print(f"  {label:<44} {best:>12,.0f} spans/s")
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=5, help="distinct 1,000-span batches cycled through")
    parser.add_argument("--seconds", type=float, default=3.0, help="time spent on each measurement")
    args = parser.parse_args()
    rng = random.Random(7)
    proto_bodies = [build_export(rng, "checkout", 1_700_000_000_000_000_000, []) for _ in range(args.batches)]
    json_bodies = []
    for body in proto_bodies:
        decoded = decode_otlp_protobuf(body)
        json_bodies.append(json.dumps(otlp_json(decoded.spans, decoded.resources)).encode())
    spans = SPANS_PER_BATCH * len(proto_bodies)
    print(f"OTLP decode, {len(proto_bodies)} batches of {SPANS_PER_BATCH:,} spans; "
          f"protobuf {len(proto_bodies[0]):,} bytes, JSON {len(json_bodies[0]):,} bytes per batch")

    def each(func: Callable[[bytes], object], bodies: list[bytes]) -> Callable[[], None]:
        def run() -> None:
            for body in bodies:
                func(body)
        return run

    print("protobuf")
    baseline = _rate("baseline ExportTraceServiceRequest.FromString", each(
        ExportTraceServiceRequest.FromString, proto_bodies), spans, args.seconds)
    rate = _rate("decode_otlp_protobuf", each(decode_otlp_protobuf, proto_bodies), spans, args.seconds)
    print(f"  decode_otlp_protobuf runs at {rate / baseline:.0%} of the bare parse rate")
    print("JSON")
    baseline = _rate("baseline json.loads", each(json.loads, json_bodies), spans, args.seconds)
    rate = _rate("decode_otlp_json", each(decode_otlp_json, json_bodies), spans, args.seconds)
    print(f"  decode_otlp_json runs at {rate / baseline:.0%} of the bare parse rate")


if __name__ == "__main__":
    main()
