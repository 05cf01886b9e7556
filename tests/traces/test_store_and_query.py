"""OTLP/HTTP and Zipkin into the span store, read back through Jaeger's v1 and v3 APIs."""

import gzip
import json
import time

import pytest
from django.test import Client, override_settings
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as ts
from opentelemetry.proto.common.v1 import common_pb2 as common
from opentelemetry.proto.trace.v1 import trace_pb2 as tr

from meshview.core.access import EVERYTHING, NamespaceAccess
from meshview.traces.actions import store_spans
from meshview.traces.decode import decode_otlp_protobuf
from meshview.traces.models import MissingParent, Span, Trace, TraceResource
from meshview.traces.queries import summaries
from meshview.traces.summary_store import rebuild
from meshview.traces.visibility import HIDDEN_SPAN_NAME
from tests.conftest import database_locked

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("anonymous")]
NOW_NS = time.time_ns() - 60 * 10**9
PB = "application/x-protobuf"


@pytest.fixture
def anonymous():
    with override_settings(MESHVIEW_ANONYMOUS_ACCESS=True):
        yield


def kv(key: str, value: object) -> common.KeyValue:
    if isinstance(value, bool):
        return common.KeyValue(key=key, value=common.AnyValue(bool_value=value))
    if isinstance(value, int):
        return common.KeyValue(key=key, value=common.AnyValue(int_value=value))
    return common.KeyValue(key=key, value=common.AnyValue(string_value=str(value)))


def span(trace: int, sid: int, name: str, parent: int = 0, start_ms: int = 0, dur_ms: int = 10, **extra) -> tr.Span:
    return tr.Span(
        trace_id=trace.to_bytes(16, "big"),
        span_id=sid.to_bytes(8, "big"),
        parent_span_id=parent.to_bytes(8, "big") if parent else b"",
        name=name,
        kind=extra.pop("kind", tr.Span.SPAN_KIND_SERVER),
        start_time_unix_nano=NOW_NS + start_ms * 10**6,
        end_time_unix_nano=NOW_NS + (start_ms + dur_ms) * 10**6,
        attributes=[kv(k, v) for k, v in extra.pop("attributes", {}).items()],
        **extra,
    )


def export(service: str, spans: list[tr.Span], resource: dict | None = None, scope: str = "meshview-tests") -> bytes:
    attributes = [kv("service.name", service)] + [kv(k, v) for k, v in (resource or {}).items()]
    request = ts.ExportTraceServiceRequest(
        resource_spans=[
            tr.ResourceSpans(
                resource={"attributes": attributes},
                scope_spans=[tr.ScopeSpans(scope=common.InstrumentationScope(name=scope, version="1.2"), spans=spans)],
            )
        ]
    )
    return request.SerializeToString()


def send(client: Client, body: bytes, content_type: str = PB, **headers: str):
    return client.post("/v1/traces", body, content_type=content_type, **headers)


def bookinfo(client: Client) -> None:
    """Trace 1: frontend → reviews (error) → ratings; trace 2: frontend only, slow, with an
    event and a link; each service in its own export, as separate processes send them."""
    assert (
        send(
            client,
            export(
                "frontend",
                [
                    span(
                        1, 1, "GET /productpage", dur_ms=50, attributes={"http.method": "GET", "http.status_code": 200}
                    ),
                    span(1, 2, "GET /reviews", parent=1, start_ms=5, dur_ms=30, kind=tr.Span.SPAN_KIND_CLIENT),
                    span(
                        2,
                        10,
                        "GET /slow",
                        start_ms=1000,
                        dur_ms=900,
                        events=[
                            tr.Span.Event(time_unix_nano=NOW_NS, name="cache.miss", attributes=[kv("cache.key", "k42")])
                        ],
                        links=[
                            tr.Span.Link(
                                trace_id=(1).to_bytes(16, "big"),
                                span_id=(1).to_bytes(8, "big"),
                                attributes=[kv("link.reason", "retry-of")],
                            )
                        ],
                    ),
                ],
                resource={"k8s.namespace.name": "bookinfo"},
            ),
        ).status_code
        == 200
    )
    assert (
        send(
            client,
            export(
                "reviews",
                [
                    span(
                        1, 3, "GET /reviews", parent=2, start_ms=6, dur_ms=28, status=tr.Status(code=2, message="boom")
                    ),
                    span(1, 4, "GET /ratings", parent=3, start_ms=8, dur_ms=5, kind=tr.Span.SPAN_KIND_CLIENT),
                ],
            ),
        ).status_code
        == 200
    )
    assert (
        send(
            client,
            export("ratings", [span(1, 5, "GET /ratings", parent=4, start_ms=9, dur_ms=3)], scope="ratings-instr"),
        ).status_code
        == 200
    )


