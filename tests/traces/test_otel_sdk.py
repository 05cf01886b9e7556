"""The real OpenTelemetry SDK and its OTLP exporters against a running `serve`."""

import json
import urllib.request
from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from tests.conftest import Server, database_url, free_port

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def server(tmp_path: Path):
    """serve on the test database with the OTLP ports open."""
    http_port, grpc_port = free_port(), free_port()
    server = Server(
        tmp_path / "data",
        env={"DATABASE_URL": database_url()},
        args=("--no-worker", "--otlp-http-port", str(http_port), "--otlp-grpc-port", str(grpc_port)),
    ).wait_ready()
    server.otlp_http = f"http://127.0.0.1:{http_port}/v1/traces"
    server.otlp_grpc = f"127.0.0.1:{grpc_port}"
    yield server
    server.stop()


def emit(exporter, service: str) -> str:
    provider = TracerProvider(resource=Resource.create({"service.name": service, "deployment.environment": "test"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("checkout-instrumentation", "0.9")
    with tracer.start_as_current_span("POST /checkout", kind=SpanKind.SERVER) as root:
        root.set_attribute("http.request.method", "POST")
        with tracer.start_as_current_span("charge card", kind=SpanKind.CLIENT) as child:
            child.add_event("retry", {"attempt": 2})
            child.set_status(Status(StatusCode.ERROR, "card declined"))
        trace_id = f"{root.get_span_context().trace_id:032x}"
    provider.shutdown()
    return trace_id


def get(url: str) -> dict:
    with urllib.request.urlopen(url) as response:
        return json.load(response)


@pytest.mark.parametrize("transport", ["http", "http-4318", "grpc"])
def test_sdk_spans_read_back_through_v1_and_v3(server: Server, transport: str) -> None:
    if transport == "grpc":
        exporter = GrpcExporter(endpoint=server.otlp_grpc, insecure=True)
    else:
        endpoint = server.otlp_http if transport == "http-4318" else f"{server.url}/v1/traces"
        exporter = HttpExporter(endpoint=endpoint)
    trace_id = emit(exporter, f"checkout-{transport}")
    trace = get(f"{server.url}/jaeger/api/traces/{trace_id}")["data"][0]
    assert {s["operationName"] for s in trace["spans"]} == {"POST /checkout", "charge card"}
    process = trace["processes"]["p1"]
    assert process["serviceName"] == f"checkout-{transport}"
    assert {"key": "deployment.environment", "type": "string", "value": "test"} in process["tags"]
    charge = next(s for s in trace["spans"] if s["operationName"] == "charge card")
    tags = {t["key"]: t["value"] for t in charge["tags"]}
    assert tags["error"] is True and tags["otel.status_description"] == "card declined"
    assert tags["otel.scope.name"] == "checkout-instrumentation"
    assert charge["logs"][0]["fields"][0] == {"key": "event", "type": "string", "value": "retry"}
    found = get(f"{server.url}/jaeger/api/traces?service=checkout-{transport}&tag=attempt:2")
    assert [t["traceID"] for t in found["data"]] == [trace_id]
    v3 = get(f"{server.url}/jaeger/api/v3/traces/{trace_id}")["result"]["resourceSpans"]
    assert sum(len(ss["spans"]) for rs in v3 for ss in rs["scopeSpans"]) == 2


def test_the_otlp_port_serves_nothing_else(server: Server) -> None:
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(server.otlp_http.replace("/v1/traces", "/api/v1/tokens"))
    assert error.value.code == 404
