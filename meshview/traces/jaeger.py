"""Stored spans as Jaeger's query API answers them.

``jaeger_trace`` renders the v1 trace JSON (what Grafana's Jaeger data source and the Jaeger
UI's trace page read), ``otlp_json`` the OTLP JSON of the v3 API (its trace summaries come
from ``queries.summaries``), ``dependencies`` the v1 dependency links; ``attribute_string`` is the
string form of an attribute value that tag search compares (see ``model``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from meshview.traces.model import (
    BYTES_VALUE,
    DOUBLE_VALUE,
    KVLIST_VALUE,
    SERVICE_NAME,
    STATUS_ERROR,
    STATUS_OK,
    Attributes,
    Resource,
    Span,
)

SPAN_KIND_TAGS = {1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}
# Integers beyond this magnitude lose precision as JSON numbers in a browser, so tags carry
# them as strings.
MAX_SAFE_INTEGER = 2**53
# A link carrying this attribute says which OpenTracing reference it was (child_of or
# follows_from), as the OpenTelemetry translators from Jaeger write it.
REF_TYPE_ATTRIBUTE = "opentracing.ref_type"


def deduplicate(spans: Sequence[Span]) -> list[Span]:
    """Return `spans` without exact duplicates (same span id and same everything else), as
    Jaeger's DeduplicateSpans adjuster serves a trace; spans that share only an id stay."""
    kept: list[Span] = []
    seen: dict[str, list[Span]] = {}
    for span in spans:
        same_id = seen.setdefault(span.span_id, [])
        if span not in same_id:
            same_id.append(span)
            kept.append(span)
    return kept


# --- string form ----------------------------------------------------------------------------

def _number_text(value: float) -> str:
    """Return a double as JavaScript's Number#toString writes it, which is also how the
    OpenTelemetry collector turns a double into a string: shortest round-trip digits, no
    trailing ``.0``, exponent notation below 1e-6 and from 1e21."""
    if value != value:
        return "NaN"
    if value - value != 0:
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "0"
    magnitude = abs(value)
    if 1e-6 <= magnitude < 1e21:
        if value.is_integer():
            return str(int(value))
        text = repr(value)
        return format(Decimal(text), "f") if "e" in text else text
    mantissa, _, exponent = repr(value).partition("e")
    power = int(exponent)
    return f"{mantissa}e{'+' if power > 0 else '-'}{abs(power)}"


def _json_text(value: Any) -> str:
    """Return a stored value as compact JSON: bytes as their base64 string, key-value lists as
    objects with sorted keys, numbers as ``_number_text`` writes them."""
    if value is None:
        return "null"
    kind = type(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is float:
        text = _number_text(value)
        return text if value - value == 0 else f'"{text}"'
    if kind is str:
        return json.dumps(value, ensure_ascii=False)
    if kind is list:
        return "[" + ",".join(_json_text(item) for item in value) + "]"
    if KVLIST_VALUE in value:
        items = sorted(value[KVLIST_VALUE].items())
        return "{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{_json_text(v)}" for k, v in items) + "}"
    return json.dumps(value.get(BYTES_VALUE, value.get(DOUBLE_VALUE)))


def attribute_string(value: Any) -> str:
    """Return the string form of a stored attribute value, the one search compares a tag with:
    strings unchanged, ``true``/``false``, decimal integers, doubles as JavaScript prints them
    (``1``, ``0.25``, ``1e-7``, ``NaN``), bytes as base64, arrays and key-value lists as compact
    JSON with sorted keys, and ``""`` for no value."""
    kind = type(value)
    if kind is str:
        return value
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is float:
        return _number_text(value)
    if value is None:
        return ""
    if kind is dict and KVLIST_VALUE not in value:
        return str(value.get(BYTES_VALUE, value.get(DOUBLE_VALUE)))
    return _json_text(value)


# --- Jaeger v1 ------------------------------------------------------------------------------

def jaeger_tag(key: str, value: Any) -> dict[str, Any]:
    """Return a Jaeger key-value ``{"key", "type", "value"}`` for a stored attribute: string,
    bool, int64 (as a string beyond ±2^53), float64 (NaN and the infinities as strings), binary
    (base64); arrays, key-value lists and no value become strings (``attribute_string``)."""
    kind = type(value)
    if kind is str:
        return {"key": key, "type": "string", "value": value}
    if kind is bool:
        return {"key": key, "type": "bool", "value": value}
    if kind is int:
        safe = -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER
        return {"key": key, "type": "int64", "value": value if safe else str(value)}
    if kind is float:
        return {"key": key, "type": "float64", "value": value}
    if kind is dict and BYTES_VALUE in value:
        return {"key": key, "type": "binary", "value": value[BYTES_VALUE]}
    if kind is dict and DOUBLE_VALUE in value:
        return {"key": key, "type": "float64", "value": value[DOUBLE_VALUE]}
    return {"key": key, "type": "string", "value": attribute_string(value)}