def search(client: Client, **params: str) -> list[str]:
    response = client.get("/jaeger/api/traces", params)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["errors"] is None
    return [t["traceID"] for t in body["data"]]


T1, T2 = f"{1:032x}", f"{2:032x}"


def test_a_trace_reads_back_as_jaeger_json(client: Client) -> None:
    bookinfo(client)
    body = client.get(f"/jaeger/api/traces/{T1}").json()
    assert body["total"] == 1 and body["errors"] is None
    trace = body["data"][0]
    assert trace["traceID"] == T1
    assert len(trace["spans"]) == 5
    assert [p["serviceName"] for p in trace["processes"].values()] == ["frontend", "reviews", "ratings"]
    reviews = next(s for s in trace["spans"] if s["spanID"] == f"{3:016x}")
    assert reviews["references"] == [{"refType": "CHILD_OF", "traceID": T1, "spanID": f"{2:016x}"}]
    assert reviews["duration"] == 28000 and reviews["startTime"] == (NOW_NS + 6 * 10**6) // 1000
    tags = {t["key"]: t for t in reviews["tags"]}
    assert tags["error"] == {"key": "error", "type": "bool", "value": True}
    assert tags["span.kind"]["value"] == "server"
    # a short id is padded as Jaeger pads it; a missing trace is a 404 in the envelope
    assert client.get("/jaeger/api/traces/1").json()["data"][0]["traceID"] == T1
    missing = client.get(f"/jaeger/api/traces/{9:032x}")
    assert missing.status_code == 404 and missing.json()["errors"][0]["code"] == 404
    assert client.get("/jaeger/api/traces/not-hex").status_code == 400


