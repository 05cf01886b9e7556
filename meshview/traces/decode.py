"""Decoding OTLP trace exports (protobuf and JSON) into meshview's plain spans.

``decode_otlp_protobuf`` and ``decode_otlp_json`` return a ``DecodedExport``: the resources by
key, the accepted spans, and how many spans were rejected with the first reasons. A payload that
cannot be read at all raises ``PayloadError`` (the HTTP layer answers 400); a wrong span is
rejected alone and the rest of the batch is kept, as OTLP's partial success expects.

A span is rejected when its trace id is not 16 bytes or is all zeros, its span id is not 8 bytes
or is all zeros, its parent span id is neither empty nor 8 bytes, its start time is missing
(zero), it ends before it starts, its kind is not 0..5 or its status code not 0..2, one of its
attributes is not a readable KeyValue, or (JSON) a field has the wrong type or an id is not hex.
Rejection reasons name the span by its index in the request, counting from 0 across all
resources and scopes: ``"span 3: trace_id must be 16 bytes, got 8"``.

Sanitised rather than rejected, as Jaeger's collector does:

- a missing, empty or non-string ``service.name`` is shown as Jaeger's placeholder
  (``Resource.service_name``); the resource attributes stay as sent;
- an empty span name becomes ``empty-span-name``;
- invalid UTF-8 in a protobuf string, and a lone surrogate escape in JSON, become U+FFFD, so
  one bad string never costs the batch;
- an all-zero parent span id means no parent;
- a link whose trace or span id is invalid is dropped and counted in ``dropped_links_count``;
- duplicate span ids are kept: each span is its own record;
- the limits below cut long strings and drop extra attributes, events and links, adding what
  was dropped to the span's (event's, link's) dropped counts.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from meshview.traces.model import (
    DOUBLE_VALUE,
    EMPTY_SPAN_NAME,
    KVLIST_VALUE,
    MAX_NAME_LENGTH,
    Attributes,
    Resource,
    Span,
    bytes_value,
)

# Longest string attribute value kept, in characters (a bytes value: in bytes); also the longest
# status message and trace state.
MAX_ATTRIBUTE_VALUE_LENGTH = 64 * 1024
# Attributes kept per resource, scope, span, event and link; events and links kept per span.
# 128 is the OpenTelemetry SDKs' default limit, so well-behaved clients never reach it.
MAX_ATTRIBUTES = 128
MAX_EVENTS = 128
MAX_LINKS = 128
# Deepest nesting of array and key-value-list attribute values; deeper is an unreadable payload
# (protobuf's own parser refuses messages nested beyond 100 levels too).
MAX_VALUE_DEPTH = 32
# Rejection reasons kept in DecodedExport.errors.
MAX_ERRORS = 10

SPAN_KIND_NAMES = {
    "SPAN_KIND_UNSPECIFIED": 0, "SPAN_KIND_INTERNAL": 1, "SPAN_KIND_SERVER": 2,
    "SPAN_KIND_CLIENT": 3, "SPAN_KIND_PRODUCER": 4, "SPAN_KIND_CONSUMER": 5,
}
STATUS_CODE_NAMES = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}

_ZERO_TRACE_ID = bytes(16)
_ZERO_SPAN_ID = bytes(8)
_NON_FINITE = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}
# Values a per-batch attribute cache may hand to many spans: immutable ones only.
_SHAREABLE = frozenset((str, int, float, bool, type(None)))


class PayloadError(ValueError):
    """The request body cannot be read as the format it claims (answered with 400)."""


class InvalidSpan(ValueError):
    """Raised inside the decoders when one span (or its resource or scope) is wrong; the message
    is the rejection reason. It never leaves a ``decode_*`` function."""


@dataclass(slots=True)
class DecodedExport:
    """What one export request carried: ``resources`` by key (only those that accepted spans
    refer to), the accepted ``spans`` in request order, the number of ``rejected`` spans and the
    first ``MAX_ERRORS`` rejection reasons."""

    resources: dict[str, Resource] = field(default_factory=dict)
    spans: list[Span] = field(default_factory=list)
    rejected: int = 0
    errors: list[str] = field(default_factory=list)

    def reject(self, index: int, reason: str) -> None:
        """Count span ``index`` as rejected for ``reason``."""
        self.rejected += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(f"span {index}: {reason}")

    def drop_unused_resources(self) -> None:
        """Forget resources that no accepted span refers to (all rejected, or none sent)."""
        used = {span.resource_key for span in self.spans}
        self.resources = {key: resource for key, resource in self.resources.items() if key in used}


def _span_problem(trace_id: bytes, span_id: bytes, parent: bytes, start: int, end: int,
                  kind: int, code: int) -> str:
    """Return why a span is rejected, checking in the order a reader would; "" when it is not."""
    if len(trace_id) != 16:
        return f"trace_id must be 16 bytes, got {len(trace_id)}"
    if trace_id == _ZERO_TRACE_ID:
        return "trace_id must not be all zeros"
    if len(span_id) != 8:
        return f"span_id must be 8 bytes, got {len(span_id)}"
    if span_id == _ZERO_SPAN_ID:
        return "span_id must not be all zeros"
    if parent and len(parent) != 8:
        return f"parent_span_id must be empty or 8 bytes, got {len(parent)}"
    if not start:
        return "start_time_unix_nano is missing"
    if end < start:
        return "end_time_unix_nano is before start_time_unix_nano"
    if not 0 <= kind <= 5:
        return f"kind {kind} is not a span kind (0..5)"
    if not 0 <= code <= 2:
        return f"status code {code} is not a status code (0..2)"
    return ""


def _double(value: float) -> Any:
    """Return the stored form of a double: the float, or a wrapper for NaN and the infinities."""
    if value - value == 0:
        return value
    return {DOUBLE_VALUE: "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")}


def _too_deep() -> PayloadError:
    return PayloadError(f"an attribute value is nested deeper than {MAX_VALUE_DEPTH} levels")


# --- protobuf -------------------------------------------------------------------------------

def _lenient_schema() -> tuple[type[Message], type[Message]]:
    """Build a wire-compatible copy of the OTLP trace schema in a private descriptor pool, with
    two changes: every string field is ``bytes``, so invalid UTF-8 reaches this module (to be
    replaced) instead of failing the whole parse; and the attribute lists of resources, scopes,
    spans, events and links are ``repeated bytes``, so each attribute arrives as its encoded
    KeyValue. Spans of a batch repeat the same key/value pairs, and a dict lookup on those bytes
    is several times cheaper than walking KeyValue and AnyValue messages in Python.

    Returns the request class and the (lenient) KeyValue class."""
    pool = descriptor_pool.DescriptorPool()
    key_value = f".{common_pb2.KeyValue.DESCRIPTOR.full_name}"
    key_value_list = common_pb2.KeyValueList.DESCRIPTOR.name

    def loosen(messages: Any) -> None:
        for message in messages:
            for fd in message.field:
                if fd.type == fd.TYPE_STRING:
                    fd.type = fd.TYPE_BYTES
                elif fd.type_name == key_value and message.name != key_value_list:
                    fd.type = fd.TYPE_BYTES
                    fd.ClearField("type_name")
            loosen(message.nested_type)

    for module in (common_pb2, resource_pb2, trace_pb2, trace_service_pb2):
        proto = descriptor_pb2.FileDescriptorProto()
        module.DESCRIPTOR.CopyToProto(proto)
        loosen(proto.message_type)
        pool.Add(proto)
    request = trace_service_pb2.ExportTraceServiceRequest.DESCRIPTOR.full_name
    return (message_factory.GetMessageClass(pool.FindMessageTypeByName(request)),
            message_factory.GetMessageClass(pool.FindMessageTypeByName(common_pb2.KeyValue.DESCRIPTOR.full_name)))


_WireRequest, _WireKeyValue = _lenient_schema()


def _text(data: bytes, limit: int) -> str:
    text = data.decode("utf-8", "replace")
    return text if len(text) <= limit else text[:limit]


def _pb_value(value: Any, depth: int) -> Any:
    """Return the stored form of a (lenient) AnyValue message."""
    which = value.WhichOneof("value")
    if which == "string_value":
        return _text(value.string_value, MAX_ATTRIBUTE_VALUE_LENGTH)
    if which == "int_value" or which == "bool_value":
        return getattr(value, which)
    if which == "double_value":
        return _double(value.double_value)
    if which == "bytes_value":
        return bytes_value(value.bytes_value[:MAX_ATTRIBUTE_VALUE_LENGTH])
    if which == "array_value":
        if depth >= MAX_VALUE_DEPTH:
            raise _too_deep()
        return [_pb_value(item, depth + 1) for item in value.array_value.values]
    if which == "kvlist_value":
        if depth >= MAX_VALUE_DEPTH:
            raise _too_deep()
        return {KVLIST_VALUE: {_text(kv.key, MAX_NAME_LENGTH): _pb_value(kv.value, depth + 1)
                               for kv in value.kvlist_value.values}}
    return None


def _pb_attributes(raws: Any, cache: dict[bytes, tuple[str, Any]]) -> tuple[Attributes, int]:
    """Return the attributes from encoded KeyValues and how many were dropped over the limit.

    Raises InvalidSpan for bytes that are not a KeyValue."""
    count = len(raws)
    if count > MAX_ATTRIBUTES:
        raws = raws[:MAX_ATTRIBUTES]
    attributes = {}
    for raw in raws:
        entry = cache.get(raw)
        if entry is None:
            try:
                kv = _WireKeyValue.FromString(raw)
            except DecodeError:
                raise InvalidSpan("an attribute is not a readable KeyValue") from None
            entry = (_text(kv.key, MAX_NAME_LENGTH), _pb_value(kv.value, 0))
            if type(entry[1]) in _SHAREABLE:
                cache[raw] = entry
        attributes[entry[0]] = entry[1]
    return attributes, count - len(raws)


def _pb_events(events: Any, cache: dict[bytes, tuple[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    kept = []
    for event in events[:MAX_EVENTS]:
        attributes, dropped = _pb_attributes(event.attributes, cache)
        kept.append({
            "time_ns": event.time_unix_nano,
            "name": _text(event.name, MAX_NAME_LENGTH),
            "attributes": attributes,
            "dropped_attributes_count": event.dropped_attributes_count + dropped,
        })
    return kept, len(events) - len(kept)


def _pb_links(links: Any, cache: dict[bytes, tuple[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    kept = []
    for link in links[:MAX_LINKS]:
        trace_id, span_id = link.trace_id, link.span_id
        if len(trace_id) != 16 or len(span_id) != 8 or trace_id == _ZERO_TRACE_ID or span_id == _ZERO_SPAN_ID:
            continue
        attributes, dropped = _pb_attributes(link.attributes, cache)
        kept.append({
            "trace_id": trace_id.hex(),
            "span_id": span_id.hex(),
            "trace_state": _text(link.trace_state, MAX_ATTRIBUTE_VALUE_LENGTH),
            "attributes": attributes,
            "dropped_attributes_count": link.dropped_attributes_count + dropped,
            "flags": link.flags,
        })
    return kept, len(links) - len(kept)


def decode_otlp_protobuf(body: bytes) -> DecodedExport:
    """Decode an OTLP/protobuf ``ExportTraceServiceRequest``.

    Returns the resources, the accepted spans and the rejections (see the module docstring).
    Raises PayloadError when the body is not a readable request or an attribute value is
    nested deeper than MAX_VALUE_DEPTH."""
    try:
        request = _WireRequest.FromString(body)
    except DecodeError as exc:
        raise PayloadError(f"not a readable OTLP protobuf ExportTraceServiceRequest: {exc}") from None
    export = DecodedExport()
    accepted = export.spans
    cache: dict[bytes, tuple[str, Any]] = {}
    names: dict[bytes, str] = {}  # span names repeat as much as attributes do
    index = -1
    for resource_spans in request.resource_spans:
        problem = ""
        try:
            resource = Resource(_pb_attributes(resource_spans.resource.attributes, cache)[0])
        except InvalidSpan as exc:
            problem, resource = f"resource: {exc}", Resource({})
        export.resources.setdefault(resource.key, resource)
        resource_key, service_name = resource.key, resource.service_name
        for scope_spans in resource_spans.scope_spans:
            scope = scope_spans.scope
            scope_name = _text(scope.name, MAX_NAME_LENGTH)
            scope_version = _text(scope.version, MAX_NAME_LENGTH)
            scope_problem = problem
            try:
                scope_attributes = _pb_attributes(scope.attributes, cache)[0]
            except InvalidSpan as exc:
                scope_problem, scope_attributes = problem or f"scope: {exc}", {}
            for span in scope_spans.spans:
                index += 1
                if scope_problem:
                    export.reject(index, scope_problem)
                    continue
                trace_id, span_id, parent = span.trace_id, span.span_id, span.parent_span_id
                start, end, kind = span.start_time_unix_nano, span.end_time_unix_nano, span.kind
                status = span.status
                code = status.code
                # _span_problem's checks, inline because they run for every span.
                if (len(trace_id) != 16 or len(span_id) != 8 or trace_id == _ZERO_TRACE_ID
                        or span_id == _ZERO_SPAN_ID or (parent and len(parent) != 8) or not start
                        or end < start or not 0 <= kind <= 5 or not 0 <= code <= 2):
                    export.reject(index, _span_problem(trace_id, span_id, parent, start, end, kind, code))
                    continue
                pb_events, pb_links = span.events, span.links
                try:
                    attributes, dropped_attributes = _pb_attributes(span.attributes, cache)
                    events, dropped_events = _pb_events(pb_events, cache) if pb_events else ([], 0)
                    links, dropped_links = _pb_links(pb_links, cache) if pb_links else ([], 0)
                except InvalidSpan as exc:
                    export.reject(index, str(exc))
                    continue
                raw_name = span.name
                name = names.get(raw_name)
                if name is None:
                    name = names[raw_name] = _text(raw_name, MAX_NAME_LENGTH) if raw_name else EMPTY_SPAN_NAME
                message = status.message
                trace_state = span.trace_state
                accepted.append(Span(
                    trace_id.hex(), span_id.hex(), parent.hex() if parent and parent != _ZERO_SPAN_ID else "",
                    _text(trace_state, MAX_ATTRIBUTE_VALUE_LENGTH) if trace_state else "",
                    name, kind, start, end, code,
                    _text(message, MAX_ATTRIBUTE_VALUE_LENGTH) if message else "",
                    attributes, events, links, resource_key, service_name,
                    scope_name, scope_version, scope_attributes, span.flags,
                    span.dropped_attributes_count + dropped_attributes,
                    span.dropped_events_count + dropped_events,
                    span.dropped_links_count + dropped_links,
                ))
    export.drop_unused_resources()
    return export


# --- JSON -----------------------------------------------------------------------------------

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _without_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_without_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {_without_surrogates(k): _without_surrogates(v) for k, v in value.items()}
    return value


def load_json(body: bytes) -> Any:
    """Parse a JSON request body leniently about text: invalid UTF-8 and lone surrogate escapes
    (which no database can store) become U+FFFD.

    Returns the parsed document. Raises PayloadError for invalid JSON and for JSON nested
    deeper than the parser's recursion guard."""
    text = body.decode("utf-8", "replace")
    try:
        document = json.loads(text)
        # Valid surrogate pairs are joined by the parser; only lone halves are left to replace.
        if _SURROGATE_ESCAPE.search(text):
            document = _without_surrogates(document)
    except RecursionError:
        raise PayloadError("JSON nested too deeply") from None
    except ValueError as exc:
        raise PayloadError(f"invalid JSON: {exc}") from None
    return document


