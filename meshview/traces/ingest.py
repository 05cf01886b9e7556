"""OTLP/HTTP and Zipkin span ingestion, as plain Django views (the OTLP specification, not
DRF, decides their answers: protobuf or JSON in the request's encoding, google.rpc.Status on
failure)."""

import json
import threading
from collections.abc import Callable

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from meshview.core.auth import require_scope
from meshview.core.body import BodyError, read_body
from meshview.core.metrics import INGEST_REFUSED
from meshview.traces.actions import refuse_expired, store_spans
from meshview.traces.decode import DecodedExport, PayloadError, decode_otlp_json, decode_otlp_protobuf
from meshview.traces.zipkin import decode_zipkin_json

PROTOBUF, JSON = "application/x-protobuf", "application/json"
RETRY_AFTER_SECONDS = "5"
# google.rpc.Code for each HTTP status meshview answers with.
_RPC_CODES = {400: 3, 413: 3, 415: 3, 429: 8, 503: 14}

_slots_lock = threading.Lock()
_busy = 0


class Overloaded(Exception):
    pass


class IngestSlot:
    """Bounds the exports one process decodes and writes at once; past MESHVIEW_MAX_CONCURRENT_EXPORTS
    a client is told to come back (429) instead of queueing unbounded memory."""

    def __enter__(self) -> None:
        global _busy
        with _slots_lock:
            if _busy >= settings.MESHVIEW_MAX_CONCURRENT_EXPORTS:
                raise Overloaded
            _busy += 1

    def __exit__(self, *exc: object) -> None:
        global _busy
        with _slots_lock:
            _busy -= 1


def export_traces(content_type: str, body: bytes) -> DecodedExport:
    """Decode an OTLP export body and store its spans; raise PayloadError (400) or
    DatabaseError (503). The gRPC service shares this path."""
    decoded = decode_otlp_protobuf(body) if content_type == PROTOBUF else decode_otlp_json(body)
    refuse_expired(decoded, "otlp")
    store_spans(decoded, "otlp")
    return decoded


def _status(status: int, message: str, content_type: str, signal: str) -> HttpResponse:
    INGEST_REFUSED.labels(signal, str(status)).inc()
    code = _RPC_CODES.get(status, 2)
    if content_type == PROTOBUF:
        body = status_pb2.Status(code=code, message=message).SerializeToString()
    else:
        body = json.dumps({"code": code, "message": message}).encode()
    response = HttpResponse(body, status=status, content_type=content_type)
    if status in (429, 503):
        response["Retry-After"] = "1" if status == 429 else RETRY_AFTER_SECONDS
    return response


def _ingest(
    request: HttpRequest, content_type: str, signal: str, handle: Callable[[bytes], DecodedExport]
) -> HttpResponse | DecodedExport:
    try:
        with IngestSlot():
            body = read_body(request, settings.MESHVIEW_MAX_BODY_BYTES)
            return handle(body)
    except Overloaded:
        return _status(429, "too many exports in progress; retry later", content_type, signal)
    except BodyError as exc:
        return _status(exc.status, str(exc), content_type, signal)
    except PayloadError as exc:
        return _status(400, str(exc), content_type, signal)
    except DatabaseError as exc:
        return _status(503, f"storage unavailable, nothing was stored: {type(exc).__name__}", content_type, signal)


@csrf_exempt
@require_POST
@require_scope("ingest")
def otlp_traces(request: HttpRequest) -> HttpResponse:
    """`POST /v1/traces`: an OTLP/HTTP ExportTraceServiceRequest, protobuf or JSON."""
    content_type = (request.content_type or "").lower()
    if content_type not in (PROTOBUF, JSON):
        return _status(415, f"unsupported Content-Type {content_type!r}: use {PROTOBUF} or {JSON}", JSON, "otlp")
    outcome = _ingest(request, content_type, "otlp", lambda body: export_traces(content_type, body))
    if isinstance(outcome, HttpResponse):
        return outcome
    answer = trace_service_pb2.ExportTraceServiceResponse()
    if outcome.rejected:
        answer.partial_success.rejected_spans = outcome.rejected
        answer.partial_success.error_message = "; ".join(outcome.errors)
    if content_type == PROTOBUF:
        return HttpResponse(answer.SerializeToString(), content_type=PROTOBUF)
    body = {}
    if outcome.rejected:
        body["partialSuccess"] = {"rejectedSpans": str(outcome.rejected), "errorMessage": "; ".join(outcome.errors)}
    return HttpResponse(json.dumps(body), content_type=JSON)


@csrf_exempt
@require_POST
@require_scope("ingest")
def zipkin_spans(request: HttpRequest) -> HttpResponse:
    """`POST /api/v2/spans`: Zipkin v2 JSON. Answers 202 as Zipkin does."""
    if (request.content_type or "").lower() != JSON:
        return _status(415, f"unsupported Content-Type {request.content_type!r}: use {JSON}", JSON, "zipkin")

    def handle(body: bytes) -> DecodedExport:
        decoded = decode_zipkin_json(body)
        refuse_expired(decoded, "zipkin")
        store_spans(decoded, "zipkin")
        return decoded

    outcome = _ingest(request, JSON, "zipkin", handle)
    if isinstance(outcome, HttpResponse):
        return outcome
    return HttpResponse(
        json.dumps({"accepted": len(outcome.spans), "rejected": outcome.rejected, "errors": outcome.errors}),
        status=202,
        content_type=JSON,
    )
