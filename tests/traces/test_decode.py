"""OTLP decoding: protobuf requests built with opentelemetry-proto's own classes, JSON bodies
written by hand as exporters and people send them."""

import base64
import json
import random
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import (
    AnyValue,
    ArrayValue,
    InstrumentationScope,
    KeyValue,
    KeyValueList,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan
from opentelemetry.proto.trace.v1.trace_pb2 import Status

from meshview.traces.decode import (
    MAX_ATTRIBUTE_VALUE_LENGTH,
    MAX_ATTRIBUTES,
    MAX_ERRORS,
    MAX_EVENTS,
    MAX_VALUE_DEPTH,
    PayloadError,
    decode_otlp_json,
    decode_otlp_protobuf,
)
from meshview.traces.model import (
    EMPTY_SPAN_NAME,
    MAX_NAME_LENGTH,
    Resource,
    Span,
    resource_key,
)

TRACE_ID = bytes.fromhex("5b8aa5a2d2c872e8321cf37308d69df2")
TRACE_HEX = TRACE_ID.hex()
START = 1_700_000_000_123_456_789


def span_id(n: int) -> bytes:
    return n.to_bytes(8, "big")


def kv(key: str, value: object) -> KeyValue:
    return KeyValue(key=key, value=any_value(value))


def any_value(value: object) -> AnyValue:
    if isinstance(value, AnyValue):
        return value
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, bytes):
        return AnyValue(bytes_value=value)
    if isinstance(value, list):
        return AnyValue(array_value=ArrayValue(values=[any_value(v) for v in value]))
    if isinstance(value, dict):
        return AnyValue(kvlist_value=KeyValueList(values=[kv(k, v) for k, v in value.items()]))
    return AnyValue(string_value=str(value))


def pb_span(n: int = 1, **fields: Any) -> PbSpan:
    """A valid server span with id n, changed by ``fields``."""
    values: dict[str, Any] = {
        "trace_id": TRACE_ID, "span_id": span_id(n), "name": "GET /api/cart", "kind": PbSpan.SPAN_KIND_SERVER,
        "start_time_unix_nano": START, "end_time_unix_nano": START + 2_500_000,
    }
    values.update(fields)
    return PbSpan(**values)


def export(*spans: PbSpan, resource: dict | None = None, scope: InstrumentationScope | None = None) -> bytes:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    attributes = {"service.name": "cart", "k8s.namespace.name": "shop"} if resource is None else resource
    resource_spans.resource.attributes.extend(kv(k, v) for k, v in attributes.items())
    scope_spans = resource_spans.scope_spans.add()
    if scope is not None:
        scope_spans.scope.CopyFrom(scope)
    scope_spans.spans.extend(spans)
    return request.SerializeToString()


def status(code: Any, message: str = "") -> Status:
    """A Status with any code, including ones outside the enum."""
    return Status(code=code, message=message)


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def length_delimited(number: int, payload: bytes) -> bytes:
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def request_with_raw_span(raw_span: bytes) -> bytes:
    """An ExportTraceServiceRequest holding one span given as wire bytes, for payloads that the
    generated classes refuse to build."""
    return length_delimited(1, length_delimited(2, length_delimited(2, raw_span)))


# --- protobuf -------------------------------------------------------------------------------