def test_search_matches_one_span_on_every_condition(client: Client) -> None:
    bookinfo(client)
    assert search(client, service="frontend") == [T2, T1]  # newest first
    assert search(client, service="reviews", tags=json.dumps({"error": "true"})) == [T1]
    assert search(client, tags=json.dumps({"error": "true"})) == [T1]  # no service: every service
    assert search(client, service="frontend", minDuration="800ms") == [T2]
    assert search(client, service="frontend", maxDuration="40ms") == [T1]
    assert search(client, service="frontend", minDuration="50ms", maxDuration="50ms") == [T1]  # inclusive
    assert search(client, service="frontend", operation="GET /reviews") == [T1]
    assert search(client, service="frontend", limit="1") == [T2]
    # tags in the resource, scope, events and links
    assert search(client, tag="k8s.namespace.name:bookinfo") == [T2, T1]
    assert search(client, tag="otel.scope.name:ratings-instr") == [T1]
    assert search(client, tag="cache.key:k42") == [T2]
    assert search(client, tag="link.reason:retry-of") == [T2]
    assert search(client, tag="http.status_code:200") == [T1]  # ints compare as strings
    # negative searches
    assert search(client, tag="cache.key:k43") == []
    assert search(client, service="ratings", tags=json.dumps({"error": "true"})) == []
    # conditions must hold on one span: frontend has http.method and reviews has error, not both
    assert search(client, tags=json.dumps({"http.method": "GET", "error": "true"})) == []
    assert search(client, service="frontend", end=str(NOW_NS // 1000 - 10**6)) == []


def test_bad_search_parameters_are_400s_naming_them(client: Client) -> None:
    for params, name in [
        ({"minDuration": "fast"}, "minDuration"),
        ({"start": "yesterday"}, "start"),
        ({"tags": "[1]"}, "tags"),
        ({"tag": "nocolon"}, "tag"),
        ({"limit": "-3"}, "limit"),
        ({"spanKind": "weird"}, "spanKind"),
    ]:
        response = client.get("/jaeger/api/traces", params)
        assert response.status_code == 400
        assert name in response.json()["errors"][0]["msg"]


def test_services_operations_and_dependencies(client: Client) -> None:
    bookinfo(client)
    assert client.get("/jaeger/api/services").json()["data"] == ["frontend", "ratings", "reviews"]
    assert client.get("/jaeger/api/services/reviews/operations").json()["data"] == ["GET /ratings", "GET /reviews"]
    ops = client.get("/jaeger/api/operations", {"service": "frontend", "spanKind": "client"}).json()["data"]
    assert ops == [{"name": "GET /reviews", "spanKind": "client"}]
    deps = client.get("/jaeger/api/dependencies", {"endTs": str(NOW_NS // 10**6 + 10000)}).json()["data"]
    assert deps == [
        {"parent": "frontend", "child": "reviews", "callCount": 1},
        {"parent": "reviews", "child": "ratings", "callCount": 1},
    ]


def test_v3_api(client: Client) -> None:
    bookinfo(client)
    assert client.get("/jaeger/api/v3/services").json() == {"services": ["frontend", "ratings", "reviews"]}
    window = {
        "query.startTimeMin": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW_NS / 1e9 - 60)),
        "query.startTimeMax": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW_NS / 1e9 + 60)),
    }
    result = client.get("/jaeger/api/v3/traces", {**window, "query.serviceName": "ratings"}).json()["result"]
    spans = [s for rs in result["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]
    assert {s["traceId"] for s in spans} == {T1} and len(spans) == 5
    summaries = client.get("/jaeger/api/v3/trace-summaries", {**window, "query.serviceName": "frontend"}).json()
    first = summaries["summaries"][1]
    assert (first["traceId"], first["rootServiceName"], first["rootOperationName"]) == (
        T1,
        "frontend",
        "GET /productpage",
    )
    assert (first["spanCount"], first["errorSpanCount"], first["orphanSpanCount"]) == (5, 1, 0)
    assert first["minStartTimeUnixNano"] == str(NOW_NS)
    assert {s["name"]: s["spanCount"] for s in first["services"]} == {"frontend": 2, "reviews": 2, "ratings": 1}
    missing = client.get("/jaeger/api/v3/traces", {**window, "query.serviceName": "nobody"})
    assert missing.status_code == 404 and missing.json()["error"]["httpCode"] == 404
    bad = client.get("/jaeger/api/v3/traces", {"query.serviceName": "frontend"})
    assert bad.status_code == 400 and "startTimeMin" in bad.json()["error"]["message"]


def test_otlp_json_gzip_and_partial_success(client: Client) -> None:
    body = {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "json-svc"}}]},
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": "0A" * 16,
                                "spanId": "0B" * 8,
                                "name": "ok",
                                "kind": 2,
                                "startTimeUnixNano": str(NOW_NS),
                                "endTimeUnixNano": NOW_NS + 1000,
                                "unknownField": 1,
                            },
                            {"traceId": "zz", "spanId": "0C" * 8, "name": "bad id"},
                            {
                                "trace_id": "0a" * 16,
                                "span_id": "0D" * 8,
                                "name": "backwards",
                                "start_time_unix_nano": str(NOW_NS + 5),
                                "end_time_unix_nano": str(NOW_NS),
                            },
                        ]
                    }
                ],
            }
        ]
    }
    response = send(client, gzip.compress(json.dumps(body).encode()), "application/json", HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    partial = response.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "2"
    assert "span 1" in partial["errorMessage"] and "span 2" in partial["errorMessage"]
    assert list(Span.objects.values_list("name", flat=True)) == ["ok"]
    # protobuf answers in protobuf; an empty request succeeds with an empty response
    empty = send(client, b"", CONTENT_TYPE=PB)  # the test client drops the type of an empty body
    assert empty.status_code == 200 and empty["Content-Type"] == PB
    assert ts.ExportTraceServiceResponse.FromString(empty.content) == ts.ExportTraceServiceResponse()


def test_otlp_errors_carry_google_rpc_status(client: Client) -> None:
    bad = send(client, b"\xff\xff\xff not protobuf")
    assert bad.status_code == 400
    assert status_pb2.Status.FromString(bad.content).message
    bad_json = send(client, b'{"resourceSpans": [', "application/json")
    assert bad_json.status_code == 400 and bad_json.json()["code"] == 3
    assert send(client, b"x", "text/plain").status_code == 415
    with override_settings(MESHVIEW_MAX_BODY_BYTES=1000):
        big = send(client, export("big", [span(3, 1, "x" * 2000)]))
        assert big.status_code == 413
        bomb = send(client, gzip.compress(b"\0" * 10_000_000), HTTP_CONTENT_ENCODING="gzip")
        assert bomb.status_code == 413
    with override_settings(MESHVIEW_MAX_CONCURRENT_EXPORTS=0):
        busy = send(client, export("busy", [span(3, 1, "x")]))
        assert busy.status_code == 429 and busy["Retry-After"] == "1"
    assert client.get("/v1/traces").status_code == 405
    assert Span.objects.count() == 0


def test_duplicate_span_ids_are_kept_and_a_10000_span_trace_reads_back(client: Client) -> None:
    spans = [span(7, 1, "root", dur_ms=5000)] + [
        span(7, i, f"op-{i % 7}", parent=1, start_ms=i % 4000, dur_ms=3) for i in range(2, 10_001)
    ]
    assert send(client, export("big", spans)).status_code == 200
    assert send(client, export("big", [span(7, 2, "duplicate")])).status_code == 200
    started = time.perf_counter()
    trace = client.get(f"/jaeger/api/traces/{7:032x}").json()["data"][0]
    elapsed = time.perf_counter() - started
    assert len(trace["spans"]) == 10_001
    assert sum(1 for s in trace["spans"] if s["spanID"] == f"{2:016x}") == 2
    assert elapsed < 10, f"reading a 10,000-span trace took {elapsed:.1f} s"


def test_zipkin_spans_join_the_same_store(client: Client) -> None:
    zipkin = [
        {
            "traceId": "abcdef0123456789",
            "id": "0000000000000001",
            "name": "get /",
            "kind": "SERVER",
            "timestamp": NOW_NS // 1000,
            "duration": 1500,
            "localEndpoint": {"serviceName": "zipkin-svc"},
            "tags": {"http.method": "GET", "error": "boom"},
        },
        {
            "traceId": "abcdef0123456789",
            "id": "0000000000000001",
            "name": "get /",
            "kind": "CLIENT",
            "shared": True,
            "timestamp": NOW_NS // 1000,
            "duration": 1500,
            "localEndpoint": {"serviceName": "caller"},
        },
        {"id": "no-trace"},
    ]
    response = client.post("/api/v2/spans", json.dumps(zipkin), content_type="application/json")
    assert response.status_code == 202
    assert (response.json()["accepted"], response.json()["rejected"]) == (2, 1)
    assert search(client, service="zipkin-svc", tags=json.dumps({"error": "true"})) == ["0" * 16 + "abcdef0123456789"]


def test_search_and_trace_by_id_use_few_queries(client: Client, django_assert_max_num_queries) -> None:
    bookinfo(client)
    with django_assert_max_num_queries(3):
        client.get("/jaeger/api/traces", {"service": "frontend"})
    with django_assert_max_num_queries(2):
        client.get(f"/jaeger/api/traces/{T1}")


@pytest.mark.django_db(transaction=True)
def test_storage_that_cannot_write_answers_503_with_retry_after(client: Client) -> None:
    """Another connection holds the lock the export needs: nothing is stored, the client is told
    when to come back (and the OTLP exporter retries a 503)."""
    with database_locked("traces_operation"):
        response = send(client, export("blocked", [span(5, 1, "x")]))
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert status_pb2.Status.FromString(response.content).code == 14  # UNAVAILABLE
    assert Span.objects.count() == 0


def test_the_trace_list_pages_through_summaries(client: Client, django_assert_max_num_queries) -> None:
    bookinfo(client)
    with django_assert_max_num_queries(2):
        first = client.get("/api/v1/traces", {"service": "frontend", "limit": "1"}).json()
    assert [t["traceId"] for t in first["results"]] == [T2]
    assert first["results"][0]["spanCount"] == 1
    second = client.get(first["next"]).json()
    assert [t["traceId"] for t in second["results"]] == [T1] and second["next"] is None
    assert second["results"][0]["services"] == [
        {"name": "frontend", "spanCount": 2, "errorSpanCount": 0},
        {"name": "ratings", "spanCount": 1, "errorSpanCount": 0},
        {"name": "reviews", "spanCount": 2, "errorSpanCount": 1},
    ]
    errors = client.get("/api/v1/traces", {"tags": json.dumps({"error": "true"})}).json()
    assert [t["traceId"] for t in errors["results"]] == [T1]
    assert client.get("/api/v1/traces", {"limit": "1000"}).status_code == 400
    assert client.get("/api/v1/traces", {"minDuration": "soon"}).status_code == 400
    assert "/api/v1/traces" in client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]


