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
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from meshview.traces.decode import decode_otlp_json, decode_otlp_protobuf
from meshview.traces.jaeger import otlp_json

SPANS_PER_BATCH = 1000
ROUTES = ["/api/orders/{id}", "/api/cart", "/api/checkout", "/healthz", "/api/products/{id}/reviews"]
DB_STATEMENTS = [
    "SELECT id, total, status FROM orders WHERE customer_id = $1 ORDER BY created_at DESC LIMIT 20",
    "UPDATE carts SET updated_at = now() WHERE id = $1",
    "INSERT INTO payments (order_id, amount, currency) VALUES ($1, $2, $3)",
]


def _kv(key: str, value: object) -> KeyValue:
    if isinstance(value, bool):
        return KeyValue(key=key, value=AnyValue(bool_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    if isinstance(value, float):
        return KeyValue(key=key, value=AnyValue(double_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=str(value)))


def build_request(spans: int, rng: random.Random) -> ExportTraceServiceRequest:
    """Return one export request: a resource with eight attributes, one scope, ``spans`` spans
    in traces of four (server, client, server, database)."""
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.extend(
        _kv(k, v)
        for k, v in {
            "service.name": "checkout",
            "service.version": "1.14.2",
            "service.namespace": "shop",
            "k8s.namespace.name": "shop",
            "k8s.pod.name": "checkout-7c9f8d6b5-x2x9q",
            "k8s.deployment.name": "checkout",
            "host.name": "node-3",
            "telemetry.sdk.language": "python",
        }.items()
    )
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = "opentelemetry.instrumentation.django"
    scope_spans.scope.version = "0.48b0"
    start = 1_700_000_000_000_000_000
    trace_id = b""
    parent = b""
    for i in range(spans):
        if i % 4 == 0:
            trace_id = rng.randbytes(16)
            parent = b""
        span_id = rng.randbytes(8)
        route = rng.choice(ROUTES)
        start += rng.randrange(50_000, 2_000_000)
        duration = rng.randrange(100_000, 80_000_000)
        status = rng.choice((200, 200, 200, 201, 404, 500))
        role = i % 4
        if role in (0, 2):
            kind, name = Span.SPAN_KIND_SERVER, f"GET {route}"
            attributes = {
                "http.request.method": "GET", "http.route": route,
                "url.path": route.replace("{id}", str(rng.randrange(10**6))),
                "url.scheme": "http", "http.response.status_code": status,
                "server.address": "checkout.shop.svc.cluster.local", "server.port": 8080,
                "client.address": f"10.1.{rng.randrange(8)}.{rng.randrange(2, 250)}",
                "user_agent.original": "Envoy/1.31", "network.protocol.version": "1.1",
            }
        elif role == 1:
            kind, name = Span.SPAN_KIND_CLIENT, "GET"
            attributes = {
                "http.request.method": "GET",
                "url.full": f"http://cart.shop:8080{route.replace('{id}', str(rng.randrange(10**6)))}",
                "http.response.status_code": status, "server.address": "cart.shop", "server.port": 8080,
                "network.peer.address": "10.1.7.3", "network.peer.port": 8080,
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
    return request


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
    requests = [build_request(SPANS_PER_BATCH, rng) for _ in range(args.batches)]
    proto_bodies = [request.SerializeToString() for request in requests]
    json_bodies = []
    for body in proto_bodies:
        decoded = decode_otlp_protobuf(body)
        json_bodies.append(json.dumps(otlp_json(decoded.spans, decoded.resources)).encode())
    spans = SPANS_PER_BATCH * len(requests)
    print(f"OTLP decode, {len(requests)} batches of {SPANS_PER_BATCH:,} spans; "
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