def test_protobuf_span_keeps_every_otlp_field() -> None:
    scope = InstrumentationScope(name="io.opentelemetry.servlet", version="2.1.0",
                                 attributes=[kv("scope.flavour", "blocking")])
    span = pb_span(
        1, parent_span_id=span_id(9), trace_state="vendor=abc", flags=0x301,
        kind=PbSpan.SPAN_KIND_CLIENT, attributes=[kv("http.request.method", "GET"), kv("server.port", 8080)],
        dropped_attributes_count=2, dropped_events_count=1, dropped_links_count=3,
        events=[PbSpan.Event(time_unix_nano=START + 1000, name="retry", attributes=[kv("attempt", 2)],
                             dropped_attributes_count=4)],
        links=[PbSpan.Link(trace_id=bytes(range(1, 17)), span_id=span_id(77), trace_state="k=v",
                           attributes=[kv("link.kind", "batch")], flags=1)],
        status=Status(code=Status.STATUS_CODE_ERROR, message="upstream reset"),
    )
    decoded = decode_otlp_protobuf(export(span, scope=scope))

    resource = Resource({"service.name": "cart", "k8s.namespace.name": "shop"})
    assert decoded.rejected == 0 and decoded.errors == []
    assert decoded.resources == {resource.key: resource}
    assert decoded.spans == [Span(
        trace_id=TRACE_HEX, span_id="0000000000000001", parent_span_id="0000000000000009",
        trace_state="vendor=abc", name="GET /api/cart", kind=3, start_ns=START, end_ns=START + 2_500_000,
        status_code=2, status_message="upstream reset",
        attributes={"http.request.method": "GET", "server.port": 8080},
        events=[{"time_ns": START + 1000, "name": "retry", "attributes": {"attempt": 2},
                 "dropped_attributes_count": 4}],
        links=[{"trace_id": "0102030405060708090a0b0c0d0e0f10", "span_id": "000000000000004d",
                "trace_state": "k=v", "attributes": {"link.kind": "batch"}, "dropped_attributes_count": 0,
                "flags": 1}],
        resource_key=resource.key, service_name="cart", scope_name="io.opentelemetry.servlet",
        scope_version="2.1.0", scope_attributes={"scope.flavour": "blocking"}, flags=0x301,
        dropped_attributes_count=2, dropped_events_count=1, dropped_links_count=3,
    )]
    assert decoded.spans[0].duration_ns == 2_500_000


def test_attribute_values_are_stored_as_json_natives_with_unambiguous_wrappers() -> None:
    values = {
        "s": "text", "b": True, "i": -42, "big": 2**63 - 1, "d": 1.0, "half": 0.5,
        "nan": float("nan"), "inf": float("inf"), "ninf": float("-inf"), "raw": b"\x00\xffmesh",
        "arr": ["a", 1, 2.5, False], "map": {"inner": {"deep": [1]}, "n": 3}, "empty": AnyValue(),
    }
    decoded = decode_otlp_protobuf(export(pb_span(attributes=[kv(k, v) for k, v in values.items()])))

    attributes = decoded.spans[0].attributes
    assert attributes == {
        "s": "text", "b": True, "i": -42, "big": 2**63 - 1, "d": 1.0, "half": 0.5,
        "nan": {"doubleValue": "NaN"}, "inf": {"doubleValue": "Infinity"}, "ninf": {"doubleValue": "-Infinity"},
        "raw": {"bytesValue": base64.b64encode(b"\x00\xffmesh").decode()},
        "arr": ["a", 1, 2.5, False],
        "map": {"kvlistValue": {"inner": {"kvlistValue": {"deep": [1]}}, "n": 3}},
        "empty": None,
    }
    assert type(attributes["d"]) is float and type(attributes["i"]) is int
    # The stored form survives a JSON column unchanged.
    assert json.loads(json.dumps(attributes)) == attributes


def test_resource_key_is_stable_and_service_name_follows_jaeger() -> None:
    first = decode_otlp_protobuf(export(pb_span(), resource={"service.name": "cart", "host.name": "n1"}))
    second = decode_otlp_protobuf(export(pb_span(), resource={"host.name": "n1", "service.name": "cart"}))
    other = decode_otlp_protobuf(export(pb_span(), resource={"service.name": "cart", "host.name": "n2"}))
    assert list(first.resources) == list(second.resources) == [resource_key({"service.name": "cart",
                                                                              "host.name": "n1"})]
    assert list(first.resources) != list(other.resources)
    assert len(first.spans[0].resource_key) == 32

    names = {
        "missing": decode_otlp_protobuf(export(pb_span(), resource={"host.name": "n1"})),
        "empty": decode_otlp_protobuf(export(pb_span(), resource={"service.name": ""})),
        "wrong type": decode_otlp_protobuf(export(pb_span(), resource={"service.name": 7})),
    }
    assert {label: d.spans[0].service_name for label, d in names.items()} == {
        "missing": "missing-service-name", "empty": "empty-service-name", "wrong type": "service-name-wrong-type",
    }
    # The resource keeps what was sent; only the display name is a placeholder.
    assert [r.attributes for r in names["empty"].resources.values()] == [{"service.name": ""}]


