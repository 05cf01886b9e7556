"""The service graph over HTTP: Kiali's graph JSON (or Graphviz DOT) for a window, and the
node-detail graph of one workload, app or service."""

from typing import Any

import orjson
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import renderers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from meshview.core.access import request_access
from meshview.graph.build import BadGraphRequest, graph_json, parse_request
from meshview.graph.dot import to_dot
from meshview.graph.samples import UNKNOWN, Endpoint

GRAPH_PARAMETERS = [
    OpenApiParameter("namespaces", str, description="comma-separated namespaces (default: all)"),
    OpenApiParameter("graphType", str, enum=["workload", "app", "versionedApp", "service"]),
    OpenApiParameter("duration", str, description="window length: 60s, 5m, 1h (default 600s)"),
    OpenApiParameter("queryTime", int, description="window end, unix seconds (default: now; replays any past window)"),
    OpenApiParameter("injectServiceNodes", bool),
    OpenApiParameter("includeIdleEdges", bool),
    OpenApiParameter("boxBy", str, description="comma-separated: app, namespace, cluster"),
    OpenApiParameter("appenders", str, description="decorations to compute; absent: all, empty: none"),
    OpenApiParameter("responseTime", str, enum=["avg", "50", "95", "99"]),
    OpenApiParameter("throughputType", str, enum=["request", "response"]),
    OpenApiParameter("rateHttp", str),
    OpenApiParameter("rateGrpc", str),
    OpenApiParameter("rateTcp", str),
    OpenApiParameter(
        "sources", str, description="comma-separated: prometheus, accesslogs, spans (default: all configured)"
    ),
    OpenApiParameter("format", str, enum=["json", "dot"], description="dot: Graphviz"),
]


class GraphJSONRenderer(renderers.BaseRenderer):
    """JSON with orjson: a 1,000-workload graph is megabytes, and the standard library's encoder
    spends more time on it than building the graph does."""

    media_type = "application/json"
    format = "json"
    charset = None

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        return orjson.dumps(data)


class DotRenderer(renderers.BaseRenderer):
    media_type = "text/vnd.graphviz"
    format = "dot"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        if not isinstance(data, dict) or "elements" not in data:
            return str(data.get("detail", data) if isinstance(data, dict) else data).encode()
        return to_dot(data).encode()


class GraphView(APIView):
    """The service graph as Kiali's graph JSON, from the selected telemetry sources."""

    renderer_classes = [GraphJSONRenderer, DotRenderer]

    @extend_schema(parameters=GRAPH_PARAMETERS, responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        try:
            graph_request = parse_request(request.query_params, request_access(request).namespaces)
        except BadGraphRequest as exc:
            return Response({"detail": str(exc)}, status=400)
        return Response(graph_json(graph_request))


class NodeGraphView(APIView):
    """One node with its callers and callees: `namespace` and one of `workload`, `app`, `service`."""

    renderer_classes = [GraphJSONRenderer, DotRenderer]

    @extend_schema(
        parameters=[
            OpenApiParameter("namespace", str, required=True),
            OpenApiParameter("workload", str),
            OpenApiParameter("app", str),
            OpenApiParameter("service", str),
            *GRAPH_PARAMETERS,
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        namespace = params.get("namespace", "")
        named = [k for k in ("workload", "app", "service") if params.get(k)]
        if not namespace or len(named) != 1:
            return Response({"detail": "give namespace and exactly one of workload, app, service"}, status=400)
        access = request_access(request)
        if not access.allows(namespace):
            return Response({"detail": f"namespace {namespace!r} is not accessible"}, status=403)
        kind, name = named[0], params[named[0]]
        focus = Endpoint(
            cluster="",
            namespace=namespace,
            workload=name if kind == "workload" else UNKNOWN,
            app=name if kind == "app" else "",
            service=name if kind == "service" else "",
        )
        try:
            graph_request = parse_request(params, access.namespaces, focus=focus)
        except BadGraphRequest as exc:
            return Response({"detail": str(exc)}, status=400)
        return Response(graph_json(graph_request))
