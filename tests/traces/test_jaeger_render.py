"""Rendering stored spans as Jaeger's v1 and v3 query API answer them."""

import base64
import json
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan
from opentelemetry.proto.trace.v1.trace_pb2 import Status

from meshview.traces.decode import decode_otlp_json, decode_otlp_protobuf
from meshview.traces.jaeger import (
    attribute_string,
    dependencies,
    jaeger_tag,
    jaeger_trace,
    otlp_json,
)
from meshview.traces.model import Resource, Span

TRACE = "5b8aa5a2d2c872e8321cf37308d69df2"
START = 1_700_000_000_123_456_789
FRONTEND = Resource({"service.name": "frontend", "k8s.pod.name": "frontend-1", "process.pid": 7})
CART = Resource({"service.name": "cart"})
RESOURCES = {FRONTEND.key: FRONTEND, CART.key: CART}


def span(span_id: str, parent: str = "", resource: Resource = FRONTEND, **fields: Any) -> Span:
    values: dict[str, Any] = {
        "trace_id": TRACE, "span_id": span_id, "parent_span_id": parent, "trace_state": "", "name": "op",
        "kind": 0, "start_ns": START, "end_ns": START + 1_000_000, "status_code": 0, "status_message": "",
        "attributes": {}, "events": [], "links": [], "resource_key": resource.key,
        "service_name": resource.service_name,
    }
    values.update(fields)
    return Span(**values)


def tags_of(rendered: dict) -> dict[str, tuple[str, object]]:
    return {tag["key"]: (tag["type"], tag["value"]) for tag in rendered["tags"]}


def test_trace_json_has_jaegers_shape_and_units() -> None:
    trace = jaeger_trace([span("00000000000000a1", start_ns=START, end_ns=START + 2_345_999)], RESOURCES)
    assert trace == {
        "traceID": TRACE,
        "spans": [{
            "traceID": TRACE, "spanID": "00000000000000a1", "operationName": "op", "references": [],
            "startTime": 1_700_000_000_123_456, "duration": 2345, "tags": [], "logs": [],
            "processID": "p1", "warnings": None,
        }],
        "processes": {"p1": {"serviceName": "frontend", "tags": [
            {"key": "k8s.pod.name", "type": "string", "value": "frontend-1"},
            {"key": "process.pid", "type": "int64", "value": 7},
        ]}},
        "warnings": None,
    }


def test_processes_are_numbered_in_order_of_first_appearance() -> None:
    orphan_resource = Resource({"service.name": "ghost"})
    trace = jaeger_trace([
        span("00000000000000a1", resource=CART), span("00000000000000a2", resource=FRONTEND),
        span("00000000000000a3", resource=CART), span("00000000000000a4", resource=orphan_resource),
    ], RESOURCES)
    assert [s["processID"] for s in trace["spans"]] == ["p1", "p2", "p1", "p3"]
    assert {pid: p["serviceName"] for pid, p in trace["processes"].items()} == {
        "p1": "cart", "p2": "frontend", "p3": "ghost"}
    # A resource missing from the mapping still yields a process named after the span's service.
    assert trace["processes"]["p3"] == {"serviceName": "ghost", "tags": []}


def test_tags_are_typed_and_unsafe_integers_are_strings() -> None:
    attributes = {
        "s": "x", "b": False, "i": 2**53, "big": 2**53 + 1, "neg": -(2**53) - 1, "d": 2.5,
        "nan": {"doubleValue": "NaN"}, "raw": {"bytesValue": "AP8="}, "arr": [1, "a"],
        "map": {"kvlistValue": {"z": 1, "a": True}}, "none": None,
    }
    rendered = jaeger_trace([span("00000000000000a1", attributes=attributes)], RESOURCES)["spans"][0]
    assert tags_of(rendered) == {
        "s": ("string", "x"), "b": ("bool", False), "i": ("int64", 2**53), "big": ("int64", "9007199254740993"),
        "neg": ("int64", "-9007199254740993"), "d": ("float64", 2.5), "nan": ("float64", "NaN"),
        "raw": ("binary", "AP8="), "arr": ("string", '[1,"a"]'), "map": ("string", '{"a":true,"z":1}'),
        "none": ("string", ""),
    }
    json.dumps(rendered, allow_nan=False)  # nothing a browser's JSON.parse would refuse


