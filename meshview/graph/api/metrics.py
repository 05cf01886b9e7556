"""GET /api/v1/graph/metrics: the time series behind a graph node's or edge's side-panel
charts (request rate, error rate, response-time percentiles, TCP bytes) over a window."""

import math
import time
from collections.abc import Mapping
from typing import Any

from django.db.models import Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from meshview.core.access import NamespaceAccess, request_access
from meshview.graph.build import BadGraphRequest, _duration
from meshview.graph.series import LATENCY_KEYS, SeriesWindow, series
from meshview.mesh import rollups
from meshview.mesh.models import TrafficKey, TrafficRollup, TrafficRollupMinute
from meshview.mesh.unknown import UNKNOWN

KINDS = ("workload", "app", "service")
# The columns a series step is summed over: what tells an edge, a reporter and a response apart.
GROUPING = ("reporter", "source_namespace", "source_workload", "destination_namespace", "destination_workload",
            "destination_service", "protocol", "response_code", "grpc_status")
MEASURES = ("requests", "bytes_sent", "bytes_received", *LATENCY_KEYS)


class BadSeriesRequest(ValueError):
    """A parameter of a series request is wrong; the message names it."""


def read_rollups(window: SeriesWindow, selection: Q) -> list[dict[str, Any]]:
    """The traffic rollups of `window` that match `selection`, per bucket, edge, reporter and
    response, from the coarsest tier whose buckets fit in a step."""
    coarsest = max(r for r in rollups.RESOLUTIONS if window.step % r == 0)
    rows = rollups.read(
        rollups.TRAFFIC,
        window.first,
        window.end,
        selection,
        dimensions=("bucket", *GROUPING),
        measures=MEASURES,
        coarsest=coarsest,
    )
    return [dict(zip(("bucket", *GROUPING, *MEASURES), row, strict=True)) for row in rows]


def default_step(duration: int) -> int:
    """About 60 points over `duration`, in whole buckets of the coarsest tier that fits."""
    target = duration / 60
    resolution = max((r for r in rollups.RESOLUTIONS if r <= target), default=rollups.BUCKET_SECONDS)
    return max(resolution, round(target / resolution) * resolution)


def _identity(params: Mapping[str, str], prefix: str) -> tuple[str, str, str, str]:
    """(namespace, kind, name, version) of the node named by the parameters with `prefix`."""

    def key(name: str) -> str:
        return prefix + name.capitalize() if prefix else name

    namespace = params.get(key("namespace"), "")
    named = [k for k in KINDS if params.get(key(k))]
    if not namespace or len(named) != 1:
        raise BadSeriesRequest(f"give {key('namespace')} and exactly one of {', '.join(key(k) for k in KINDS)}")
    kind = named[0]
    return namespace, kind, params[key(kind)], params.get(key("version"), "") if kind == "app" else ""


class Selector:
    """Builds the filter of the rollups a node or an edge stands for, over buckets in
    [start, end)."""

    def __init__(self, start: int, end: int) -> None:
        self.start, self.end = start, end

    def service(self, namespace: str, name: str) -> Q:
        """A service's requests: the rollups that name it, and the server sides that name no
        service (their callers were outside the mesh) of workloads it sent to in the window."""
        named = Q(destination_service_namespace=namespace, destination_service_name=name)
        keys = TrafficKey.objects.values("id")
        # The 10-second tier holds the last day, the minute tier the week before.
        reached = Q()
        for tier in (TrafficRollup, TrafficRollupMinute):
            workloads = tier.objects.filter(bucket__gte=self.start, bucket__lt=self.end, key__in=keys.filter(named))
            reached |= Q(destination_workload__in=workloads.values("key__destination_workload"))
        return named | (Q(destination_service="", destination_namespace=namespace) & reached)

    def as_destination(self, namespace: str, kind: str, name: str, version: str) -> Q:
        if kind == "service":
            return self.service(namespace, name)
        if kind == "workload":
            return Q(destination_namespace=namespace, destination_workload=name)
        versioned = {"destination_version": version} if version else {}
        return Q(destination_namespace=namespace, destination_app=name, **versioned)

    def as_source(self, namespace: str, kind: str, name: str, version: str) -> Q:
        if kind == "service":  # a service node passes on what it receives
            return self.service(namespace, name)
        if kind == "workload":
            return Q(source_namespace=namespace, source_workload=name)
        versioned = {"source_version": version} if version else {}
        return Q(source_namespace=namespace, source_app=name, **versioned)

    def select(self, params: Mapping[str, str]) -> Q:
        """The rollups of an edge (`source*` and `destination*` parameters) or of a node's
        inbound or outbound traffic (`namespace`, `workload` | `app` [+ `version`] | `service`,
        `direction`); raise BadSeriesRequest naming a wrong parameter."""
        if any(k.startswith(("source", "destination")) for k in params):
            return self.as_source(*_identity(params, "source")) & self.as_destination(
                *_identity(params, "destination")
            )
        direction = params.get("direction", "inbound")
        if direction not in ("inbound", "outbound"):
            raise BadSeriesRequest("direction must be inbound or outbound")
        identity = _identity(params, "")
        return self.as_destination(*identity) if direction == "inbound" else self.as_source(*identity)