def test_summaries_count_orphans_until_their_parents_arrive(client: Client, django_assert_num_queries) -> None:
    """Spans of one trace in several exports: before the root arrives its children are orphans
    and the trace has no root; a parent is looked for in its own trace only."""
    headless, other = f"{20:032x}", f"{21:032x}"
    error = tr.Status(code=2, message="boom")
    cart = [
        span(20, 2, "SELECT cart", parent=1, start_ms=5, dur_ms=20),
        span(20, 3, "GET /price", parent=2, start_ms=6, dur_ms=30, status=error),
        span(20, 4, "GET /stock", parent=9, start_ms=7),
    ]
    assert send(client, export("cart", cart)).status_code == 200
    elsewhere = [span(21, 5, "GET /cart", parent=1), span(21, 6, "SELECT", parent=5)]
    assert send(client, export("cart", elsewhere)).status_code == 200
    with django_assert_num_queries(1):
        before, unrelated = summaries([headless, other, f"{22:032x}"], access=EVERYTHING)
    assert (before["traceId"], before["rootServiceName"], before["rootOperationName"]) == (headless, "", "")
    assert (before["spanCount"], before["errorSpanCount"], before["orphanSpanCount"]) == (3, 1, 2)
    assert (unrelated["traceId"], unrelated["orphanSpanCount"]) == (other, 1)  # span 1 of trace 20 is not its parent
    late_root = span(20, 1, "GET /checkout", start_ms=1, dur_ms=40)
    assert send(client, export("frontend", [late_root, span(20, 8, "GET /other-root", start_ms=3)])).status_code == 200
    window = {
        "query.startTimeMin": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW_NS / 1e9 - 60)),
        "query.startTimeMax": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW_NS / 1e9 + 60)),
    }
    (after,) = client.get("/jaeger/api/v3/trace-summaries", {**window, "query.serviceName": "frontend"}).json()[
        "summaries"
    ]
    assert after == {
        "traceId": headless,
        "rootServiceName": "frontend",
        "rootOperationName": "GET /checkout",
        "minStartTimeUnixNano": str(NOW_NS + 10**6),
        "maxEndTimeUnixNano": str(NOW_NS + 41 * 10**6),
        "spanCount": 5,
        "errorSpanCount": 1,
        "orphanSpanCount": 1,
        "services": [
            {"name": "cart", "spanCount": 3, "errorSpanCount": 1},
            {"name": "frontend", "spanCount": 2, "errorSpanCount": 0},
        ],
    }


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_export_racing_its_retry_stores_each_span_once() -> None:
    """The retry's look-up misses the first export's spans, not committed yet; its COPY then
    waits on their unique key and, once they commit, stores nothing twice."""
    import threading

    import psycopg
    from django.db import connection

    from meshview.traces.actions import SPAN_COLUMNS, prepare_partitions, span_rows, store_spans
    from meshview.traces.decode import decode_otlp_protobuf

    prepare_partitions()
    body = export("cart", [span(12, 1, "GET /cart"), span(12, 2, "SELECT cart", parent=1)])
    db = connection.settings_dict
    first = psycopg.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"])
    with first.cursor().copy(f"COPY traces_span ({', '.join(SPAN_COLUMNS)}) FROM STDIN") as copy:
        for row in span_rows(decode_otlp_protobuf(body)):
            copy.write_row(row)
    stored: list[int] = []

    def store_retry() -> None:
        try:
            stored.append(store_spans(decode_otlp_protobuf(body)))
        finally:
            connection.close()  # this thread's own

    retry = threading.Thread(target=store_retry)
    retry.start()
    time.sleep(1)  # the retry is waiting on the first export's rows
    first.commit()
    first.close()
    retry.join(30)
    assert stored == [0]
    assert Span.objects.filter(trace_id=f"{12:032x}").count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("first", ["child", "parent"])
