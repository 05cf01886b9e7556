"""Jaeger's dependencies from the span rollups, POST /jaeger/api/transform, and gzip for trace JSON."""

import base64
import gzip
import json
import time
from datetime import UTC, datetime

import pytest
from django.test import Client, override_settings
from google.protobuf.json_format import MessageToDict
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

from meshview.mesh import rollups
from meshview.traces.actions import store_spans
from meshview.traces.decode import decode_otlp_protobuf
from tests.graph import spansim
from tests.meshsim import bookinfo_calls

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("anonymous")]
T0 = int(time.time()) // 600 * 600 - 3600


@pytest.fixture
def anonymous():
    with override_settings(MESHVIEW_ANONYMOUS_ACCESS=True):
        yield


@pytest.fixture
def bookinfo() -> None:
    for minute in (0, 5, 30):
        calls = bookinfo_calls(datetime.fromtimestamp(T0 + minute * 60, UTC))
        store_spans(decode_otlp_protobuf(spansim.render(calls).SerializeToString()))


def links(client: Client, **params: str) -> dict[tuple[str, str], int]:
    body = client.get("/jaeger/api/dependencies", params).json()
    assert body["errors"] is None
    return {(link["parent"], link["child"]): link["callCount"] for link in body["data"]}


@pytest.mark.usefixtures("bookinfo")
def test_dependencies_read_the_rollups_and_honour_service(client: Client, django_assert_max_num_queries) -> None:
    end_ms = str((T0 + 3600) * 1000)
    everything = links(client, endTs=end_ms, lookback=str(7 * 86_400_000))
    assert everything[("istio-ingressgateway", "productpage")] == 60
    assert everything[("reviews", "ratings")] == 6
    assert ("productpage", "productpage") not in everything  # one service: no link
    assert links(client, endTs=end_ms, lookback=str(7 * 86_400_000), service="ratings") == {
        link: calls for link, calls in everything.items() if "ratings" in link
    }
    # endTs and lookback pick the window: the first ten minutes hold two of the three minutes.
    first = links(client, endTs=str((T0 + 600) * 1000), lookback="600000")
    assert first[("istio-ingressgateway", "productpage")] == 40
    rollups.roll_up(time.time())  # the same links from the coarse tiers
    assert links(client, endTs=end_ms, lookback=str(7 * 86_400_000)) == everything
    with django_assert_max_num_queries(2):
        links(client, endTs=end_ms, lookback=str(7 * 86_400_000), service="ratings")


def sdk_otlp_json() -> tuple[dict, str]:
    """Spans recorded by the OpenTelemetry SDK, written as OTLP JSON as the Collector's file
    exporter writes them (ids in hex); and the trace id."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "checkout", "k8s.namespace.name": "shop"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("checkout-instrumentation", "0.9")
    with tracer.start_as_current_span("POST /checkout", kind=SpanKind.SERVER) as root:
        root.set_attribute("http.response.status_code", 200)
        with tracer.start_as_current_span("charge card", kind=SpanKind.CLIENT) as child:
            child.add_event("retry", {"attempt": 2})
            child.set_status(Status(StatusCode.ERROR, "card declined"))
        trace_id = f"{root.get_span_context().trace_id:032x}"
    provider.shutdown()
    document = MessageToDict(encode_spans(exporter.get_finished_spans()))
    for resource_spans in document["resourceSpans"]:
        for scope_spans in resource_spans["scopeSpans"]:
            for span in scope_spans["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        span[key] = base64.b64decode(span[key]).hex()
    return document, trace_id


def test_transform_turns_an_sdk_otlp_file_into_jaeger_traces(client: Client) -> None:
    document, trace_id = sdk_otlp_json()
    response = client.post("/jaeger/api/transform", json.dumps(document), content_type="application/json")
    assert response.status_code == 200, response.content
    (trace,) = response.json()["data"]
    assert trace["traceID"] == trace_id
    spans = {span["operationName"]: span for span in trace["spans"]}
    assert set(spans) == {"POST /checkout", "charge card"}
    charge = spans["charge card"]
    assert charge["references"] == [{"refType": "CHILD_OF", "traceID": trace_id,
                                     "spanID": spans["POST /checkout"]["spanID"]}]
    assert {"key": "error", "type": "bool", "value": True} in charge["tags"]
    assert charge["logs"][0]["fields"][0] == {"key": "event", "type": "string", "value": "retry"}
    assert trace["processes"][charge["processID"]]["serviceName"] == "checkout"
    from meshview.traces.models import Span

    assert not Span.objects.exists()  # nothing is stored
    bad = client.post("/jaeger/api/transform", "{not json", content_type="application/json")
    assert bad.status_code == 400 and bad.json()["errors"][0]["code"] == 400


def test_trace_json_is_gzipped_when_the_client_accepts_it(client: Client) -> None:
    document, trace_id = sdk_otlp_json()
    assert client.post("/v1/traces", json.dumps(document), content_type="application/json").status_code == 200
    for path in (f"/jaeger/api/traces/{trace_id}", f"/jaeger/api/v3/traces/{trace_id}"):
        plain = client.get(path)
        assert "Content-Encoding" not in plain
        packed = client.get(path, HTTP_ACCEPT_ENCODING="gzip, deflate")
        assert packed["Content-Encoding"] == "gzip"
        assert json.loads(gzip.decompress(packed.content)) == plain.json()