def _process(span: Span, resource: Resource | None) -> dict[str, Any]:
    if resource is None:
        return {"serviceName": span.service_name, "tags": []}
    return {
        "serviceName": resource.service_name,
        "tags": [jaeger_tag(k, v) for k, v in resource.attributes.items() if k != SERVICE_NAME],
    }


def _references(span: Span) -> list[dict[str, str]]:
    """The parent as the first CHILD_OF reference, then the links: FOLLOWS_FROM unless the link
    says it was an OpenTracing child_of. A link to the parent itself is not repeated; it only
    turns the parent reference into FOLLOWS_FROM when it says so."""
    references = []
    if span.parent_span_id:
        references.append({"refType": "CHILD_OF", "traceID": span.trace_id, "spanID": span.parent_span_id})
    for link in span.links:
        ref_type = link["attributes"].get(REF_TYPE_ATTRIBUTE)
        if span.parent_span_id and link["span_id"] == span.parent_span_id and link["trace_id"] == span.trace_id:
            if ref_type == "follows_from":
                references[0]["refType"] = "FOLLOWS_FROM"
            continue
        references.append({
            "refType": "CHILD_OF" if ref_type == "child_of" else "FOLLOWS_FROM",
            "traceID": link["trace_id"],
            "spanID": link["span_id"],
        })
    return references


def _tags(span: Span) -> list[dict[str, Any]]:
    """Span tags in the order Jaeger's OTLP translator writes them: scope, attributes, kind,
    status, trace state."""
    tags = []
    if span.scope_name:
        tags.append(jaeger_tag("otel.scope.name", span.scope_name))
    if span.scope_version:
        tags.append(jaeger_tag("otel.scope.version", span.scope_version))
    tags.extend(jaeger_tag(k, v) for k, v in span.attributes.items())
    if span.kind in SPAN_KIND_TAGS:
        tags.append(jaeger_tag("span.kind", SPAN_KIND_TAGS[span.kind]))
    if span.status_code == STATUS_ERROR:
        tags.append(jaeger_tag("otel.status_code", "ERROR"))
        tags.append(jaeger_tag("error", True))
    elif span.status_code == STATUS_OK:
        tags.append(jaeger_tag("otel.status_code", "OK"))
    if span.status_message:
        tags.append(jaeger_tag("otel.status_description", span.status_message))
    if span.trace_state:
        tags.append(jaeger_tag("w3c.tracestate", span.trace_state))
    return tags