def test_a_child_and_its_parent_stored_at_once_leave_no_orphan(first: str) -> None:
    """Two web processes store a child and its parent at the same moment: the export that
    commits second must see the other's span. Here the first export's transaction stays open
    until the second has started; the second waits for it (the trace's summary row is locked)
    and then finds the parent stored, or the child waiting for it."""
    import threading

    from django.db import connection, transaction

    from meshview.traces.actions import prepare_partitions

    prepare_partitions()
    bodies = {
        "parent": export("frontend", [span(14, 1, "GET /checkout", dur_ms=40)]),
        "child": export("cart", [span(14, 2, "SELECT cart", parent=1, start_ms=5)]),
    }
    second = "parent" if first == "child" else "child"
    stored, release = threading.Event(), threading.Event()

    def store_first() -> None:
        try:
            with transaction.atomic():
                store_spans(decode_otlp_protobuf(bodies[first]))
                stored.set()
                release.wait(30)
        finally:
            connection.close()  # this thread's own

    def store_second() -> None:
        try:
            store_spans(decode_otlp_protobuf(bodies[second]))
        finally:
            connection.close()

    threads = [threading.Thread(target=store_first), threading.Thread(target=store_second)]
    threads[0].start()
    assert stored.wait(30)
    threads[1].start()
    time.sleep(1)  # the second export has read what it could of the trace, or waits
    release.set()
    for thread in threads:
        thread.join(30)
    (summary,) = summaries([f"{14:032x}"], access=EVERYTHING)
    assert (summary["spanCount"], summary["orphanSpanCount"], summary["rootOperationName"]) == (2, 0, "GET /checkout")


