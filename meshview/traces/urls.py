"""Span ingestion (OTLP/HTTP, Zipkin) and Jaeger's query API."""

from django.urls import path

from meshview.traces import ingest, jaeger_api
from meshview.traces.api.transform import TransformView

urlpatterns = [
    path("v1/traces", ingest.otlp_traces, name="otlp-traces"),
    path("api/v2/spans", ingest.zipkin_spans, name="zipkin-spans"),
    path("jaeger/api/services", jaeger_api.services),
    path("jaeger/api/services/<path:service>/operations", jaeger_api.service_operations),
    path("jaeger/api/operations", jaeger_api.operations),
    path("jaeger/api/traces", jaeger_api.traces),
    path("jaeger/api/traces/<str:trace_id>", jaeger_api.trace),
    path("jaeger/api/dependencies", jaeger_api.dependency_links),
    path("jaeger/api/transform", TransformView.as_view()),
    path("jaeger/api/v3/services", jaeger_api.v3_services),
    path("jaeger/api/v3/operations", jaeger_api.v3_operations),
    path("jaeger/api/v3/traces", jaeger_api.v3_traces),
    path("jaeger/api/v3/traces/<str:trace_id>", jaeger_api.v3_trace),
    path("jaeger/api/v3/trace-summaries", jaeger_api.v3_trace_summaries),
]