def _logs(span: Span) -> list[dict[str, Any]]:
    logs = []
    for event in span.events:
        fields = []
        if event["name"] and "event" not in event["attributes"]:
            fields.append(jaeger_tag("event", event["name"]))
        fields.extend(jaeger_tag(k, v) for k, v in event["attributes"].items())
        logs.append({"timestamp": event["time_ns"] // 1000, "fields": fields})
    return logs


def jaeger_trace(spans: Sequence[Span], resources: Mapping[str, Resource]) -> dict[str, Any]:
    """Return one trace as Jaeger's v1 JSON: ``{"traceID", "spans", "processes", "warnings"}``.

    Spans keep the given order; each resource becomes a process, numbered ``p1, p2, ...`` in
    order of first appearance, with its attributes other than ``service.name`` as tags (a span
    whose resource is not in ``resources`` gets a process with its service name alone). Times
    are microseconds. Raises ValueError for an empty trace."""
    if not spans:
        raise ValueError("a trace has at least one span")
    process_ids: dict[str, str] = {}
    processes = {}
    rendered = []
    for span in spans:
        process_id = process_ids.get(span.resource_key)
        if process_id is None:
            process_id = process_ids[span.resource_key] = f"p{len(process_ids) + 1}"
            processes[process_id] = _process(span, resources.get(span.resource_key))
        rendered.append({
            "traceID": span.trace_id,
            "spanID": span.span_id,
            "operationName": span.name,
            "references": _references(span),
            "startTime": span.start_ns // 1000,
            "duration": (span.end_ns - span.start_ns) // 1000,
            "tags": _tags(span),
            "logs": _logs(span),
            "processID": process_id,
            "warnings": None,
        })
    return {"traceID": spans[0].trace_id, "spans": rendered, "processes": processes, "warnings": None}


def dependencies(pairs: Iterable[tuple[str, str, int]]) -> list[dict[str, Any]]:
    """Return Jaeger's dependency links ``[{"parent", "child", "callCount"}]`` from
    (parent service, child service, calls) triples, adding up repeated pairs (first order kept)."""
    counts: dict[tuple[str, str], int] = {}
    for parent, child, calls in pairs:
        counts[parent, child] = counts.get((parent, child), 0) + calls
    return [{"parent": parent, "child": child, "callCount": calls} for (parent, child), calls in counts.items()]


# --- OTLP JSON (v3) -------------------------------------------------------------------------

def _any_value(value: Any) -> dict[str, Any]:
    """Return the OTLP JSON AnyValue of a stored value."""
    kind = type(value)
    if kind is str:
        return {"stringValue": value}
    if kind is bool:
        return {"boolValue": value}
    if kind is int:
        return {"intValue": str(value)}
    if kind is float:
        return {"doubleValue": value}
    if value is None:
        return {}
    if kind is list:
        return {"arrayValue": {"values": [_any_value(item) for item in value]}}
    if KVLIST_VALUE in value:
        return {"kvlistValue": {"values": _key_values(value[KVLIST_VALUE])}}
    return dict(value)  # the bytesValue and doubleValue wrappers are AnyValues already


def _key_values(attributes: Attributes) -> list[dict[str, Any]]:
    return [{"key": key, "value": _any_value(value)} for key, value in attributes.items()]


def _otlp_span(span: Span) -> dict[str, Any]:
    out: dict[str, Any] = {"traceId": span.trace_id, "spanId": span.span_id}
    if span.trace_state:
        out["traceState"] = span.trace_state
    if span.parent_span_id:
        out["parentSpanId"] = span.parent_span_id
    if span.flags:
        out["flags"] = span.flags
    out.update(name=span.name, kind=span.kind, startTimeUnixNano=str(span.start_ns),
               endTimeUnixNano=str(span.end_ns), attributes=_key_values(span.attributes))
    if span.dropped_attributes_count:
        out["droppedAttributesCount"] = span.dropped_attributes_count
    events = []
    for event in span.events:
        rendered = {"timeUnixNano": str(event["time_ns"]), "name": event["name"],
                    "attributes": _key_values(event["attributes"])}
        if event["dropped_attributes_count"]:
            rendered["droppedAttributesCount"] = event["dropped_attributes_count"]
        events.append(rendered)
    out["events"] = events
    if span.dropped_events_count:
        out["droppedEventsCount"] = span.dropped_events_count
    links = []
    for link in span.links:
        rendered = {"traceId": link["trace_id"], "spanId": link["span_id"]}
        if link["trace_state"]:
            rendered["traceState"] = link["trace_state"]
        rendered["attributes"] = _key_values(link["attributes"])
        if link["dropped_attributes_count"]:
            rendered["droppedAttributesCount"] = link["dropped_attributes_count"]
        if link["flags"]:
            rendered["flags"] = link["flags"]
        links.append(rendered)
    out["links"] = links
    if span.dropped_links_count:
        out["droppedLinksCount"] = span.dropped_links_count
    status: dict[str, Any] = {"code": span.status_code}
    if span.status_message:
        status["message"] = span.status_message
    out["status"] = status
    return out


def otlp_json(spans: Iterable[Span], resources: Mapping[str, Resource]) -> dict[str, Any]:
    """Return spans as an OTLP JSON ``{"resourceSpans": [...]}`` (Jaeger's v3 ``result``):
    grouped by resource, then by scope, each in order of first appearance; hex ids, nanosecond
    times and int64 values as decimal strings, enums as numbers. A span whose resource is not in
    ``resources`` is given a resource with its service name alone."""
    groups: dict[str, dict[tuple[str, str, str], list[Span]]] = {}
    for span in spans:
        scope_id = (span.scope_name, span.scope_version,
                    json.dumps(span.scope_attributes, sort_keys=True) if span.scope_attributes else "")
        groups.setdefault(span.resource_key, {}).setdefault(scope_id, []).append(span)
    resource_spans = []
    for key, scopes in groups.items():
        first = next(iter(scopes.values()))[0]
        resource = resources.get(key)
        attributes = resource.attributes if resource is not None else {SERVICE_NAME: first.service_name}
        resource_spans.append({
            "resource": {"attributes": _key_values(attributes)},
            "scopeSpans": [
                {
                    "scope": {"name": members[0].scope_name, "version": members[0].scope_version,
                              "attributes": _key_values(members[0].scope_attributes)},
                    "spans": [_otlp_span(span) for span in members],
                }
                for members in scopes.values()
            ],
        })
    return {"resourceSpans": resource_spans}