def test_a_retried_export_stores_nothing_twice_and_raw_shows_what_was_stored(client: Client) -> None:
    spans = [span(8, 1, "GET /cart"), span(8, 2, "SELECT cart", parent=1, kind=tr.Span.SPAN_KIND_CLIENT)]
    body = export("cart", spans)
    assert send(client, body).status_code == 200
    assert send(client, body).status_code == 200  # the exporter timed out and retried
    assert Span.objects.filter(trace_id=f"{8:032x}").count() == 2
    assert summaries([f"{8:032x}"], access=EVERYTHING)[0]["spanCount"] == 2
    # Same id, other content (a span exported twice by a buggy SDK): both are kept.
    assert send(client, export("cart", [span(8, 2, "SELECT cart", parent=1, dur_ms=11)])).status_code == 200
    assert summaries([f"{8:032x}"], access=EVERYTHING)[0]["spanCount"] == 3
    raw = client.get(f"/jaeger/api/traces/{8:032x}", {"raw": "true"}).json()["data"][0]["spans"]
    assert sorted(s["spanID"] for s in raw) == [f"{1:016x}", f"{2:016x}", f"{2:016x}"]
    # Only exact duplicates are dropped when serving: stored before they were refused at ingest.
    Span.objects.bulk_create([Span(**{**row, "id": None, "content_hash": row["content_hash"] + 1})
                              for row in Span.objects.filter(span_id=f"{1:016x}").values()])
    raw = client.get(f"/jaeger/api/traces/{8:032x}", {"raw": "true"}).json()["data"][0]["spans"]
    adjusted = client.get(f"/jaeger/api/traces/{8:032x}").json()["data"][0]["spans"]
    assert len(raw) == 4 and len(adjusted) == 3