def test_empty_span_name_gets_jaegers_placeholder_and_long_names_are_cut() -> None:
    decoded = decode_otlp_protobuf(export(pb_span(1, name=""), pb_span(2, name="x" * (MAX_NAME_LENGTH + 10))))
    assert decoded.spans[0].name == EMPTY_SPAN_NAME == "empty-span-name"
    assert decoded.spans[1].name == "x" * MAX_NAME_LENGTH


def test_bad_spans_are_rejected_with_their_index_and_the_rest_is_kept() -> None:
    spans = [
        pb_span(1),
        pb_span(2, trace_id=TRACE_ID[:8]),
        pb_span(3, trace_id=bytes(16)),
        pb_span(4, span_id=b"\x01\x02"),
        pb_span(5, span_id=bytes(8)),
        pb_span(6, parent_span_id=b"\x01" * 4),
        pb_span(7, end_time_unix_nano=START - 1),
        pb_span(8, start_time_unix_nano=0, end_time_unix_nano=0),
        pb_span(9, kind=9),
        pb_span(10, status=status(5)),
        pb_span(11, end_time_unix_nano=START),  # zero duration is a real span
    ]
    decoded = decode_otlp_protobuf(export(*spans))

    assert [s.span_id for s in decoded.spans] == ["0000000000000001", "000000000000000b"]
    assert decoded.rejected == 9
    assert decoded.errors == [
        "span 1: trace_id must be 16 bytes, got 8",
        "span 2: trace_id must not be all zeros",
        "span 3: span_id must be 8 bytes, got 2",
        "span 4: span_id must not be all zeros",
        "span 5: parent_span_id must be empty or 8 bytes, got 4",
        "span 6: end_time_unix_nano is before start_time_unix_nano",
        "span 7: start_time_unix_nano is missing",
        "span 8: kind 9 is not a span kind (0..5)",
        "span 9: status code 5 is not a status code (0..2)",
    ]


def test_span_index_counts_across_resources_and_errors_are_capped() -> None:
    request = ExportTraceServiceRequest()
    for service in ("cart", "checkout"):
        resource_spans = request.resource_spans.add()
        resource_spans.resource.attributes.append(kv("service.name", service))
        resource_spans.scope_spans.add().spans.extend(
            [pb_span(1), *(pb_span(n, trace_id=b"short") for n in range(2, MAX_ERRORS + 2))])
    decoded = decode_otlp_protobuf(request.SerializeToString())

    assert decoded.rejected == 2 * MAX_ERRORS
    assert len(decoded.errors) == MAX_ERRORS
    assert decoded.errors[0] == "span 1: trace_id must be 16 bytes, got 5"
    assert [s.service_name for s in decoded.spans] == ["cart", "checkout"]
    assert len(decoded.resources) == 2


def test_all_zero_parent_means_root_and_duplicate_span_ids_are_kept() -> None:
    decoded = decode_otlp_protobuf(export(
        pb_span(1, parent_span_id=bytes(8)), pb_span(2, parent_span_id=span_id(1)),
        pb_span(2, parent_span_id=span_id(1), name="retry"),
    ))
    assert decoded.rejected == 0
    assert [(s.span_id, s.parent_span_id, s.name) for s in decoded.spans] == [
        ("0000000000000001", "", "GET /api/cart"),
        ("0000000000000002", "0000000000000001", "GET /api/cart"),
        ("0000000000000002", "0000000000000001", "retry"),
    ]


