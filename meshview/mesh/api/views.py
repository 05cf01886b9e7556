"""Access-log ingestion and the mesh inventory over HTTP."""

from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Max
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from meshview.core.access import request_access
from meshview.core.body import BodyError, read_body
from meshview.core.metrics import INGEST_REFUSED
from meshview.envoy.parser import LogParser
from meshview.mesh import actions
from meshview.mesh.identity import cluster_from_params, reporter_from_params
from meshview.mesh.models import Address, TrafficKey, TrafficRollup, Workload

KINDS = {"text/plain": "text", "application/x-ndjson": "ndjson", "application/json": "ndjson"}
RETRY_AFTER_SECONDS = "5"

IngestAnswer = inline_serializer(
    "EnvoyIngestAnswer",
    {
        "accepted": serializers.IntegerField(),
        "rejected": serializers.IntegerField(),
        "errors": serializers.ListField(child=serializers.DictField(), help_text="the first 100: {line, error}"),
    },
)


class EnvoyIngestView(APIView):
    """Envoy/Istio access-log lines: `text/plain` (one line each) or `application/x-ndjson`
    (Istio JSON records or shipper envelopes with Kubernetes metadata), optionally gzipped."""

    required_scope = "ingest"
    parser_classes: list = []

    @extend_schema(
        request={"text/plain": OpenApiTypes.STR, "application/x-ndjson": OpenApiTypes.STR},
        parameters=[
            OpenApiParameter(name, str, description=f"reporter {name}, for lines without an envelope")
            for name in ("namespace", "pod", "workload", "app", "version", "role")
        ]
        + [OpenApiParameter("cluster", str, description="the cluster of every proxy of the request (default: home)")]
        + [
            OpenApiParameter(
                "log_format", str, description="auto (default), a built-in layout, json, or a format string"
            )
        ],
        responses={200: IngestAnswer},
    )
    def post(self, request: Request) -> Response:
        content_type = request.content_type.split(";")[0].strip().lower()
        kind = KINDS.get(content_type)
        if kind is None:
            return self._refuse(
                415, f"unsupported Content-Type {content_type!r}: use text/plain or application/x-ndjson"
            )
        try:
            reporter = reporter_from_params(request.query_params)
            cluster = cluster_from_params(request.query_params)
            parser = LogParser(request.query_params.get("log_format", "auto"))
        except ValueError as exc:
            return self._refuse(400, str(exc))
        try:
            body = read_body(request._request, settings.MESHVIEW_MAX_BODY_BYTES)
        except BodyError as exc:
            return self._refuse(exc.status, str(exc))
        lines = body.decode("utf-8", errors="replace").splitlines()
        limit = settings.MESHVIEW_MAX_LINES_PER_REQUEST
        if len(lines) > limit:
            return self._refuse(413, f"{len(lines)} lines is over the limit of {limit} per request")
        try:
            answer = actions.ingest_envoy_lines(lines, kind, parser, reporter, cluster=cluster)
        except DatabaseError as exc:
            response = self._refuse(503, f"storage unavailable, nothing was written: {type(exc).__name__}")
            response["Retry-After"] = RETRY_AFTER_SECONDS
            return response
        return Response(answer)

    @staticmethod
    def _refuse(status: int, message: str) -> Response:
        INGEST_REFUSED.labels("envoy", str(status)).inc()
        return Response({"detail": message}, status=status)


class WorkloadListView(APIView):
    """Workloads and reporters as their access logs show them. `missingSidecar` marks a service
    whose endpoints were reached by mesh traffic but never wrote a record themselves."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        access = request_access(request)
        workloads = Workload.objects.order_by("namespace", "name")
        addresses = Address.objects.filter(workload="")
        if access.namespaces is not None:
            workloads = workloads.filter(namespace__in=access.namespaces)
            addresses = addresses.filter(namespace__in=access.namespaces)
        results: list[dict[str, Any]] = [
            {
                "namespace": w.namespace,
                "name": w.name,
                "app": w.app,
                "version": w.version,
                "serviceAccount": w.service_account,
                "role": w.role,
                "hasSidecar": w.last_reported is not None,
                "missingSidecar": False,
                "firstSeen": w.first_seen,
                "lastSeen": w.last_seen,
                "lastReported": w.last_reported,
            }
            for w in workloads
        ]
        unreported = addresses.values("namespace", "app").annotate(last_seen=Max("last_seen"))
        results += [
            {
                "namespace": a["namespace"],
                "name": a["app"],
                "app": a["app"],
                "version": "",
                "serviceAccount": "",
                "role": "",
                "hasSidecar": False,
                "missingSidecar": True,
                "firstSeen": None,
                "lastSeen": a["last_seen"],
                "lastReported": None,
            }
            for a in unreported.order_by("namespace", "app")
        ]
        return Response({"count": len(results), "results": results})


class NamespaceListView(APIView):
    """Namespaces seen in the mesh's traffic that the caller may read."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        names = set(Workload.objects.values_list("namespace", flat=True).distinct())
        recent = TrafficKey.objects.filter(id__in=TrafficRollup.objects.values("key_id"))
        names |= set(recent.values_list("destination_service_namespace", flat=True).distinct())
        names.discard("")
        names.discard("unknown")
        access = request_access(request)
        return Response({"namespaces": sorted(n for n in names if access.allows(n))})
