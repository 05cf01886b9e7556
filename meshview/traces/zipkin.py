"""Zipkin v2 JSON spans (``POST /api/v2/spans``) as meshview's plain spans.

The mapping, field by field:

- ``traceId`` (up to 32 hex digits) is left-padded to 32, ``id`` and ``parentId`` (up to 16) to
  16, as Zipkin itself pads short ids; an all-zero or missing ``parentId`` means a root span.
- ``timestamp`` and ``duration`` (microseconds) become start and end in nanoseconds; a span
  without ``duration`` ends when it starts.
- ``kind`` CLIENT, SERVER, PRODUCER, CONSUMER become OTLP's kinds; no kind is unspecified.
- ``localEndpoint.serviceName`` is the resource's ``service.name`` (one resource per service);
  its address and port become the span attributes ``network.local.address`` and
  ``network.local.port``.
- ``remoteEndpoint`` becomes ``peer.service``, ``network.peer.address`` and
  ``network.peer.port``.
- ``tags`` become attributes, except the ones that carry OTLP fields: ``error`` sets status
  ERROR, its value being the message (unless it is just ``true`` or empty);
  ``otel.status_code`` and ``otel.status_description`` (written by OpenTelemetry's Zipkin
  exporters) set the status; ``otel.scope.name``/``otel.scope.version`` (or the older
  ``otel.library.*``) set the scope.
- ``annotations`` become events named by their value.
- ``shared: true`` marks the server half of a span whose id the client half also uses (Zipkin's
  RPC model); it is kept as a span record of its own, told apart by its kind and by the
  attribute ``zipkin.shared = true``. ``debug: true`` becomes ``zipkin.debug = true``.
- Every span is flagged sampled (W3C trace flags 0x01), since Zipkin reports only sampled ones.

A span is rejected when an id is not hex, too long or all zeros, the timestamp is missing, the
duration is negative, the kind is unknown, or a field has the wrong type.
"""

from __future__ import annotations

import json
import re
from typing import Any

from meshview.traces.decode import (
    MAX_ATTRIBUTE_VALUE_LENGTH,
    MAX_ATTRIBUTES,
    MAX_EVENTS,
    DecodedExport,
    InvalidSpan,
    PayloadError,
    load_json,
)
from meshview.traces.model import (
    EMPTY_SPAN_NAME,
    MAX_NAME_LENGTH,
    SERVICE_NAME,
    STATUS_ERROR,
    STATUS_OK,
    STATUS_UNSET,
    Attributes,
    Resource,
    Span,
)

ZIPKIN_KINDS = {"SERVER": 2, "CLIENT": 3, "PRODUCER": 4, "CONSUMER": 5}
SHARED_ATTRIBUTE = "zipkin.shared"
DEBUG_ATTRIBUTE = "zipkin.debug"
SAMPLED_FLAG = 0x01

_HEX = re.compile(r"[0-9a-fA-F]+")
_STATUS_CODES = {"ERROR": STATUS_ERROR, "OK": STATUS_OK, "UNSET": STATUS_UNSET}
_SCOPE_TAGS = {
    "otel.scope.name": 0, "otel.library.name": 0, "otel.scope.version": 1, "otel.library.version": 1,
}


def _id(value: Any, what: str, digits: int) -> str:
    """Return a Zipkin id as lowercase hex left-padded to ``digits``."""
    if type(value) is not str or not 0 < len(value) <= digits or not _HEX.fullmatch(value):
        raise InvalidSpan(f"{what} must be 1 to {digits} hex digits")
    if not value.strip("0"):
        raise InvalidSpan(f"{what} must not be all zeros")
    return value.lower().rjust(digits, "0")


def _micros(value: Any, what: str) -> int:
    """Return nanoseconds from a Zipkin time in microseconds (an integer, or a number with a
    fraction as OpenTelemetry's exporters may send)."""
    if type(value) is int and value >= 0:
        return value * 1000
    if type(value) is float and value >= 0 and value - value == 0:
        return round(value * 1000)
    raise InvalidSpan(f"{what} must be a non-negative number of microseconds")


def _text(value: Any, what: str, limit: int) -> str:
    if type(value) is not str:
        raise InvalidSpan(f"{what} must be a string")
    return value[:limit]


def _object(value: Any, what: str) -> dict[str, Any]:
    """Return an optional JSON object ({} when absent)."""
    if value is None:
        return {}
    if type(value) is not dict:
        raise InvalidSpan(f"{what} must be an object")
    return value


def _endpoint_attributes(endpoint: dict[str, Any], what: str, address_key: str, port_key: str,
                         attributes: Attributes) -> None:
    address = endpoint.get("ipv4") or endpoint.get("ipv6")
    if address is not None:
        attributes[address_key] = _text(address, f"{what} address", MAX_NAME_LENGTH)
    port = endpoint.get("port")
    if port is not None:
        if type(port) is not int:
            raise InvalidSpan(f"{what}.port must be an integer")
        attributes[port_key] = port


def _tag_value(value: Any) -> Any:
    """Zipkin tags are strings; numbers and bools that some clients send are kept as such, and
    anything else is kept as its JSON text."""
    if type(value) is str:
        return value[:MAX_ATTRIBUTE_VALUE_LENGTH]
    if type(value) in (bool, int, float) and value - value == 0:
        return value
    return json.dumps(value)[:MAX_ATTRIBUTE_VALUE_LENGTH]