def test_scope_kind_status_and_trace_state_become_tags_in_jaegers_order() -> None:
    failed = span("00000000000000a1", kind=3, status_code=2, status_message="connection reset",
                  scope_name="io.opentelemetry.okhttp", scope_version="1.2", trace_state="vendor=1",
                  attributes={"http.request.method": "GET"})
    ok = span("00000000000000a2", kind=1, status_code=1)
    first, second = jaeger_trace([failed, ok], RESOURCES)["spans"]
    assert [(t["key"], t["value"]) for t in first["tags"]] == [
        ("otel.scope.name", "io.opentelemetry.okhttp"), ("otel.scope.version", "1.2"),
        ("http.request.method", "GET"), ("span.kind", "client"), ("otel.status_code", "ERROR"),
        ("error", True), ("otel.status_description", "connection reset"), ("w3c.tracestate", "vendor=1"),
    ]
    assert tags_of(first)["error"] == ("bool", True)
    assert [(t["key"], t["value"]) for t in second["tags"]] == [("span.kind", "internal"), ("otel.status_code", "OK")]


def test_parent_is_the_first_child_of_reference_and_links_follow() -> None:
    other_trace = "0102030405060708090a0b0c0d0e0f10"
    rendered = jaeger_trace([span("00000000000000a2", parent="00000000000000a1", links=[
        {"trace_id": other_trace, "span_id": "00000000000000b1", "trace_state": "", "attributes": {},
         "dropped_attributes_count": 0, "flags": 0},
        {"trace_id": TRACE, "span_id": "00000000000000a1", "trace_state": "", "attributes": {},
         "dropped_attributes_count": 0, "flags": 0},
        {"trace_id": other_trace, "span_id": "00000000000000b2", "trace_state": "",
         "attributes": {"opentracing.ref_type": "child_of"}, "dropped_attributes_count": 0, "flags": 0},
    ])], RESOURCES)["spans"][0]
    assert rendered["references"] == [
        {"refType": "CHILD_OF", "traceID": TRACE, "spanID": "00000000000000a1"},
        {"refType": "FOLLOWS_FROM", "traceID": other_trace, "spanID": "00000000000000b1"},
        {"refType": "CHILD_OF", "traceID": other_trace, "spanID": "00000000000000b2"},
    ]


def test_events_become_logs_with_an_event_field() -> None:
    rendered = jaeger_trace([span("00000000000000a1", events=[
        {"time_ns": START + 5_999, "name": "exception", "dropped_attributes_count": 0,
         "attributes": {"exception.type": "IOError", "exception.escaped": True}},
        {"time_ns": START, "name": "", "attributes": {"k": 1}, "dropped_attributes_count": 0},
    ])], RESOURCES)["spans"][0]
    assert rendered["logs"] == [
        {"timestamp": 1_700_000_000_123_462, "fields": [
            {"key": "event", "type": "string", "value": "exception"},
            {"key": "exception.type", "type": "string", "value": "IOError"},
            {"key": "exception.escaped", "type": "bool", "value": True},
        ]},
        {"timestamp": 1_700_000_000_123_456, "fields": [{"key": "k", "type": "int64", "value": 1}]},
    ]


def test_an_empty_trace_is_refused() -> None:
    with pytest.raises(ValueError):
        jaeger_trace([], RESOURCES)


@pytest.mark.parametrize(("value", "text"), [
    ("GET", "GET"), (True, "true"), (False, "false"), (-12, "-12"), (2**63 - 1, "9223372036854775807"),
    (1.0, "1"), (0.5, "0.5"), (-2.25, "-2.25"), (1e-7, "1e-7"), (0.000001, "0.000001"), (0.00001234, "0.00001234"),
    (1e21, "1e+21"), (1.5e300, "1.5e+300"), (123456789.125, "123456789.125"), (1e20, "100000000000000000000"),
    ({"doubleValue": "NaN"}, "NaN"), ({"doubleValue": "-Infinity"}, "-Infinity"),
    ({"bytesValue": "AP8="}, "AP8="), (None, ""), ([1, "a", 2.0, None], '[1,"a",2,null]'),
    ({"kvlistValue": {"b": [{"bytesValue": "AA=="}], "a": "é"}}, '{"a":"é","b":["AA=="]}'),
])
def test_attribute_string_is_the_form_search_compares(value: object, text: str) -> None:
    assert attribute_string(value) == text


def test_jaeger_tag_types_binary_as_base64() -> None:
    assert jaeger_tag("payload", {"bytesValue": base64.b64encode(b"\x01\x02").decode()}) == {
        "key": "payload", "type": "binary", "value": "AQI="}