def test_invalid_utf8_in_protobuf_strings_becomes_replacement_characters() -> None:
    body = export(pb_span(
        name="GET /ZZ", status=status(2, "bad ZZ"),
        attributes=[kv("url.path", "/ZZ/cart"), kv("keyZZ", "v"), kv("list", ["ZZ"])],
        events=[PbSpan.Event(time_unix_nano=START, name="evZZ")],
    ), scope=InstrumentationScope(name="scopeZZ"))
    decoded = decode_otlp_protobuf(body.replace(b"ZZ", b"\xff\xfe"))

    assert decoded.rejected == 0
    span = decoded.spans[0]
    bad = "\ufffd\ufffd"
    assert span.name == f"GET /{bad}"
    assert span.status_message == f"bad {bad}"
    assert span.attributes == {"url.path": f"/{bad}/cart", f"key{bad}": "v", "list": [bad]}
    assert span.events[0]["name"] == f"ev{bad}"
    assert span.scope_name == f"scope{bad}"


@pytest.mark.parametrize("body", [
    b"\xff\xff\xff\xff",  # a field tag running past the end
    b"\x0a\x10\x12",  # a length longer than the body
    export(pb_span())[:-3],  # truncated
])
def test_unreadable_protobuf_raises_payload_error(body: bytes) -> None:
    with pytest.raises(PayloadError):
        decode_otlp_protobuf(body)


def test_corrupted_protobuf_is_a_payload_error_or_a_partial_batch_never_a_crash() -> None:
    body = export(*(pb_span(n, attributes=[kv("k", n), kv("list", ["a", {"m": 1.5}])],
                            events=[PbSpan.Event(time_unix_nano=START, name="e")],
                            links=[PbSpan.Link(trace_id=TRACE_ID, span_id=span_id(99))]) for n in range(1, 6)))
    rng = random.Random(11)
    outcomes = set()
    for _ in range(2000):
        corrupted = bytearray(body)
        for _ in range(rng.randrange(1, 4)):
            corrupted[rng.randrange(len(corrupted))] = rng.randrange(256)
        try:
            decoded = decode_otlp_protobuf(bytes(corrupted))
        except PayloadError:
            outcomes.add("unreadable")
        else:
            outcomes.add("partial" if decoded.rejected else "whole")
            assert len(decoded.spans) + decoded.rejected <= 5
    assert outcomes == {"unreadable", "partial", "whole"}


def test_empty_protobuf_request_is_an_empty_batch() -> None:
    decoded = decode_otlp_protobuf(b"")
    assert (decoded.spans, decoded.resources, decoded.rejected) == ([], {}, 0)


def test_an_attribute_that_is_not_a_keyvalue_rejects_only_its_span() -> None:
    good = pb_span(1).SerializeToString()
    broken = pb_span(2).SerializeToString() + length_delimited(9, b"\x0a\x05ab")  # key longer than itself
    body = length_delimited(1, length_delimited(2, length_delimited(2, good) + length_delimited(2, broken)))
    decoded = decode_otlp_protobuf(body)
    assert [s.span_id for s in decoded.spans] == ["0000000000000001"]
    assert decoded.errors == ["span 1: an attribute is not a readable KeyValue"]


def test_huge_attributes_are_cut_and_extra_ones_dropped_and_counted() -> None:
    many = [kv(f"k{i}", i) for i in range(MAX_ATTRIBUTES + 72)]
    events = [PbSpan.Event(time_unix_nano=START + i, name=f"e{i}") for i in range(MAX_EVENTS + 5)]
    decoded = decode_otlp_protobuf(export(
        pb_span(1, attributes=[kv("sql", "x" * (MAX_ATTRIBUTE_VALUE_LENGTH + 1000)), kv("blob", b"y" * 70_000)]),
        pb_span(2, attributes=many, dropped_attributes_count=3, events=events, dropped_events_count=1),
    ))
    first, second = decoded.spans
    assert first.attributes["sql"] == "x" * MAX_ATTRIBUTE_VALUE_LENGTH
    assert base64.b64decode(first.attributes["blob"]["bytesValue"]) == b"y" * MAX_ATTRIBUTE_VALUE_LENGTH
    assert len(second.attributes) == MAX_ATTRIBUTES and "k0" in second.attributes
    assert second.dropped_attributes_count == 3 + 72
    assert len(second.events) == MAX_EVENTS and second.dropped_events_count == 1 + 5


