"""OpenAPI operations of the span ingest endpoints and Jaeger's query API (plain Django views,
documented through meshview.core.schema.documented)."""

from typing import Any

_OBJECT = {"type": "object"}
_TIME_US = {"type": "integer", "minimum": 0, "maximum": 2**63 // 1000 - 1}
_TIME_MS = {"type": "integer", "minimum": 0, "maximum": 2**63 // 10**6 - 1}
_SPAN_KIND = {"type": "string", "enum": ["server", "client", "producer", "consumer", "internal", "unspecified"]}
_DURATION = {"type": "string", "description": "Go duration: 1.5ms, 2s"}
_RFC3339 = {"type": "string", "format": "date-time"}


def _query(name: str, schema: dict[str, Any], description: str = "", required: bool = False) -> dict[str, Any]:
    parameter = {"name": name, "in": "query", "required": required, "schema": schema}
    return {**parameter, "description": description} if description else parameter


def _path(name: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema or {"type": "string"}}


def _answers(ok: str, *errors: int) -> dict[str, Any]:
    described = {
        400: "a parameter or the body is wrong; the message names it",
        401: "a session or a bearer token is needed",
        403: "the caller may not do this",
        404: "not found",
        413: "the body is over the size limit (after decompression too)",
        415: "unsupported Content-Type or Content-Encoding",
        429: "too many exports in progress; retry after Retry-After",
        503: "storage unavailable; retry after Retry-After",
    }
    answers: dict[str, Any] = {"200": {"description": ok, "content": {"application/json": {"schema": _OBJECT}}}}
    for status in (401, 403, 503, *errors):
        answers[str(status)] = {"description": described[status]}
    return answers


def _read(summary: str, parameters: list[dict[str, Any]], *errors: int) -> dict[str, dict[str, Any]]:
    return {"get": {"summary": summary, "tags": ["jaeger"], "parameters": parameters,
                    "responses": _answers(summary, 400, *errors)}}


_V1_SEARCH = [
    _query("service", {"type": "string"}), _query("operation", {"type": "string"}),
    _query("spanKind", _SPAN_KIND), _query("tags", {"type": "string"}, 'JSON object, e.g. {"error": "true"}'),
    _query("tag", {"type": "array", "items": {"type": "string"}}, "key:value, repeatable"),
    _query("start", _TIME_US, "µs since the epoch"), _query("end", _TIME_US, "µs since the epoch"),
    _query("minDuration", _DURATION), _query("maxDuration", _DURATION),
    _query("limit", {"type": "integer", "minimum": 0}),
    _query("traceID", {"type": "array", "items": {"type": "string", "pattern": "^[0-9a-fA-F]{1,32}$"}}),
]
_V3_SEARCH = [
    _query("query.startTimeMin", _RFC3339, required=True), _query("query.startTimeMax", _RFC3339, required=True),
    _query("query.serviceName", {"type": "string"}), _query("query.operationName", {"type": "string"}),
    _query("query.attributes", {"type": "string"}, "JSON object of strings"),
    _query("query.durationMin", _DURATION), _query("query.durationMax", _DURATION),
    _query("query.searchDepth", {"type": "integer", "minimum": 0}),
    _query("query.numTraces", {"type": "integer", "minimum": 0}),
]
_TRACE_ID = _path("trace_id", {"type": "string", "pattern": "^[0-9a-fA-F]{1,32}$"})

OTLP_EXPORT = {
    "post": {
        "summary": "OTLP/HTTP trace export (ExportTraceServiceRequest), protobuf or JSON, optionally gzipped",
        "tags": ["ingest"],
        "requestBody": {"required": True, "content": {
            "application/x-protobuf": {"schema": {"type": "string", "format": "binary"}},
            "application/json": {"schema": _OBJECT},
        }},
        "responses": {
            "200": {"description": "ExportTraceServiceResponse (partial_success when some spans were rejected)",
                    "content": {"application/x-protobuf": {"schema": {"type": "string", "format": "binary"}},
                                "application/json": {"schema": _OBJECT}}},
            **{k: v for k, v in _answers("", 400, 413, 415, 429).items() if k != "200"},
        },
    }
}
ZIPKIN_SPANS = {
    "post": {
        "summary": "Zipkin v2 JSON spans, optionally gzipped",
        "tags": ["ingest"],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "array", "items": _OBJECT}}},
        },
        "responses": {
            "202": {"description": "accepted"},
            **{k: v for k, v in _answers("", 400, 413, 415, 429).items() if k != "200"},
        },
    }
}
SERVICES = _read("service names", [])
SERVICE_OPERATIONS = _read("operation names of a service", [_path("service")])
OPERATIONS = _read("operations with their span kinds", [_query("service", {"type": "string"}),
                                                         _query("spanKind", _SPAN_KIND)])
TRACES = _read("traces matching a search, or those named by traceID", _V1_SEARCH)
TRACE = _read("one trace", [_TRACE_ID], 404)
DEPENDENCIES = _read("service dependency links", [_query("endTs", _TIME_MS, "ms since the epoch"),
                                                   _query("lookback", _TIME_MS, "ms")])
V3_SERVICES = _read("service names (v3)", [])
V3_OPERATIONS = _read("operations (v3)", [_query("service", {"type": "string"}), _query("spanKind", _SPAN_KIND)])
V3_TRACES = _read("traces matching a search, as OTLP JSON (v3)", _V3_SEARCH, 404)
V3_TRACE = _read("one trace as OTLP JSON (v3)", [_TRACE_ID], 404)
V3_TRACE_SUMMARIES = _read("summaries of the traces matching a search (v3)", _V3_SEARCH)
