"""The namespace of a span and what a caller who may not read it sees of it.

A span belongs to the namespace its resource names (`k8s.namespace.name`, else
`service.namespace`, else `unknown`). A caller sees a trace when one of its spans is in a
namespace it may read; the trace's other spans are shown reduced to their service name and
timing (ids and parent kept, so the timeline keeps its shape): no operation name, kind, status,
attributes, events, links or resource attributes. Searches, services, operations, dependencies
and summaries look only at the spans the caller may read.
"""

import dataclasses
from collections.abc import Mapping
from typing import Any

from django.db import connection

from meshview.core.access import NamespaceAccess
from meshview.traces.model import SERVICE_NAME, SPAN_KIND_UNSPECIFIED, STATUS_UNSET, Resource, Span

NAMESPACE_KEYS = ("k8s.namespace.name", "service.namespace")
UNKNOWN_NAMESPACE = "unknown"
# Shown instead of the operation name of a span of a hidden namespace, as Jaeger's
# `empty-span-name` stands in for a name a span does not give.
HIDDEN_SPAN_NAME = "namespace-hidden"


def resource_namespace(attributes: Mapping[str, Any]) -> str:
    """Return the namespace resource `attributes` name: the first non-empty string of
    NAMESPACE_KEYS, else `unknown`."""
    for key in NAMESPACE_KEYS:
        value = attributes.get(key)
        if isinstance(value, str) and value:
            return value
    return UNKNOWN_NAMESPACE


def _namespace_sql() -> str:
    """SQL for the namespace of a `traces_resource` row, by the rule of resource_namespace."""
    parts = []
    for key in NAMESPACE_KEYS:
        if connection.vendor == "postgresql":
            kind, value = f"jsonb_typeof(attributes -> '{key}') = 'string'", f"attributes ->> '{key}'"
        else:
            path = f'$."{key}"'
            kind, value = f"json_type(attributes, '{path}') = 'text'", f"json_extract(attributes, '{path}')"
        parts.append(f"CASE WHEN {kind} THEN NULLIF({value}, '') END")
    return f"COALESCE({', '.join(parts)}, '{UNKNOWN_NAMESPACE}')"


def readable_resources_sql(access: NamespaceAccess) -> tuple[str, list[str]]:
    """An SQL condition (and its parameters) true for `traces_resource` rows `access` allows."""
    if access.namespaces is None:
        return "TRUE", []
    if not access.namespaces:
        return "FALSE", []
    names = sorted(access.namespaces)
    return f"{_namespace_sql()} IN ({', '.join(['%s'] * len(names))})", names


def readable_spans_sql(access: NamespaceAccess, column: str = "resource_key") -> tuple[str, list[str]]:
    """An SQL condition (and its parameters) true for span rows whose resource key `column` is
    in a namespace `access` allows."""
    condition, params = readable_resources_sql(access)
    if not params:
        return condition, params
    return f"{column} IN (SELECT key FROM traces_resource WHERE {condition})", params  # noqa: S608


def hidden_span(span: Span) -> tuple[Span, Resource]:
    """The span as a caller who may not read its namespace sees it, and its reduced resource."""
    resource = Resource({SERVICE_NAME: span.service_name})
    reduced = dataclasses.replace(
        span,
        trace_state="",
        name=HIDDEN_SPAN_NAME,
        kind=SPAN_KIND_UNSPECIFIED,
        status_code=STATUS_UNSET,
        status_message="",
        attributes={},
        events=[],
        links=[],
        resource_key=resource.key,
        scope_name="",
        scope_version="",
        scope_attributes={},
        flags=0,
        dropped_attributes_count=0,
        dropped_events_count=0,
        dropped_links_count=0,
    )
    return reduced, resource


def visible_trace(
    spans: list[Span], resources: Mapping[str, Resource], access: NamespaceAccess
) -> tuple[list[Span], dict[str, Resource]] | None:
    """The trace as `access` shows it (spans of hidden namespaces reduced by hidden_span), or
    None when none of its spans is in a namespace `access` allows."""
    if not access.restricted:
        return spans, dict(resources)
    shown: list[Span] = []
    shown_resources: dict[str, Resource] = {}
    readable = False
    for span in spans:
        resource = resources.get(span.resource_key)
        if resource is not None and access.allows(resource_namespace(resource.attributes)):
            readable = True
            shown.append(span)
            shown_resources[span.resource_key] = resource
        else:
            reduced, reduced_resource = hidden_span(span)
            shown.append(reduced)
            shown_resources[reduced_resource.key] = reduced_resource
    return (shown, shown_resources) if readable else None