def test_dependencies_add_up_repeated_pairs() -> None:
    assert dependencies([("frontend", "cart", 3), ("cart", "db", 1), ("frontend", "cart", 2)]) == [
        {"parent": "frontend", "child": "cart", "callCount": 5},
        {"parent": "cart", "child": "db", "callCount": 1},
    ]


def kv(key: str, value: AnyValue) -> KeyValue:
    return KeyValue(key=key, value=value)


def rich_export() -> bytes:
    request = ExportTraceServiceRequest()
    counter = 0
    kinds: list[Any] = [PbSpan.SPAN_KIND_INTERNAL, PbSpan.SPAN_KIND_SERVER]
    for service in ("frontend", "cart"):
        resource_spans = request.resource_spans.add()
        resource_spans.resource.attributes.extend([
            kv("service.name", AnyValue(string_value=service)), kv("host.cpus", AnyValue(int_value=4))])
        for scope_name in ("http", "db"):
            scope_spans = resource_spans.scope_spans.add()
            scope_spans.scope.name = scope_name
            scope_spans.scope.attributes.append(kv("scope.attr", AnyValue(bool_value=True)))
            for n in range(2):
                counter += 1
                span_id = (0xA0 + counter).to_bytes(8, "big")
                scope_spans.spans.append(PbSpan(
                    trace_id=bytes.fromhex(TRACE), span_id=span_id, parent_span_id=b"\x00" * 7 + b"\x01",
                    trace_state="a=b", flags=0x101, name=f"{scope_name} {n}", kind=kinds[n],
                    start_time_unix_nano=START + n, end_time_unix_nano=START + 10 + n,
                    attributes=[
                        kv("s", AnyValue(string_value="x")), kv("i", AnyValue(int_value=-(2**63))),
                        kv("d", AnyValue(double_value=1.0)), kv("nan", AnyValue(double_value=float("nan"))),
                        kv("raw", AnyValue(bytes_value=b"\x00\x01")), kv("none", AnyValue()),
                        kv("arr", AnyValue(array_value=ArrayValue(values=[AnyValue(int_value=1)]))),
                        kv("map", AnyValue(kvlist_value=KeyValueList(values=[
                            kv("inner", AnyValue(double_value=float("-inf")))]))),
                    ],
                    dropped_attributes_count=1, dropped_events_count=2, dropped_links_count=3,
                    events=[PbSpan.Event(time_unix_nano=START + 5, name="e", dropped_attributes_count=1,
                                         attributes=[kv("k", AnyValue(string_value="v"))])],
                    links=[PbSpan.Link(trace_id=bytes(range(16)), span_id=span_id, trace_state="c=d",
                                       flags=1, dropped_attributes_count=2)],
                    status=Status(code=Status.STATUS_CODE_ERROR, message="bad"),
                ))
    return request.SerializeToString()


def test_otlp_json_round_trips_through_the_json_decoder() -> None:
    decoded = decode_otlp_protobuf(rich_export())
    rendered = json.loads(json.dumps(otlp_json(decoded.spans, decoded.resources), allow_nan=False))
    again = decode_otlp_json(json.dumps(rendered).encode())
    assert again.rejected == 0
    assert again.spans == decoded.spans
    assert again.resources == decoded.resources


def test_otlp_json_groups_by_resource_then_scope_with_otlp_json_encodings() -> None:
    decoded = decode_otlp_protobuf(rich_export())
    # Interleave the spans: the grouping must not depend on the input order.
    spans = decoded.spans[::2] + decoded.spans[1::2]
    rendered = otlp_json(spans, decoded.resources)["resourceSpans"]
    assert [[a["value"] for a in r["resource"]["attributes"]] for r in rendered] == [
        [{"stringValue": "frontend"}, {"intValue": "4"}], [{"stringValue": "cart"}, {"intValue": "4"}]]
    assert [[s["scope"]["name"] for s in r["scopeSpans"]] for r in rendered] == [["http", "db"], ["http", "db"]]
    first = rendered[0]["scopeSpans"][0]["spans"][0]
    assert first["traceId"] == TRACE and first["parentSpanId"] == "0000000000000001"
    assert first["startTimeUnixNano"] == str(START) and first["kind"] == 1
    assert first["status"] == {"code": 2, "message": "bad"}
    assert {a["key"]: a["value"] for a in first["attributes"]}["i"] == {"intValue": str(-(2**63))}
    assert {a["key"]: a["value"] for a in first["attributes"]}["nan"] == {"doubleValue": "NaN"}
    assert first["events"][0]["timeUnixNano"] == str(START + 5)