def _zipkin_span(obj: Any, resources: dict[str | None, Resource]) -> Span:
    """Return the Span of one Zipkin v2 span object. Raises InvalidSpan with the reason."""
    if type(obj) is not dict:
        raise InvalidSpan("a span must be an object")
    trace_id = _id(obj.get("traceId"), "traceId", 32)
    span_id = _id(obj.get("id"), "id", 16)
    parent = obj.get("parentId")
    parent_span_id = "" if parent is None or parent == "" or (
        type(parent) is str and not parent.strip("0")) else _id(parent, "parentId", 16)
    timestamp = obj.get("timestamp")
    if not timestamp:
        raise InvalidSpan("timestamp is missing")
    start = _micros(timestamp, "timestamp")
    duration = obj.get("duration")
    end = start + (_micros(duration, "duration") if duration is not None else 0)
    kind_name = obj.get("kind")
    if kind_name is not None and (type(kind_name) is not str or kind_name not in ZIPKIN_KINDS):
        raise InvalidSpan(f"kind {kind_name!r} is not CLIENT, SERVER, PRODUCER or CONSUMER")
    name = obj.get("name")
    name = _text(name, "name", MAX_NAME_LENGTH) if name is not None else ""

    local = _object(obj.get("localEndpoint"), "localEndpoint")
    service = local.get("serviceName")
    if service is not None and type(service) is not str:
        raise InvalidSpan("localEndpoint.serviceName must be a string")
    resource = resources.get(service)
    if resource is None:
        resource = resources[service] = Resource({} if service is None else {SERVICE_NAME: service})

    attributes: Attributes = {}
    status_code, status_message, scope = STATUS_UNSET, "", ["", ""]
    tags = _object(obj.get("tags"), "tags")
    for key, value in list(tags.items())[:MAX_ATTRIBUTES]:
        if key == "error":
            # The tag's presence is the error and its value the message; OpenTracing's bool tag
            # arrives as "true" (no message) or "false" (no error).
            message = _tag_value(value)
            if message not in ("false", False):
                status_code = STATUS_ERROR
                if message not in ("", "true", True) and not status_message:
                    status_message = str(message)
        elif key == "otel.status_code" and type(value) is str and value in _STATUS_CODES:
            status_code = max(status_code, _STATUS_CODES[value])
        elif key == "otel.status_description":
            status_message = str(_tag_value(value))
        elif key in _SCOPE_TAGS and type(value) is str:
            scope[_SCOPE_TAGS[key]] = value[:MAX_NAME_LENGTH]
        else:
            attributes[key[:MAX_NAME_LENGTH]] = _tag_value(value)
    _endpoint_attributes(local, "localEndpoint", "network.local.address", "network.local.port", attributes)
    remote = _object(obj.get("remoteEndpoint"), "remoteEndpoint")
    if remote.get("serviceName") is not None:
        attributes["peer.service"] = _text(remote["serviceName"], "remoteEndpoint.serviceName", MAX_NAME_LENGTH)
    _endpoint_attributes(remote, "remoteEndpoint", "network.peer.address", "network.peer.port", attributes)
    if obj.get("shared") is True:
        attributes[SHARED_ATTRIBUTE] = True
    if obj.get("debug") is True:
        attributes[DEBUG_ATTRIBUTE] = True

    annotations = obj.get("annotations") or []
    if type(annotations) is not list:
        raise InvalidSpan("annotations must be a list")
    events = []
    for annotation in annotations[:MAX_EVENTS]:
        annotation = _object(annotation, "an annotation")
        events.append({
            "time_ns": _micros(annotation.get("timestamp"), "annotation timestamp"),
            "name": _text(annotation.get("value"), "annotation value", MAX_NAME_LENGTH),
            "attributes": {},
            "dropped_attributes_count": 0,
        })
    return Span(
        trace_id, span_id, parent_span_id, "", name or EMPTY_SPAN_NAME,
        ZIPKIN_KINDS.get(kind_name or "", 0), start, end,
        status_code, status_message, attributes, events, [], resource.key, resource.service_name,
        scope[0], scope[1], {}, SAMPLED_FLAG,
        max(0, len(tags) - MAX_ATTRIBUTES), max(0, len(annotations) - MAX_EVENTS), 0,
    )


def decode_zipkin_json(body: bytes) -> DecodedExport:
    """Decode a Zipkin v2 JSON list of spans (see the module docstring for the mapping).

    Returns the resources (one per service), the accepted spans and the rejections, each reason
    naming the span's index in the list. Raises PayloadError for invalid JSON or a top level
    that is not a list."""
    document = load_json(body)
    if type(document) is not list:
        raise PayloadError("a Zipkin v2 payload must be a JSON list of spans")
    export = DecodedExport()
    resources: dict[str | None, Resource] = {}
    for index, obj in enumerate(document):
        try:
            span = _zipkin_span(obj, resources)
        except InvalidSpan as exc:
            export.reject(index, str(exc))
            continue
        export.spans.append(span)
    export.resources = {resource.key: resource for resource in resources.values()}
    export.drop_unused_resources()
    return export
