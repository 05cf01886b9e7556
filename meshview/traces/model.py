"""Plain trace data: the resources and spans that OTLP and Zipkin payloads carry.

No Django here: decoders build these, storage turns them into rows, renderers turn them into
Jaeger's JSON. Every field is a JSON-able native so a row can hold it as columns plus JSON.

Attribute values (``AttributeValue``) are stored as JSON natives, one form per OTLP
``AnyValue`` field:

==============  ==============================================================
OTLP AnyValue   stored value
==============  ==============================================================
stringValue     ``str``
boolValue       ``bool``
intValue        ``int`` (int64 range)
doubleValue     ``float``; NaN and the infinities, which JSON cannot hold, as
                ``{"doubleValue": "NaN" | "Infinity" | "-Infinity"}``
bytesValue      ``{"bytesValue": "<standard base64>"}``
arrayValue      ``list`` of stored values
kvlistValue     ``{"kvlistValue": {key: stored value, ...}}``
(no value)      ``None``
==============  ==============================================================

A ``dict`` is therefore never a value by itself: it is always a one-key wrapper named after the
AnyValue field it stands for, so bytes and key-value lists cannot be confused. Keep floats as
floats when storing (``1.0`` stays ``1.0`` in JSON), since the Jaeger renderer types them as
``float64`` and integers as ``int64``.

The string form of a value, used to compare tags in search (``jaeger.attribute_string``):
strings as they are, bools ``true``/``false``, ints in decimal, floats as JavaScript (and the
OpenTelemetry collector) print numbers (``1``, ``0.5``, ``1e-7``, ``1e+21``, ``NaN``,
``Infinity``), bytes as their base64 text, lists and key-value lists as compact JSON with sorted
keys, and no value as the empty string.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

AttributeValue = Any
Attributes = dict[str, Any]

BYTES_VALUE = "bytesValue"
KVLIST_VALUE = "kvlistValue"
DOUBLE_VALUE = "doubleValue"

SERVICE_NAME = "service.name"
# Jaeger's placeholders (its empty-service-name and empty-span-name sanitizers), shown instead of
# a service or operation name that a span does not give; the resource attributes stay as sent.
MISSING_SERVICE_NAME = "missing-service-name"
EMPTY_SERVICE_NAME = "empty-service-name"
SERVICE_NAME_WRONG_TYPE = "service-name-wrong-type"
EMPTY_SPAN_NAME = "empty-span-name"
# Longest service or span name kept (characters, so at most 2 KiB of UTF-8): names are indexed in
# the database, and a B-tree entry has to fit in a page.
MAX_NAME_LENGTH = 512

SPAN_KIND_UNSPECIFIED = 0
SPAN_KIND_INTERNAL = 1
SPAN_KIND_SERVER = 2
SPAN_KIND_CLIENT = 3
SPAN_KIND_PRODUCER = 4
SPAN_KIND_CONSUMER = 5

STATUS_UNSET = 0
STATUS_OK = 1
STATUS_ERROR = 2


def bytes_value(data: bytes) -> dict[str, str]:
    """Return the stored form of an OTLP bytesValue."""
    return {BYTES_VALUE: base64.b64encode(data).decode("ascii")}


def resource_key(attributes: Attributes) -> str:
    """Return the stable identity of a resource: a 32-hex-digit BLAKE2b digest of its attributes
    as canonical JSON (sorted keys), so equal resources from any batch or process share a key."""
    canonical = json.dumps(attributes, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.blake2b(canonical.encode("utf-8"), digest_size=16).hexdigest()


@dataclass(slots=True)
class Resource:
    """The entity that produced spans (a process, a pod): its OTLP resource attributes.

    ``key`` is computed from the attributes when not given (storage passes the stored one)."""

    attributes: Attributes
    key: str = ""

    def __post_init__(self) -> None:
        if not self.key:
            self.key = resource_key(self.attributes)

    @property
    def service_name(self) -> str:
        """The resource's ``service.name``, or Jaeger's placeholder when it is missing
        (``missing-service-name``), empty (``empty-service-name``) or not a string
        (``service-name-wrong-type``), cut to ``MAX_NAME_LENGTH`` characters. The OpenTelemetry
        SDKs' own default, ``unknown_service``, arrives as an ordinary name."""
        if SERVICE_NAME not in self.attributes:
            return MISSING_SERVICE_NAME
        name = self.attributes[SERVICE_NAME]
        if not isinstance(name, str):
            return SERVICE_NAME_WRONG_TYPE
        return name[:MAX_NAME_LENGTH] or EMPTY_SERVICE_NAME


@dataclass(slots=True)
class Span:
    """One span as OTLP carries it, with its scope inline and its resource by key.

    Ids are lowercase hex (trace 32 digits, span 16; ``parent_span_id`` is ``""`` for a root),
    times are nanoseconds since the epoch, ``kind`` and ``status_code`` are OTLP's enum numbers.
    Events are dicts ``{"time_ns", "name", "attributes", "dropped_attributes_count"}``; links
    are dicts ``{"trace_id", "span_id", "trace_state", "attributes", "dropped_attributes_count",
    "flags"}``. ``service_name`` repeats the resource's (sanitised) service name for search.
    """

    trace_id: str
    span_id: str
    parent_span_id: str
    trace_state: str
    name: str
    kind: int
    start_ns: int
    end_ns: int
    status_code: int
    status_message: str
    attributes: Attributes
    events: list[dict[str, Any]]
    links: list[dict[str, Any]]
    resource_key: str
    service_name: str
    scope_name: str = ""
    scope_version: str = ""
    scope_attributes: Attributes = field(default_factory=dict)
    flags: int = 0
    dropped_attributes_count: int = 0
    dropped_events_count: int = 0
    dropped_links_count: int = 0

    @property
    def duration_ns(self) -> int:
        """The span's duration in nanoseconds."""
        return self.end_ns - self.start_ns
