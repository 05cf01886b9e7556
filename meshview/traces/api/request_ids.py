"""GET /api/v1/traces/request-ids/{request_id}: the traces of the request an access log names."""

import time

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from meshview.core.access import request_access
from meshview.traces import queries
from meshview.traces.jaeger_api import MAX_TIME_US, BadParameter, int_param
from meshview.traces.request_ids import find_trace_ids_by_request_id

MAX_REQUEST_ID_LENGTH = 128  # as the access-log rollups keep it
MAX_TRACES = 20
# An access log at hand is usually recent; SQLite reads every span of the window (PostgreSQL
# uses its tag index), so the default window is short and `start` reaches further back.
DEFAULT_LOOKBACK_US = 3600 * 1_000_000


class RequestIdTracesView(APIView):
    """The traces whose spans carry an `x-request-id` (Envoy's `guid:x-request-id` tag or the
    `http.request.header.x-request-id` attribute), newest first, as trace summaries (the shape
    of GET /api/v1/traces); `results` is empty when no trace has it."""

    @extend_schema(
        parameters=[
            OpenApiParameter("request_id", str, OpenApiParameter.PATH, description="the x-request-id of an access log"),
            OpenApiParameter("start", int, description="µs since the epoch (default: 1 hour before end)"),
            OpenApiParameter("end", int, description="µs since the epoch (default: now)"),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request, request_id: str) -> Response:
        if not 0 < len(request_id) <= MAX_REQUEST_ID_LENGTH:
            return Response({"detail": f"a request id is 1 to {MAX_REQUEST_ID_LENGTH} characters"}, status=400)
        try:
            now_us = int(time.time() * 1e6)
            end_us = int_param(request, "end", now_us, 0, MAX_TIME_US) or now_us
            start_us = int_param(request, "start", max(end_us - DEFAULT_LOOKBACK_US, 0), 0, MAX_TIME_US) or 0
        except BadParameter as exc:
            return Response({"detail": str(exc)}, status=400)
        access = request_access(request)
        ids = find_trace_ids_by_request_id(request_id, start_us * 1000, end_us * 1000, access=access, limit=MAX_TRACES)
        return Response({"requestId": request_id, "results": queries.summaries(ids, access=access)})