def refusal(params: Mapping[str, str], access: NamespaceAccess) -> str | None:
    """Why a principal may not chart the node or edge `params` name, None when it may: a node
    of a namespace it does not see is drawn without details (the unknown node's traffic into
    what it sees stays visible), and an edge needs one end that it sees, as on the graph."""
    if not access.restricted:
        return None
    if any(k.startswith(("source", "destination")) for k in params):
        ends = [params.get("sourceNamespace", ""), params.get("destinationNamespace", "")]
    else:
        ends = [params.get("namespace", "")]
    if any(access.allows(namespace) or namespace == UNKNOWN for namespace in ends):
        return None
    return f"namespace {' and '.join(sorted(set(ends)))} is not accessible"


def visible(access: NamespaceAccess) -> Q:
    """The rollups a principal may chart: those with an end in a namespace it sees, the
    traffic the graph draws for it."""
    if access.namespaces is None:
        return Q()
    names = sorted(access.namespaces)
    return Q(source_namespace__in=names) | Q(destination_namespace__in=names) | Q(
        destination_service_namespace__in=names
    )


def window(params: Mapping[str, str]) -> SeriesWindow:
    """The window of `duration` (default 10m) ending at `queryTime` (default now), in steps of
    `step` seconds (default: about 60 points); raise BadSeriesRequest naming a wrong one."""
    raw_time = params.get("queryTime", "").strip()
    if raw_time and (not raw_time.isdigit() or len(raw_time) > 12):
        raise BadSeriesRequest("queryTime must be unix seconds")
    end = int(raw_time) if raw_time else math.ceil(time.time())
    try:
        duration = _duration(params.get("duration", "600s"))
    except BadGraphRequest as exc:
        raise BadSeriesRequest(str(exc)) from None
    raw_step = params.get("step", "").strip()
    if raw_step and (not raw_step.isdigit() or int(raw_step) == 0 or int(raw_step) % rollups.BUCKET_SECONDS):
        raise BadSeriesRequest(f"step must be a positive multiple of {rollups.BUCKET_SECONDS} seconds")
    try:
        return SeriesWindow(end=end, duration=duration, step=int(raw_step) if raw_step else default_step(duration))
    except ValueError as exc:
        raise BadSeriesRequest(str(exc)) from None


Rates = serializers.ListField(child=serializers.FloatField())
Percentiles = serializers.ListField(child=serializers.FloatField(allow_null=True))

SeriesAnswer = inline_serializer(
    "GraphSeries",
    {
        "start": serializers.IntegerField(help_text="first step's start, unix seconds"),
        "end": serializers.IntegerField(help_text="window end, unix seconds"),
        "step": serializers.IntegerField(help_text="seconds per point"),
        "timestamps": serializers.ListField(child=serializers.IntegerField(), help_text="each step's start"),
        "requestRate": Rates,
        "errorRate": Rates,
        "p50": Percentiles,
        "p95": Percentiles,
        "p99": Percentiles,
        "tcpSentRate": Rates,
        "tcpReceivedRate": Rates,
    },
)
_NODE = "the node (without any source*/destination* parameter)"


class GraphMetricsView(APIView):
    """Time series of a node's inbound or outbound traffic, or of an edge, from the traffic
    rollups: one value per step for each series, as numbers (rates per second, times in ms)."""

    @extend_schema(
        parameters=[
            OpenApiParameter("namespace", str, description=f"namespace of {_NODE}"),
            OpenApiParameter("workload", str, description=f"workload of {_NODE}"),
            OpenApiParameter("app", str, description=f"app of {_NODE}"),
            OpenApiParameter("version", str, description="with app: one version of it"),
            OpenApiParameter("service", str, description=f"service of {_NODE}"),
            OpenApiParameter(
                "direction", str, enum=["inbound", "outbound"], description="the node's traffic (default inbound)"
            ),
            *[
                OpenApiParameter(f"{end}{name.capitalize()}", str, description=f"the edge's {end} {name}")
                for end in ("source", "destination")
                for name in ("namespace", "workload", "app", "version", "service")
            ],
            OpenApiParameter("duration", str, description="window length: 60s, 5m, 1h (default 10m)"),
            OpenApiParameter(
                "step", int, description="seconds per point, a multiple of 10 (default: about 60 points, whole minutes "
                "or ten minutes for longer windows)"
            ),
            OpenApiParameter("queryTime", int, description="window end, unix seconds (default: now)"),
        ],
        responses={200: SeriesAnswer, 400: OpenApiTypes.OBJECT, 403: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        try:
            span = window(params)
            chosen = Selector(span.first, span.end).select(params)
        except BadSeriesRequest as exc:
            return Response({"detail": str(exc)}, status=400)
        access = request_access(request)
        refused = refusal(params, access)
        if refused is not None:
            return Response({"detail": refused}, status=403)
        rows = read_rollups(span, chosen & visible(access))
        return Response(series(rows, span))
