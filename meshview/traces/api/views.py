"""meshview's own trace list for the UI and scripts: summaries of matching traces, a page at a
time, newest first, with Jaeger's search semantics and parameters."""

import time

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from meshview.core.access import request_access
from meshview.traces import queries
from meshview.traces.jaeger_api import (
    DEFAULT_LOOKBACK_NS,
    MAX_TIME_US,
    BadParameter,
    duration_param,
    int_param,
    span_kind_param,
    tags_param,
)

PAGE_SIZE, MAX_PAGE_SIZE, MAX_OFFSET = 20, 100, 1400


class TraceListView(APIView):
    """Summaries (Jaeger v3 trace-summary shape) of the traces one of whose spans matches every
    condition; `next` is the URL of the following page, null on the last."""

    @extend_schema(
        parameters=[
            OpenApiParameter("service", str), OpenApiParameter("operation", str),
            OpenApiParameter("spanKind", str, enum=["server", "client", "producer", "consumer", "internal"]),
            OpenApiParameter("tags", str, description='JSON object, e.g. {"http.status_code": "503"}'),
            OpenApiParameter("start", int, description="µs since the epoch (default: 2 days ago)"),
            OpenApiParameter("end", int, description="µs since the epoch (default: now)"),
            OpenApiParameter("minDuration", str, description="Go duration: 1.5ms, 2s"),
            OpenApiParameter("maxDuration", str),
            OpenApiParameter("limit", int, description=f"page size, at most {MAX_PAGE_SIZE}"),
            OpenApiParameter("offset", int, description=f"at most {MAX_OFFSET}"),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        try:
            limit = int_param(request, "limit", PAGE_SIZE) or PAGE_SIZE
            offset = int_param(request, "offset", 0) or 0
            if not 0 < limit <= MAX_PAGE_SIZE or not 0 <= offset <= MAX_OFFSET:
                raise BadParameter(f"limit must be 1..{MAX_PAGE_SIZE} and offset 0..{MAX_OFFSET}")
            now_us = int(time.time() * 1e6)
            end_us = int_param(request, "end", now_us, 0, MAX_TIME_US) or now_us
            start_us = int_param(request, "start", max(end_us - DEFAULT_LOOKBACK_NS // 1000, 0), 0, MAX_TIME_US)
            query = queries.TraceQuery(
                start_min_ns=(start_us or 0) * 1000,
                start_max_ns=end_us * 1000,
                service=request.query_params.get("service", ""),
                operation=request.query_params.get("operation", ""),
                span_kind=span_kind_param(request, "spanKind"),
                tags=tags_param(request, "tags", None),
                duration_min_ns=duration_param(request, "minDuration"),
                duration_max_ns=duration_param(request, "maxDuration"),
                limit=offset + limit + 1,
            )
        except BadParameter as exc:
            return Response({"detail": str(exc)}, status=400)
        access = request_access(request)
        ids = queries.find_trace_ids(query, access=access)
        page = ids[offset : offset + limit]
        following = None
        if len(ids) > offset + limit:
            params = request.query_params.copy()
            params["offset"] = str(offset + limit)
            following = request.build_absolute_uri(f"{request.path}?{params.urlencode()}")
        return Response({"results": queries.summaries(page, access=access), "next": following})
