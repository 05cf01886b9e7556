"""Zipkin v2 JSON spans as meshview's spans."""

import json

import pytest

from meshview.traces.decode import DecodedExport, PayloadError
from meshview.traces.model import Resource
from meshview.traces.zipkin import decode_zipkin_json

TIMESTAMP_US = 1_700_000_000_123_456

CLIENT = {
    "traceId": "5B8AA5A2D2C872E8", "id": "352bff9a74ca9ad2", "parentId": "6b221d5bc9e6496c",
    "name": "get /api/cart", "kind": "CLIENT", "timestamp": TIMESTAMP_US, "duration": 1500,
    "localEndpoint": {"serviceName": "frontend", "ipv4": "10.1.4.17", "port": 8080},
    "remoteEndpoint": {"serviceName": "cart", "ipv4": "10.1.7.3", "port": 9000},
    "tags": {"http.method": "GET", "http.path": "/api/cart", "error": "connection refused"},
    "annotations": [{"timestamp": TIMESTAMP_US + 10, "value": "ws"}],
    "debug": True,
}
SERVER = {
    "traceId": "5b8aa5a2d2c872e8", "id": "352bff9a74ca9ad2", "parentId": "6b221d5bc9e6496c",
    "name": "get /api/cart", "kind": "SERVER", "timestamp": TIMESTAMP_US + 200, "duration": 900,
    "localEndpoint": {"serviceName": "cart", "ipv6": "fd00::7"}, "shared": True,
    "tags": {"otel.scope.name": "zipkin-go", "otel.scope.version": "0.4", "otel.status_code": "OK"},
}


def decode(*spans: object) -> DecodedExport:
    return decode_zipkin_json(json.dumps(list(spans)).encode())


def test_client_span_maps_onto_otlp_fields() -> None:
    decoded = decode(CLIENT)
    assert decoded.rejected == 0
    span = decoded.spans[0]
    assert (span.trace_id, span.span_id, span.parent_span_id) == (
        "00000000000000005b8aa5a2d2c872e8", "352bff9a74ca9ad2", "6b221d5bc9e6496c")
    assert (span.name, span.kind) == ("get /api/cart", 3)
    assert (span.start_ns, span.end_ns) == (TIMESTAMP_US * 1000, (TIMESTAMP_US + 1500) * 1000)
    assert (span.status_code, span.status_message) == (2, "connection refused")
    assert span.attributes == {
        "http.method": "GET", "http.path": "/api/cart",
        "network.local.address": "10.1.4.17", "network.local.port": 8080,
        "peer.service": "cart", "network.peer.address": "10.1.7.3", "network.peer.port": 9000,
        "zipkin.debug": True,
    }
    assert span.events == [{"time_ns": (TIMESTAMP_US + 10) * 1000, "name": "ws", "attributes": {},
                            "dropped_attributes_count": 0}]
    assert span.service_name == "frontend" and span.flags == 1
    frontend = Resource({"service.name": "frontend"})
    assert decoded.resources == {frontend.key: frontend}


def test_shared_server_span_is_kept_beside_the_client_span_with_the_same_id() -> None:
    decoded = decode(CLIENT, SERVER)
    client, server = decoded.spans
    assert client.span_id == server.span_id == "352bff9a74ca9ad2"
    assert (server.kind, server.service_name) == (2, "cart")
    assert server.attributes == {"zipkin.shared": True, "network.local.address": "fd00::7"}
    assert "zipkin.shared" not in client.attributes
    assert (server.scope_name, server.scope_version, server.status_code) == ("zipkin-go", "0.4", 1)
    assert sorted(r.service_name for r in decoded.resources.values()) == ["cart", "frontend"]


def test_error_tag_forms() -> None:
    base = {"traceId": "a" * 32, "id": "b" * 16, "timestamp": TIMESTAMP_US}
    decoded = decode(
        {**base, "tags": {"error": "true"}},
        {**base, "tags": {"error": ""}},
        {**base, "tags": {"error": "false"}},
        {**base, "tags": {"error": "timeout", "otel.status_description": "deadline exceeded"}},
    )
    assert [(s.status_code, s.status_message) for s in decoded.spans] == [
        (2, ""), (2, ""), (0, ""), (2, "deadline exceeded")]
    assert all("error" not in s.attributes for s in decoded.spans)


def test_missing_fields_get_defaults() -> None:
    span = decode({"traceId": "1", "id": "2", "timestamp": TIMESTAMP_US}).spans[0]
    assert (span.trace_id, span.span_id, span.parent_span_id) == ("0" * 31 + "1", "0" * 15 + "2", "")
    assert (span.name, span.kind, span.duration_ns) == ("empty-span-name", 0, 0)
    assert span.service_name == "missing-service-name"


def test_bad_spans_are_rejected_with_their_index() -> None:
    good = {"traceId": "a" * 32, "id": "b" * 16, "timestamp": TIMESTAMP_US}
    decoded = decode(
        good,
        {**good, "traceId": "x" * 16},
        {**good, "traceId": "a" * 33},
        {**good, "id": "0" * 16},
        {**good, "timestamp": None},
        {**good, "duration": -5},
        {**good, "kind": "SIDEWAYS"},
        {**good, "localEndpoint": "frontend"},
        [1, 2],
        {**good, "parentId": "0000000000000000", "tags": {"otel.status_code": ["ERROR"]}},
    )
    assert decoded.rejected == 8
    assert decoded.errors == [
        "span 1: traceId must be 1 to 32 hex digits",
        "span 2: traceId must be 1 to 32 hex digits",
        "span 3: id must not be all zeros",
        "span 4: timestamp is missing",
        "span 5: duration must be a non-negative number of microseconds",
        "span 6: kind 'SIDEWAYS' is not CLIENT, SERVER, PRODUCER or CONSUMER",
        "span 7: localEndpoint must be an object",
        "span 8: a span must be an object",
    ]
    assert [s.parent_span_id for s in decoded.spans] == ["", ""]


@pytest.mark.parametrize("body", [b"{}", b'{"spans": []}', b"[", b"[" * 100_000])
def test_unreadable_zipkin_payload_raises(body: bytes) -> None:
    with pytest.raises(PayloadError):
        decode_zipkin_json(body)
