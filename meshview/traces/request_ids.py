"""From an access log's `x-request-id` to the traces of that request.

Envoy's tracer tags its spans `guid:x-request-id`; OpenTelemetry instrumentations that capture
request headers record `http.request.header.x-request-id`, a string array. Both reach the span
store's `search_tags` (an array as its compact JSON text), which this searches: on PostgreSQL
through its GIN index, on SQLite along the window's start-time index with a substring test
before the JSON one.
"""

import json

from django.db import connection

from meshview.core.access import NamespaceAccess
from meshview.traces.visibility import readable_spans_sql

REQUEST_ID_TAGS = ("guid:x-request-id", "http.request.header.x-request-id")


def _forms(request_id: str) -> list[str]:
    """The string forms a request id takes in `search_tags`: itself, and a one-item array."""
    return [request_id, json.dumps([request_id], separators=(",", ":"))]


def find_trace_ids_by_request_id(
    request_id: str, start_ns: int, end_ns: int, *, access: NamespaceAccess, limit: int = 20
) -> list[str]:
    """Return the ids of the traces with a span that carries `request_id` and starts within
    [start_ns, end_ns], newest first, at most `limit`; only spans of namespaces `access` allows
    are searched."""
    readable, readable_params = readable_spans_sql(access)
    forms = _forms(request_id)
    if connection.vendor == "postgresql":
        match = " OR ".join(["traces_span.search_tags @> %s::jsonb"] * (len(REQUEST_ID_TAGS) * len(forms)))
        match_params = [json.dumps({key: [form]}) for key in REQUEST_ID_TAGS for form in forms]
    else:
        # Two tag keys, two forms. A substring test first spares most rows the JSON walk; it
        # holds for ids that JSON writes unescaped.
        match = (
            "EXISTS (SELECT 1 FROM json_each(traces_span.search_tags) AS tag, json_each(tag.value) AS item "
            "WHERE tag.key IN (%s, %s) AND item.value IN (%s, %s))"
        )
        match_params = [*REQUEST_ID_TAGS, *forms]
        if request_id.isascii() and request_id.isprintable() and not set(request_id) & {'"', "\\"}:
            match = f"instr(traces_span.search_tags, %s) > 0 AND {match}"
            match_params = [request_id, *match_params]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT trace_id, MAX(start_ns) AS latest FROM traces_span "  # noqa: S608  (no input in the text)
            f"WHERE start_ns >= %s AND start_ns <= %s AND {readable} AND ({match}) "
            "GROUP BY trace_id ORDER BY latest DESC LIMIT %s",
            [start_ns, end_ns, *readable_params, *match_params, limit],
        )
        return [trace_id for trace_id, _ in cursor.fetchall()]