def test_links_with_invalid_ids_are_dropped_and_counted() -> None:
    decoded = decode_otlp_protobuf(export(pb_span(links=[
        PbSpan.Link(trace_id=TRACE_ID, span_id=span_id(5)),
        PbSpan.Link(trace_id=bytes(16), span_id=span_id(6)),
        PbSpan.Link(trace_id=TRACE_ID, span_id=b"\x01"),
    ])))
    span = decoded.spans[0]
    assert [link["span_id"] for link in span.links] == ["0000000000000005"]
    assert span.dropped_links_count == 2
    assert decoded.rejected == 0


def nested_array(depth: int) -> AnyValue:
    value = AnyValue(string_value="leaf")
    for _ in range(depth):
        value = AnyValue(array_value=ArrayValue(values=[value]))
    return value


def test_attribute_values_nested_too_deeply_are_an_unreadable_payload() -> None:
    ok = decode_otlp_protobuf(export(pb_span(attributes=[kv("deep", nested_array(MAX_VALUE_DEPTH))])))
    assert ok.rejected == 0
    with pytest.raises(PayloadError, match="nested deeper"):
        decode_otlp_protobuf(export(pb_span(attributes=[kv("deep", nested_array(MAX_VALUE_DEPTH + 1))])))


# --- JSON -----------------------------------------------------------------------------------

CAMEL_BODY = {
    "resourceSpans": [{
        "resource": {"attributes": [
            {"key": "service.name", "value": {"stringValue": "frontend"}},
            {"key": "process.pid", "value": {"intValue": "4242"}},
        ], "droppedAttributesCount": 0},
        "schemaUrl": "https://opentelemetry.io/schemas/1.26.0",
        "scopeSpans": [{
            "scope": {"name": "@opentelemetry/instrumentation-http", "version": "0.52.1"},
            "spans": [
                {
                    "traceId": "5B8AA5A2D2C872E8321CF37308D69DF2",
                    "spanId": "051581BF3CB55C13",
                    "parentSpanId": "",
                    "name": "GET /api/products",
                    "kind": 2,
                    "startTimeUnixNano": "1700000000123456789",
                    "endTimeUnixNano": 1700000000223456789,
                    "attributes": [
                        {"key": "http.response.status_code", "value": {"intValue": 200}},
                        {"key": "http.request.body.size", "value": {"intValue": "-7"}},
                        {"key": "sampled", "value": {"boolValue": True}},
                        {"key": "ratio", "value": {"doubleValue": 0.25}},
                        {"key": "whole", "value": {"doubleValue": 3}},
                        {"key": "nan", "value": {"doubleValue": "NaN"}},
                        {"key": "raw", "value": {"bytesValue": "AP9tZXNo"}},
                        {"key": "tags", "value": {"arrayValue": {"values": [
                            {"stringValue": "a"}, {"intValue": "1"}]}}},
                        {"key": "map", "value": {"kvlistValue": {"values": [
                            {"key": "k", "value": {"boolValue": False}}]}}},
                        {"key": "empty", "value": {}},
                    ],
                    "events": [{"timeUnixNano": "1700000000150000000", "name": "cache miss",
                                "attributes": [{"key": "cache", "value": {"stringValue": "l1"}}]}],
                    "links": [{"traceId": "0102030405060708090A0B0C0D0E0F10", "spanId": "00000000000000AA"}],
                    "status": {"code": "STATUS_CODE_ERROR", "message": "boom"},
                    "flags": 257,
                    "someFutureField": {"ignored": True},
                },
                {
                    "traceId": "5b8aa5a2d2c872e8321cf37308d69df2",
                    "spanId": "051581bf3cb55c14",
                    "parentSpanId": "051581BF3CB55C13",
                    "name": "SELECT",
                    "kind": "SPAN_KIND_CLIENT",
                    "startTimeUnixNano": 1700000000130000000,
                    "endTimeUnixNano": "1700000000140000000",
                },
            ],
        }],
    }],
}

