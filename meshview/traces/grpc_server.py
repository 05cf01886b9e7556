"""OTLP/gRPC: `opentelemetry.proto.collector.trace.v1.TraceService/Export`, with the same
decoding, storage and limits as OTLP/HTTP."""

from concurrent import futures

import grpc
from django.conf import settings
from django.db import DatabaseError, close_old_connections
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from meshview.core.auth import denial, token_from_header
from meshview.core.metrics import INGEST_REFUSED
from meshview.traces.decode import PayloadError
from meshview.traces.ingest import PROTOBUF, IngestSlot, Overloaded, export_traces

EXPORT_METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


def _refuse(context: grpc.ServicerContext, code: grpc.StatusCode, message: str) -> None:
    INGEST_REFUSED.labels("otlp-grpc", code.name).inc()
    context.abort(code, message)


def _export(body: bytes, context: grpc.ServicerContext) -> bytes:
    metadata = dict(context.invocation_metadata())
    try:
        token = token_from_header(str(metadata.get("authorization", "")))
    except PermissionError as exc:
        _refuse(context, grpc.StatusCode.UNAUTHENTICATED, str(exc))
    except DatabaseError as exc:
        _refuse(context, grpc.StatusCode.UNAVAILABLE, f"storage unavailable, nothing was stored: {type(exc).__name__}")
    reason = denial(None, token, "ingest", metadata)  # gRPC callers have no session
    if reason is not None:
        _refuse(
            context, grpc.StatusCode.UNAUTHENTICATED if token is None else grpc.StatusCode.PERMISSION_DENIED, reason
        )
    try:
        with IngestSlot():
            decoded = export_traces(PROTOBUF, body)
    except Overloaded:
        _refuse(context, grpc.StatusCode.RESOURCE_EXHAUSTED, "too many exports in progress; retry later")
    except PayloadError as exc:
        _refuse(context, grpc.StatusCode.INVALID_ARGUMENT, str(exc))
    except DatabaseError as exc:
        _refuse(context, grpc.StatusCode.UNAVAILABLE, f"storage unavailable, nothing was stored: {type(exc).__name__}")
    finally:
        close_old_connections()
    answer = trace_service_pb2.ExportTraceServiceResponse()
    if decoded.rejected:
        answer.partial_success.rejected_spans = decoded.rejected
        answer.partial_success.error_message = "; ".join(decoded.errors)
    return answer.SerializeToString()


def start_grpc_server(host: str, port: int) -> grpc.Server:
    """Start serving OTLP/gRPC on host:port in worker threads; return the server to stop later."""
    limit = settings.MESHVIEW_MAX_BODY_BYTES
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=settings.MESHVIEW_MAX_CONCURRENT_EXPORTS + 2),
        options=[("grpc.max_receive_message_length", limit), ("grpc.max_send_message_length", 4 * 1024 * 1024)],
    )
    # Raw bytes in (no deserializer): the request is decoded by meshview's own OTLP decoder.
    handler = grpc.unary_unary_rpc_method_handler(_export)
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                "opentelemetry.proto.collector.trace.v1.TraceService", {"Export": handler}
            ),
        )
    )
    bound = server.add_insecure_port(f"{host}:{port}" if ":" not in host else f"[{host}]:{port}")
    if bound == 0:
        raise OSError(f"cannot listen for OTLP/gRPC on {host}:{port}")
    server.start()
    return server
