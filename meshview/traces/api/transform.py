"""`POST /jaeger/api/transform`: OTLP JSON in, Jaeger's trace JSON out, as Jaeger's query service
answers it (the Jaeger UI's upload of an OTLP file uses it). Nothing is read or stored."""

from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from meshview.core.body import BodyError, read_body
from meshview.traces.decode import PayloadError, decode_otlp_json
from meshview.traces.jaeger import jaeger_trace
from meshview.traces.model import Span


def _envelope(data: Any, status: int = 200, error: str = "") -> Response:
    errors = [{"code": status, "msg": error}] if error else None
    total = len(data) if isinstance(data, list) else 0
    return Response({"data": data, "total": total, "limit": 0, "offset": 0, "errors": errors}, status=status)


class TransformView(APIView):
    """Jaeger traces (v1 JSON, one per trace id, in order of first appearance) of the spans of an
    OTLP JSON export (ExportTraceServiceRequest, or a file of one); spans the decoder refuses
    are left out, as the OTLP receiver leaves them out."""

    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT})
    def post(self, request: Request) -> Response:
        try:
            decoded = decode_otlp_json(read_body(request._request, settings.MESHVIEW_MAX_BODY_BYTES))
        except BodyError as exc:
            return _envelope(None, exc.status, str(exc))
        except PayloadError as exc:
            return _envelope(None, 400, str(exc))
        traces: dict[str, list[Span]] = {}
        for span in decoded.spans:
            traces.setdefault(span.trace_id, []).append(span)
        return _envelope([jaeger_trace(spans, decoded.resources) for spans in traces.values()])