SNAKE_RENAMES = {
    "resourceSpans": "resource_spans", "scopeSpans": "scope_spans", "traceId": "trace_id",
    "spanId": "span_id", "parentSpanId": "parent_span_id", "startTimeUnixNano": "start_time_unix_nano",
    "endTimeUnixNano": "end_time_unix_nano", "timeUnixNano": "time_unix_nano", "stringValue": "string_value",
    "intValue": "int_value", "boolValue": "bool_value", "doubleValue": "double_value",
    "bytesValue": "bytes_value", "arrayValue": "array_value", "kvlistValue": "kvlist_value",
    "droppedAttributesCount": "dropped_attributes_count", "schemaUrl": "schema_url",
}


def snake_case(value: object) -> object:
    if isinstance(value, dict):
        return {SNAKE_RENAMES.get(k, k): snake_case(v) for k, v in value.items()}
    if isinstance(value, list):
        return [snake_case(v) for v in value]
    return value


def test_json_camel_case_body_decodes_per_the_otlp_json_mapping() -> None:
    decoded = decode_otlp_json(json.dumps(CAMEL_BODY).encode())

    assert decoded.rejected == 0
    resource = Resource({"service.name": "frontend", "process.pid": 4242})
    assert decoded.resources == {resource.key: resource}
    server, client = decoded.spans
    assert (server.trace_id, server.span_id, server.parent_span_id) == (
        "5b8aa5a2d2c872e8321cf37308d69df2", "051581bf3cb55c13", "")
    assert (server.kind, server.start_ns, server.end_ns) == (2, 1700000000123456789, 1700000000223456789)
    assert (server.status_code, server.status_message, server.flags) == (2, "boom", 257)
    assert (server.scope_name, server.scope_version) == ("@opentelemetry/instrumentation-http", "0.52.1")
    assert server.attributes == {
        "http.response.status_code": 200, "http.request.body.size": -7, "sampled": True, "ratio": 0.25,
        "whole": 3.0, "nan": {"doubleValue": "NaN"}, "raw": {"bytesValue": "AP9tZXNo"},
        "tags": ["a", 1], "map": {"kvlistValue": {"k": False}}, "empty": None,
    }
    assert type(server.attributes["whole"]) is float
    assert server.events == [{"time_ns": 1700000000150000000, "name": "cache miss",
                              "attributes": {"cache": "l1"}, "dropped_attributes_count": 0}]
    assert server.links == [{"trace_id": "0102030405060708090a0b0c0d0e0f10", "span_id": "00000000000000aa",
                             "trace_state": "", "attributes": {}, "dropped_attributes_count": 0, "flags": 0}]
    assert (client.parent_span_id, client.kind, client.start_ns) == ("051581bf3cb55c13", 3, 1700000000130000000)
    assert client.service_name == "frontend"


def test_json_proto_field_names_decode_to_the_same_spans() -> None:
    camel = decode_otlp_json(json.dumps(CAMEL_BODY).encode())
    snake = decode_otlp_json(json.dumps(snake_case(CAMEL_BODY)).encode())
    assert snake.spans == camel.spans and snake.resources == camel.resources


def json_span(**fields: object) -> dict:
    span = {"traceId": TRACE_HEX, "spanId": "00000000000000a1", "name": "op", "kind": 1,
            "startTimeUnixNano": str(START), "endTimeUnixNano": str(START + 10)}
    span.update(fields)
    return {key: value for key, value in span.items() if value is not None}


def json_body(*spans: object, resource: object = None) -> bytes:
    resource = resource if resource is not None else {"attributes": [
        {"key": "service.name", "value": {"stringValue": "svc"}}]}
    return json.dumps({"resourceSpans": [{"resource": resource, "scopeSpans": [{"spans": list(spans)}]}]}).encode()


