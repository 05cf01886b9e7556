"""Span ingestion (OTLP/HTTP, Zipkin) and Jaeger's query API."""

from django.urls import path

from meshview.core.schema import documented
from meshview.traces import ingest, jaeger_api, openapi
from meshview.traces.api.transform import TransformView

urlpatterns = [
    path("v1/traces", documented(ingest.otlp_traces, openapi.OTLP_EXPORT), name="otlp-traces"),
    path("api/v2/spans", documented(ingest.zipkin_spans, openapi.ZIPKIN_SPANS), name="zipkin-spans"),
    path("jaeger/api/services", documented(jaeger_api.services, openapi.SERVICES)),
    path(
        "jaeger/api/services/<path:service>/operations",
        documented(jaeger_api.service_operations, openapi.SERVICE_OPERATIONS),
    ),
    path("jaeger/api/operations", documented(jaeger_api.operations, openapi.OPERATIONS)),
    path("jaeger/api/traces", documented(jaeger_api.traces, openapi.TRACES)),
    path("jaeger/api/traces/<str:trace_id>", documented(jaeger_api.trace, openapi.TRACE)),
    path("jaeger/api/dependencies", documented(jaeger_api.dependency_links, openapi.DEPENDENCIES)),
    path("jaeger/api/transform", TransformView.as_view()),
    path("jaeger/api/v3/services", documented(jaeger_api.v3_services, openapi.V3_SERVICES)),
    path("jaeger/api/v3/operations", documented(jaeger_api.v3_operations, openapi.V3_OPERATIONS)),
    path("jaeger/api/v3/traces", documented(jaeger_api.v3_traces, openapi.V3_TRACES)),
    path("jaeger/api/v3/traces/<str:trace_id>", documented(jaeger_api.v3_trace, openapi.V3_TRACE)),
    path("jaeger/api/v3/trace-summaries", documented(jaeger_api.v3_trace_summaries, openapi.V3_TRACE_SUMMARIES)),
]