def test_summaries_kept_at_ingest_are_those_the_stored_spans_give() -> None:
    """Three traces of three services in two namespaces, stored in 80 exports in shuffled order
    (children before their parents, retried exports, a span stored twice with other content,
    roots in every service, a parent that never arrives): the summaries kept export by export
    are those summed from the spans stored, for every caller."""
    import random

    rng = random.Random(7)
    services = {"frontend": "shop", "cart": "shop", "vault": "secrets"}
    spans: list[tuple[str, tr.Span]] = []
    for trace in (31, 32, 33):
        names = list(services)
        for n in range(1, 121):
            parent = 0 if n % 10 == 1 else rng.randrange(1, n) if n != 90 else 999  # 999: never arrives
            status = tr.Status(code=2) if n % 7 == 0 else None
            spans.append((names[n % 3], span(trace, n, f"op {n % 5}", parent=parent, start_ms=rng.randrange(0, 50),
                                             status=status)))
    spans.append(("cart", span(31, 5, "op 0", parent=1, dur_ms=99)))  # span 5 again, other content
    rng.shuffle(spans)
    exports = []
    for start in range(0, len(spans), 10):
        for service in services:
            batch = [s for name, s in spans[start : start + 10] if name == service]
            if batch:
                pod = f"{service}-{start % 20 // 10}"  # two resources of each service
                exports.append(export(service, batch, resource={"k8s.namespace.name": services[service],
                                                                "k8s.pod.name": pod}))
    exports += rng.sample(exports, 5)  # retries
    rng.shuffle(exports)
    for body in exports:
        store_spans(decode_otlp_protobuf(body))
    traces = [f"{t:032x}" for t in (31, 32, 33)]
    callers = [EVERYTHING, NamespaceAccess(frozenset({"shop"})), NamespaceAccess(frozenset({"secrets"}))]
    kept = [summaries(traces, access=access) for access in callers]
    assert [s["spanCount"] for s in kept[0]] == [121, 120, 120]
    assert all(s["orphanSpanCount"] >= 1 for s in kept[0])
    for full, shop in zip(kept[0], kept[1], strict=True):
        assert shop["rootOperationName"] == (
            HIDDEN_SPAN_NAME if full["rootServiceName"] == "vault" else full["rootOperationName"]
        )
        assert shop["errorSpanCount"] == sum(s["errorSpanCount"] for s in full["services"] if s["name"] != "vault")
        assert shop["errorSpanCount"] < full["errorSpanCount"]
    for model in (Trace, TraceResource, MissingParent):
        model.objects.all().delete()
    rebuild()
    assert [summaries(traces, access=access) for access in callers] == kept