def test_json_bad_spans_are_rejected_with_reasons_and_the_rest_kept() -> None:
    decoded = decode_otlp_json(json_body(
        json_span(),
        json_span(traceId="zz" * 16),
        json_span(traceId="abcd"),
        json_span(spanId=None),
        json_span(endTimeUnixNano=str(START - 1)),
        json_span(startTimeUnixNano="soon"),
        json_span(name=5),
        json_span(kind="SPAN_KIND_SIDEWAYS"),
        json_span(attributes=[{"key": "n", "value": {"intValue": "1.5"}}]),
        json_span(attributes={"not": "a list"}),
        "not a span",
        json_span(spanId="00000000000000a2"),
    ))
    assert [s.span_id for s in decoded.spans] == ["00000000000000a1", "00000000000000a2"]
    assert decoded.rejected == 10
    assert decoded.errors == [
        "span 1: traceId is not hex",
        "span 2: trace_id must be 16 bytes, got 2",
        "span 3: span_id must be 8 bytes, got 0",
        "span 4: end_time_unix_nano is before start_time_unix_nano",
        "span 5: startTimeUnixNano must be an integer",
        "span 6: name must be a string",
        "span 7: kind must be an integer",
        "span 8: intValue must be an integer",
        "span 9: attributes must be a list",
        "span 10: a span must be an object",
    ]


def test_json_resource_that_cannot_be_read_rejects_its_spans_only() -> None:
    body = json.loads(json_body(json_span(), json_span(spanId="00000000000000a2"), resource={"attributes": 7}))
    body["resourceSpans"].append(json.loads(json_body(json_span(spanId="00000000000000a3")))["resourceSpans"][0])
    decoded = decode_otlp_json(json.dumps(body).encode())
    assert [s.span_id for s in decoded.spans] == ["00000000000000a3"]
    assert decoded.errors == ["span 0: resource: resource attributes must be a list",
                              "span 1: resource: resource attributes must be a list"]
    assert [r.service_name for r in decoded.resources.values()] == ["svc"]


@pytest.mark.parametrize("body", [
    b"{not json",
    b"[]",
    b'"resourceSpans"',
    b'{"resourceSpans": {"a": 1}}',
    b'{"resourceSpans": [1]}',
    b'{"resourceSpans": [{"scopeSpans": [{"spans": 5}]}]}',
    b"[" * 100_000 + b"]" * 100_000,
    b'{"x": ' + b'{"y": ' * 50_000 + b"1" + b"}" * 50_001,
])
def test_unreadable_json_raises_payload_error(body: bytes) -> None:
    with pytest.raises(PayloadError):
        decode_otlp_json(body)


def test_json_attribute_values_nested_too_deeply_are_an_unreadable_payload() -> None:
    value: dict = {"stringValue": "leaf"}
    for _ in range(MAX_VALUE_DEPTH + 1):
        value = {"arrayValue": {"values": [value]}}
    with pytest.raises(PayloadError, match="nested deeper"):
        decode_otlp_json(json_body(json_span(attributes=[{"key": "deep", "value": value}])))


def test_json_text_that_no_database_stores_becomes_replacement_characters() -> None:
    body = json_body(json_span(name="op\\ud800x", attributes=[{"key": "k", "value": {"stringValue": "ok"}}]))
    decoded = decode_otlp_json(body.replace(b"\\\\ud800", b"\\ud800").replace(b'"ok"', b'"o\xffk"'))
    span = decoded.spans[0]
    assert span.name == "op\ufffdx"
    assert span.attributes == {"k": "o\ufffdk"}
    # A valid surrogate pair is one character, not a replacement.
    paired = decode_otlp_json(json_body(json_span(name="\U0001f680")).replace("🚀".encode(), b"\\ud83d\\ude80"))
    assert paired.spans[0].name == "\U0001f680"


def test_json_bytes_value_accepts_url_safe_and_unpadded_base64() -> None:
    decoded = decode_otlp_json(json_body(json_span(attributes=[
        {"key": "a", "value": {"bytesValue": "-_8"}}, {"key": "b", "value": {"bytesValue": "+/8="}}])))
    assert decoded.spans[0].attributes == {"a": {"bytesValue": "+/8="}, "b": {"bytesValue": "+/8="}}
    rejected = decode_otlp_json(json_body(json_span(attributes=[{"key": "a", "value": {"bytesValue": "@@"}}])))
    assert rejected.errors == ["span 0: bytesValue is not base64"]


def test_empty_json_export_is_an_empty_batch() -> None:
    for body in (b"{}", b'{"resourceSpans": []}', b'{"resourceSpans": null}'):
        decoded = decode_otlp_json(body)
        assert (decoded.spans, decoded.rejected) == ([], 0)