def _get(obj: dict[str, Any], camel: str, snake: str) -> Any:
    """Return a field by its lowerCamelCase JSON name or its proto name; None when absent."""
    value = obj.get(camel)
    return obj.get(snake) if value is None else value


def _json_object(value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if type(value) is not dict:
        raise InvalidSpan(f"{what} must be an object")
    return value


def _json_list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if type(value) is not list:
        raise InvalidSpan(f"{what} must be a list")
    return value


def _json_text(value: Any, what: str, limit: int) -> str:
    if value is None:
        return ""
    if type(value) is not str:
        raise InvalidSpan(f"{what} must be a string")
    return value if len(value) <= limit else value[:limit]


def _json_int(value: Any, what: str, low: int, high: int) -> int:
    """Return an integer sent as a JSON number or a decimal string (proto3's int64 form)."""
    if value is None:
        return 0
    kind = type(value)
    if not (kind is str or kind is int or (kind is float and value.is_integer())):
        raise InvalidSpan(f"{what} must be an integer")
    try:
        number = int(value)
    except ValueError:
        raise InvalidSpan(f"{what} must be an integer") from None
    if not low <= number <= high:
        raise InvalidSpan(f"{what} {number} is out of range")
    return number


def _json_uint64(value: Any, what: str) -> int:
    return _json_int(value, what, 0, 2**64 - 1)


def _json_uint32(value: Any, what: str) -> int:
    return _json_int(value, what, 0, 2**32 - 1)


def _json_enum(value: Any, what: str, names: dict[str, int]) -> int:
    if type(value) is str and value in names:
        return names[value]
    return _json_int(value, what, -(2**31), 2**31 - 1)


def _json_id(value: Any, what: str) -> bytes:
    if value is None:
        return b""
    if type(value) is not str:
        raise InvalidSpan(f"{what} must be a hex string")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise InvalidSpan(f"{what} is not hex") from None


def _json_double(value: Any) -> Any:
    if type(value) is float or type(value) is int:
        return _double(float(value))
    if type(value) is str:
        if value in _NON_FINITE:
            return _double(_NON_FINITE[value])
        try:
            return _double(float(value))
        except ValueError:
            pass
    raise InvalidSpan("doubleValue must be a number")


def _json_bytes(value: Any) -> dict[str, str]:
    """Return the stored form of a bytesValue sent as standard or URL-safe base64, padded or
    not (proto3's JSON mapping accepts all four)."""
    if type(value) is not str:
        raise InvalidSpan("bytesValue must be a base64 string")
    text = value.replace("-", "+").replace("_", "/")
    try:
        data = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidSpan("bytesValue is not base64") from None
    return bytes_value(data[:MAX_ATTRIBUTE_VALUE_LENGTH])


def _json_value(value: Any, depth: int) -> Any:
    """Return the stored form of an OTLP JSON AnyValue (an unset value is None)."""
    if value is None:
        return None
    if type(value) is not dict:
        raise InvalidSpan("an attribute value must be an AnyValue object")
    for name, content in value.items():
        if content is None:
            continue
        if name == "stringValue" or name == "string_value":
            return _json_text(content, "stringValue", MAX_ATTRIBUTE_VALUE_LENGTH)
        if name == "intValue" or name == "int_value":
            return _json_int(content, "intValue", -(2**63), 2**63 - 1)
        if name == "boolValue" or name == "bool_value":
            if type(content) is not bool:
                raise InvalidSpan("boolValue must be true or false")
            return content
        if name == "doubleValue" or name == "double_value":
            return _json_double(content)
        if name == "bytesValue" or name == "bytes_value":
            return _json_bytes(content)
        if name in ("arrayValue", "array_value", "kvlistValue", "kvlist_value"):
            if depth >= MAX_VALUE_DEPTH:
                raise _too_deep()
            items = _json_list(_json_object(content, name).get("values"), f"{name}.values")
            if name[0] == "a":
                return [_json_value(item, depth + 1) for item in items]
            return {KVLIST_VALUE: _json_key_values(items, depth + 1)}
    return None


def _json_key_values(items: list[Any], depth: int) -> Attributes:
    attributes = {}
    for item in items:
        if type(item) is not dict:
            raise InvalidSpan("an attribute must be an object with key and value")
        key = item.get("key")
        if type(key) is not str or len(key) > MAX_NAME_LENGTH:
            key = _json_text(key, "an attribute key", MAX_NAME_LENGTH)
        value = item.get("value")
        # Most values are short strings: take them without the general walk.
        text = value.get("stringValue") if type(value) is dict else None
        if type(text) is str and len(text) <= MAX_ATTRIBUTE_VALUE_LENGTH:
            attributes[key] = text
        else:
            attributes[key] = _json_value(value, depth)
    return attributes


def _json_attributes(value: Any, what: str) -> tuple[Attributes, int]:
    """Return the attributes of a JSON attribute list and how many were dropped over the limit."""
    items = _json_list(value, what)
    return _json_key_values(items[:MAX_ATTRIBUTES], 0), max(0, len(items) - MAX_ATTRIBUTES)


def _json_events(value: Any) -> tuple[list[dict[str, Any]], int]:
    items = _json_list(value, "events")
    events = []
    for item in items[:MAX_EVENTS]:
        event = _json_object(item, "an event")
        attributes, dropped = _json_attributes(event.get("attributes"), "event attributes")
        events.append({
            "time_ns": _json_uint64(_get(event, "timeUnixNano", "time_unix_nano"), "timeUnixNano"),
            "name": _json_text(event.get("name"), "an event name", MAX_NAME_LENGTH),
            "attributes": attributes,
            "dropped_attributes_count": dropped + _json_uint32(
                _get(event, "droppedAttributesCount", "dropped_attributes_count"), "droppedAttributesCount"),
        })
    return events, len(items) - len(events)


def _json_links(value: Any) -> tuple[list[dict[str, Any]], int]:
    items = _json_list(value, "links")
    links = []
    for item in items[:MAX_LINKS]:
        link = _json_object(item, "a link")
        try:
            trace_id = _json_id(_get(link, "traceId", "trace_id"), "link traceId")
            span_id = _json_id(_get(link, "spanId", "span_id"), "link spanId")
        except InvalidSpan:
            continue
        if len(trace_id) != 16 or len(span_id) != 8 or trace_id == _ZERO_TRACE_ID or span_id == _ZERO_SPAN_ID:
            continue
        attributes, dropped = _json_attributes(link.get("attributes"), "link attributes")
        links.append({
            "trace_id": trace_id.hex(),
            "span_id": span_id.hex(),
            "trace_state": _json_text(_get(link, "traceState", "trace_state"), "link traceState",
                                      MAX_ATTRIBUTE_VALUE_LENGTH),
            "attributes": attributes,
            "dropped_attributes_count": dropped + _json_uint32(
                _get(link, "droppedAttributesCount", "dropped_attributes_count"), "droppedAttributesCount"),
            "flags": _json_uint32(link.get("flags"), "link flags"),
        })
    return links, len(items) - len(links)


def _json_span(obj: Any, resource: Resource, scope: tuple[str, str, Attributes]) -> Span:
    """Return the Span of one OTLP JSON span object. Raises InvalidSpan with the rejection reason."""
    if type(obj) is not dict:
        raise InvalidSpan("a span must be an object")
    trace_id = _json_id(_get(obj, "traceId", "trace_id"), "traceId")
    span_id = _json_id(_get(obj, "spanId", "span_id"), "spanId")
    parent = _json_id(_get(obj, "parentSpanId", "parent_span_id"), "parentSpanId")
    start = _json_uint64(_get(obj, "startTimeUnixNano", "start_time_unix_nano"), "startTimeUnixNano")
    end = _json_uint64(_get(obj, "endTimeUnixNano", "end_time_unix_nano"), "endTimeUnixNano")
    kind = _json_enum(obj.get("kind"), "kind", SPAN_KIND_NAMES)
    status = _json_object(obj.get("status"), "status")
    code = _json_enum(status.get("code"), "status code", STATUS_CODE_NAMES)
    problem = _span_problem(trace_id, span_id, parent, start, end, kind, code)
    if problem:
        raise InvalidSpan(problem)
    attributes, dropped_attributes = _json_attributes(obj.get("attributes"), "attributes")
    events, dropped_events = _json_events(obj.get("events"))
    links, dropped_links = _json_links(obj.get("links"))
    return Span(
        trace_id.hex(), span_id.hex(), parent.hex() if parent and parent != _ZERO_SPAN_ID else "",
        _json_text(_get(obj, "traceState", "trace_state"), "traceState", MAX_ATTRIBUTE_VALUE_LENGTH),
        _json_text(obj.get("name"), "name", MAX_NAME_LENGTH) or EMPTY_SPAN_NAME,
        kind, start, end, code,
        _json_text(status.get("message"), "status message", MAX_ATTRIBUTE_VALUE_LENGTH),
        attributes, events, links, resource.key, resource.service_name, scope[0], scope[1], scope[2],
        _json_uint32(obj.get("flags"), "flags"),
        dropped_attributes + _json_uint32(
            _get(obj, "droppedAttributesCount", "dropped_attributes_count"), "droppedAttributesCount"),
        dropped_events + _json_uint32(
            _get(obj, "droppedEventsCount", "dropped_events_count"), "droppedEventsCount"),
        dropped_links + _json_uint32(_get(obj, "droppedLinksCount", "dropped_links_count"), "droppedLinksCount"),
    )


def _json_container(value: Any, what: str, *, of_objects: bool = True) -> list[Any]:
    """Return a list above the span level (of objects, unless told otherwise); anything else is
    an unreadable payload."""
    try:
        items = _json_list(value, what)
    except InvalidSpan as exc:
        raise PayloadError(str(exc)) from None
    if of_objects and any(type(item) is not dict for item in items):
        raise PayloadError(f"{what} must hold objects")
    return items


def decode_otlp_json(body: bytes) -> DecodedExport:
    """Decode an OTLP/JSON ``ExportTraceServiceRequest``: hex ids in any case, int64 values as
    strings or numbers, enums as numbers or names, lowerCamelCase or proto field names, unknown
    fields ignored.

    Returns the resources, the accepted spans and the rejections (see the module docstring).
    Raises PayloadError for invalid JSON, a top level that is not an object, resourceSpans,
    scopeSpans or spans that are not lists of objects, and nesting deeper than the limits."""
    document = load_json(body)
    if type(document) is not dict:
        raise PayloadError("an OTLP JSON export must be a JSON object")
    export = DecodedExport()
    index = -1
    for resource_spans in _json_container(_get(document, "resourceSpans", "resource_spans"), "resourceSpans"):
        problem = ""
        try:
            resource_obj = _json_object(resource_spans.get("resource"), "resource")
            resource = Resource(_json_attributes(resource_obj.get("attributes"), "resource attributes")[0])
        except InvalidSpan as exc:
            problem, resource = f"resource: {exc}", Resource({})
        export.resources.setdefault(resource.key, resource)
        scopes = _json_container(_get(resource_spans, "scopeSpans", "scope_spans"), "scopeSpans")
        for scope_spans in scopes:
            scope_problem = problem
            try:
                scope_obj = _json_object(scope_spans.get("scope"), "scope")
                scope = (_json_text(scope_obj.get("name"), "scope name", MAX_NAME_LENGTH),
                         _json_text(scope_obj.get("version"), "scope version", MAX_NAME_LENGTH),
                         _json_attributes(scope_obj.get("attributes"), "scope attributes")[0])
            except InvalidSpan as exc:
                scope_problem, scope = scope_problem or f"scope: {exc}", ("", "", {})
            for obj in _json_container(scope_spans.get("spans"), "spans", of_objects=False):
                index += 1
                if scope_problem:
                    export.reject(index, scope_problem)
                    continue
                try:
                    export.spans.append(_json_span(obj, resource, scope))
                except InvalidSpan as exc:
                    export.reject(index, str(exc))
    export.drop_unused_resources()
    return export
