"""The service graph over HTTP: Kiali's graph JSON (or Graphviz DOT) for a window, and the
node-detail graph of one workload, app or service; meshview's own endpoints under /api/v1/ and
Kiali's graph API at Kiali's paths under /kiali/api/, with Kiali's parameters, defaults and error
shape (``{"error": "<message>"}``, kiali/kiali handlers/graph.go)."""

from typing import Any

import orjson
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, renderers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from meshview.core.access import request_access
from meshview.graph.build import BadGraphRequest, graph_json, parse_request
from meshview.graph.dot import to_dot
from meshview.graph.samples import UNKNOWN, Endpoint

KIALI_PARAMETERS = [
    OpenApiParameter("graphType", str, enum=["workload", "app", "versionedApp", "service"],
                     description="default workload"),
    OpenApiParameter("duration", str, description="window length, a Prometheus duration: 60s, 5m, 1h (default 10m)"),
    OpenApiParameter("queryTime", int, description="window end, unix seconds (default: now; replays any past window)"),
    OpenApiParameter("injectServiceNodes", bool, description="default false"),
    OpenApiParameter("includeIdleEdges", bool, description="default false"),
    OpenApiParameter("boxBy", str, description="comma-separated: app, namespace, cluster (default none)"),
    OpenApiParameter("appenders", str, description="decorations to compute; absent: all, empty: none"),
    OpenApiParameter("responseTime", str, enum=["avg", "50", "95", "99"]),
    OpenApiParameter("throughputType", str, enum=["request", "response"]),
    OpenApiParameter("rateHttp", str, enum=["none", "requests"], description="default requests"),
    OpenApiParameter("rateGrpc", str, enum=["none", "requests", "sent", "received", "total"],
                     description="default requests; sent/received/total count gRPC messages"),
    OpenApiParameter("rateTcp", str, enum=["none", "sent", "received", "total"], description="default sent"),
]
GRAPH_PARAMETERS = [
    OpenApiParameter("namespaces", str, description="comma-separated namespaces (default: all)"),
    *KIALI_PARAMETERS,
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


def _bad_request(exc: BadGraphRequest) -> Response:
    return Response({"detail": str(exc)}, status=exc.status)


class GraphView(APIView):
    """The service graph as Kiali's graph JSON, from the selected telemetry sources."""

    renderer_classes = [GraphJSONRenderer, DotRenderer]

    @extend_schema(parameters=GRAPH_PARAMETERS, responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        try:
            graph_request = parse_request(request.query_params, request_access(request).namespaces)
        except BadGraphRequest as exc:
            return _bad_request(exc)
        return Response(graph_json(graph_request))


class NodeGraphView(APIView):
    """One node with its callers and callees: `namespace` and one of `workload`, `app` (with an
    optional `version`), `service`; the graph covers the node's own namespace."""

    renderer_classes = [GraphJSONRenderer, DotRenderer]

    @extend_schema(
        parameters=[
            OpenApiParameter("namespace", str, required=True),
            OpenApiParameter("workload", str),
            OpenApiParameter("app", str),
            OpenApiParameter("version", str, description="with app: one version of it"),
            OpenApiParameter("service", str),
            OpenApiParameter("cluster", str, description="the node's cluster (default: any)"),
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
        focus = node_focus(namespace, **{named[0]: params[named[0]]}, version=params.get("version", ""),
                           cluster=params.get("cluster", ""))
        try:
            graph_request = parse_request(params, access.namespaces, focus=focus)
        except BadGraphRequest as exc:
            return _bad_request(exc)
        return Response(graph_json(graph_request))


def node_focus(namespace: str, *, workload: str = "", app: str = "", version: str = "", service: str = "",
               cluster: str = "") -> Endpoint:
    """The endpoint a node-detail graph is about (one of workload, app, service)."""
    return Endpoint(
        cluster=cluster,
        namespace=namespace,
        workload=workload or UNKNOWN,
        app=app,
        version=version if app else "",
        service=service,
    )


class KialiGraphView(APIView):
    """Kiali's graph API: the graph of `namespaces`, Kiali's defaults, `{"error": ...}` on a bad
    parameter. Kiali API clients work against meshview with base URL http://HOST:PORT/kiali."""

    renderer_classes = [GraphJSONRenderer]

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, exceptions.APIException):
            response = super().handle_exception(exc)
            detail = response.data.get("detail", "") if isinstance(response.data, dict) else response.data
            response.data = {"error": str(detail)}
            return response
        return super().handle_exception(exc)

    def focus(self, **kwargs: str) -> Endpoint | None:
        return None

    def get(self, request: Request, **kwargs: str) -> Response:
        try:
            graph_request = parse_request(request.query_params, request_access(request).namespaces,
                                          focus=self.focus(**kwargs), kiali=True)
        except BadGraphRequest as exc:
            return Response({"error": exc.kiali}, status=exc.status)
        body = graph_json(graph_request)
        return Response({key: value for key, value in body.items() if key != "warnings"})


KIALI_ERRORS = {400: OpenApiTypes.OBJECT, 403: OpenApiTypes.OBJECT}


class KialiNamespacesGraphView(KialiGraphView):
    @extend_schema(
        parameters=[OpenApiParameter("namespaces", str, required=True, description="comma-separated"),
                    *KIALI_PARAMETERS],
        responses={200: OpenApiTypes.OBJECT, **KIALI_ERRORS},
        operation_id="kiali_graph_namespaces",
    )
    def get(self, request: Request, **kwargs: str) -> Response:
        return super().get(request, **kwargs)


_NODE_PARAMETERS = [OpenApiParameter("clusterName", str, description="the node's cluster (default: any)"),
                    *KIALI_PARAMETERS]


class KialiNodeGraphView(KialiGraphView):
    """Kiali's node-detail graph of a workload, an app (or one version of it) or a service, in
    the node's own namespace."""

    def focus(self, **kwargs: str) -> Endpoint | None:
        return node_focus(cluster=self.request.query_params.get("clusterName", ""), **kwargs)

    @extend_schema(parameters=_NODE_PARAMETERS, responses={200: OpenApiTypes.OBJECT, **KIALI_ERRORS})
    def get(self, request: Request, **kwargs: str) -> Response:
        return super().get(request, **kwargs)
