"""Span retention: MESHVIEW_TRACE_RETENTION, day partitions on PostgreSQL, and the beat task.

Every test runs on both databases. On PostgreSQL spans live in day partitions of traces_span
(and in traces_span_default for days without one); retention drops a day's partition once the
whole day is past the cutoff and deletes rows from the default partition. On SQLite it deletes
rows older than the cutoff.
"""

import time
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test import Client, override_settings
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as ts
from opentelemetry.proto.common.v1 import common_pb2 as common
from opentelemetry.proto.trace.v1 import trace_pb2 as tr

from meshview.core.access import EVERYTHING
from meshview.traces.actions import delete_expired_spans, prepare_partitions, store_spans
from meshview.traces.decode import decode_otlp_protobuf
from meshview.traces.models import MissingParent, Span, Trace, TraceResource
from meshview.traces.queries import summaries
from meshview.traces.tasks import maintain_span_store

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("anonymous")]
DAY = 86_400
HOUR = 3_600
WEEK = 7 * DAY
# Noon, so that "a day before" and "an hour before" fall on known calendar days.
NOW = datetime(2026, 3, 15, 12, tzinfo=UTC).timestamp()
PB = "application/x-protobuf"


@pytest.fixture
def anonymous():
    with override_settings(MESHVIEW_ANONYMOUS_ACCESS=True, MESHVIEW_TRACE_RETENTION_SECONDS=WEEK):
        yield


def post_span(client: Client, trace: int, at: float, service: str = "checkout", span: int = 0, parent: int = 0) -> None:
    """Store one span of trace `trace` starting at `at` (seconds since the epoch), as the span
    store's write path does (OTLP/HTTP refuses spans already past the retention); its span id
    is `span`, else the trace's number."""
    start_ns = int(at * 10**9)
    request = ts.ExportTraceServiceRequest(
        resource_spans=[
            tr.ResourceSpans(
                resource={"attributes": [common.KeyValue(key="service.name", value={"string_value": service})]},
                scope_spans=[
                    tr.ScopeSpans(
                        spans=[
                            tr.Span(
                                trace_id=trace.to_bytes(16, "big"),
                                span_id=(span or trace).to_bytes(8, "big"),
                                parent_span_id=parent.to_bytes(8, "big") if parent else b"",
                                name="GET /cart",
                                kind=tr.Span.SPAN_KIND_SERVER,
                                start_time_unix_nano=start_ns,
                                end_time_unix_nano=start_ns + 5 * 10**6,
                            )
                        ]
                    )
                ],
            )
        ]
    )
    store_spans(decode_otlp_protobuf(request.SerializeToString()))


def trace_id(trace: int) -> str:
    return f"{trace:032x}"


def stored_traces() -> set[str]:
    return set(Span.objects.values_list("trace_id", flat=True))


def summarised_traces() -> set[str]:
    """The traces with summary rows: those with spans stored, once retention is done."""
    kept = [set(model.objects.values_list("trace_id", flat=True)) for model in (Trace, TraceResource)]
    assert kept[0] == kept[1]
    return kept[0]


def partition(at: float) -> str:
    return "traces_span_p" + datetime.fromtimestamp(at, UTC).strftime("%Y%m%d")


def partitions() -> set[str]:
    """The day partitions of traces_span (PostgreSQL), including any that tests run by a server
    process left committed: compare with the set before."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent "
            "WHERE p.relname = 'traces_span' AND c.relname <> 'traces_span_default'"
        )
        return {row[0] for row in cursor.fetchall()}


def table_exists(name: str) -> bool:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
        else:
            cursor.execute("SELECT count(*) > 0 FROM sqlite_master WHERE name = %s", [name])
        return bool(cursor.fetchone()[0])


def in_default_partition() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT trace_id FROM traces_span_default")
        return {row[0] for row in cursor.fetchall()}


def test_spans_older_than_the_retention_go_and_newer_ones_stay(client: Client) -> None:
    before = partitions() if connection.vendor == "postgresql" else set()
    ages = {1: 20 * DAY, 2: 8 * DAY, 3: 6 * DAY, 4: WEEK - HOUR, 5: HOUR}
    for trace, age in ages.items():
        post_span(client, trace, NOW - age)
    assert stored_traces() == {trace_id(t) for t in ages}
    if connection.vendor == "postgresql":
        # one partition for each day a span landed in, and nothing in the default partition
        assert partitions() - before == {partition(NOW - age) for age in ages.values()}
        assert in_default_partition() == set()

    removed = delete_expired_spans(now=NOW)

    assert removed == 2  # two day partitions on PostgreSQL, two rows on SQLite
    assert stored_traces() == {trace_id(3), trace_id(4), trace_id(5)}
    if connection.vendor == "postgresql":
        # whole tables dropped, not emptied: the days 20 and 8 days ago
        assert not table_exists(partition(NOW - 20 * DAY)) and not table_exists(partition(NOW - 8 * DAY))
        assert partitions() - before == {partition(NOW - age) for age in (6 * DAY, WEEK - HOUR, HOUR)}
    assert summarised_traces() == stored_traces()
    # nothing left to remove
    assert delete_expired_spans(now=NOW) == 0
    assert stored_traces() == {trace_id(3), trace_id(4), trace_id(5)}


def test_retention_follows_the_setting(client: Client) -> None:
    post_span(client, 1, NOW - 3 * DAY)
    post_span(client, 2, NOW - DAY - HOUR)
    post_span(client, 3, NOW - HOUR)
    with override_settings(MESHVIEW_TRACE_RETENTION_SECONDS=2 * DAY):
        delete_expired_spans(now=NOW)
    assert stored_traces() == {trace_id(2), trace_id(3)}
    with override_settings(MESHVIEW_TRACE_RETENTION_SECONDS=DAY):
        delete_expired_spans(now=NOW + DAY - 2 * HOUR)
    assert stored_traces() == {trace_id(3)}


def test_the_day_the_cutoff_falls_in(client: Client) -> None:
    """Retention on PostgreSQL drops whole days: a span just past the cutoff whose day still
    holds newer spans stays until that day is wholly past (at most a day longer); SQLite
    deletes it at once."""
    cutoff = NOW - WEEK  # noon, a week ago
    post_span(client, 1, cutoff - HOUR)  # same day as the cutoff, an hour older
    post_span(client, 2, cutoff + HOUR)  # same day, an hour newer
    delete_expired_spans(now=NOW)
    if connection.vendor == "postgresql":
        assert stored_traces() == {trace_id(1), trace_id(2)}
        assert table_exists(partition(cutoff))
        # by noon of the next day the whole day is past the cutoff: its partition goes
        assert delete_expired_spans(now=NOW + DAY / 2) == 1
        assert not table_exists(partition(cutoff))
        assert stored_traces() == set()
    else:
        assert stored_traces() == {trace_id(2)}
        assert delete_expired_spans(now=NOW + DAY / 2) == 1
        assert stored_traces() == set()


def test_spans_of_a_day_without_partition_are_deleted_row_by_row(client: Client) -> None:
    """Spans written to traces_span before their day had a partition (a bulk load, an older
    meshview) sit in the default partition; a partition for that day can then not be created,
    so later spans of that day join them there, and retention deletes them by row."""
    old, kept = NOW - 10 * DAY, NOW - 10 * DAY + 8 * HOUR
    start_ns = int(old * 10**9)
    texts = ("parent_span_id", "trace_state", "status_message", "scope_name", "scope_version")
    counts = ("status_code", "flags", "dropped_attributes_count", "dropped_events_count", "dropped_links_count")
    Span.objects.create(
        trace_id=trace_id(1),
        span_id="1" * 16,
        name="loaded",
        kind=2,
        service_name="checkout",
        resource_key="0" * 32,
        start_ns=start_ns,
        end_ns=start_ns + 1000,
        duration_ns=1000,
        **dict.fromkeys(texts, ""),
        **dict.fromkeys(counts, 0),
        **{"scope_attributes": {}, "attributes": {}, "events": [], "links": [], "search_tags": {}},
    )
    post_span(client, 2, old + HOUR)
    post_span(client, 3, kept)
    assert stored_traces() == {trace_id(1), trace_id(2), trace_id(3)}
    if connection.vendor == "postgresql":
        assert in_default_partition() == {trace_id(1), trace_id(2), trace_id(3)}
        assert partition(old) not in partitions()

    # a cutoff between the spans of that day: rows older go, the newer one stays
    with override_settings(MESHVIEW_TRACE_RETENTION_SECONDS=10 * DAY - 4 * HOUR):
        removed = delete_expired_spans(now=NOW)

    assert removed == 2
    assert stored_traces() == {trace_id(3)} == summarised_traces()
    if connection.vendor == "postgresql":
        assert in_default_partition() == {trace_id(3)}


def test_a_trace_that_retention_cuts_is_summed_from_its_spans_left(client: Client) -> None:
    """A trace whose root is past the retention and whose children are not: its summary counts
    the children left, now orphans, and has no root; a trace wholly past it has no summary."""
    post_span(client, 1, NOW - 9 * DAY, span=1)
    post_span(client, 1, NOW - HOUR, span=2, parent=1)
    post_span(client, 1, NOW - HOUR, span=3, parent=9)  # its parent never arrives
    post_span(client, 2, NOW - 9 * DAY, span=1)
    post_span(client, 2, NOW - 9 * DAY, span=2, parent=7)
    (before,) = summaries([trace_id(1)], access=EVERYTHING)
    assert (before["spanCount"], before["orphanSpanCount"], before["rootOperationName"]) == (3, 1, "GET /cart")

    delete_expired_spans(now=NOW)

    (after,) = summaries([trace_id(1)], access=EVERYTHING)
    assert (after["spanCount"], after["orphanSpanCount"], after["rootServiceName"], after["rootOperationName"]) == (
        2, 2, "", ""
    )
    assert after["minStartTimeUnixNano"] == str(int((NOW - HOUR) * 10**9))
    assert summaries([trace_id(2)], access=EVERYTHING) == []
    assert summarised_traces() == stored_traces() == {trace_id(1)}
    assert sorted(MissingParent.objects.values_list("trace_id", "parent_span_id", "span_count")) == [
        (trace_id(1), f"{1:016x}", 1), (trace_id(1), f"{9:016x}", 1)
    ]
    # A span with the expired root's id, started since, makes the spans that name it children again.
    post_span(client, 1, NOW - HOUR, span=1)
    (again,) = summaries([trace_id(1)], access=EVERYTHING)
    assert (again["spanCount"], again["orphanSpanCount"], again["rootOperationName"]) == (3, 1, "GET /cart")


def test_prepare_partitions_makes_today_and_the_next_days() -> None:
    before = partitions() if connection.vendor == "postgresql" else set()
    prepare_partitions(now=NOW)
    days = [NOW + n * DAY for n in range(3)]
    if connection.vendor == "postgresql":
        assert partitions() - before == {partition(day) for day in days}
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_get_expr(c.relpartbound, c.oid) FROM pg_class c WHERE c.relname = %s", [partition(NOW)]
            )
            bound = cursor.fetchone()[0]
        midnight = int(NOW // DAY * DAY) * 10**9
        assert bound == f"FOR VALUES FROM ('{midnight}') TO ('{midnight + DAY * 10**9}')"
        prepare_partitions(now=NOW + DAY)  # again, a day later: one more, nothing twice
        assert partitions() - before == {partition(NOW + n * DAY) for n in range(4)}
    else:
        # one table on SQLite: nothing to prepare
        assert not any(table_exists(partition(day)) for day in days)


def test_the_beat_task_prepares_partitions_and_removes_expired_spans(client: Client) -> None:
    now = time.time()
    post_span(client, 1, now - 9 * DAY)
    post_span(client, 2, now - HOUR)

    maintain_span_store()  # what beat runs hourly, called in this process

    assert stored_traces() == {trace_id(2)} == summarised_traces()
    if connection.vendor == "postgresql":
        assert not table_exists(partition(now - 9 * DAY))
        assert {partition(now + n * DAY) for n in range(3)} <= partitions()


def test_an_expired_trace_is_no_longer_found_or_fetched(client: Client) -> None:
    post_span(client, 1, NOW - 9 * DAY, service="reviews")
    post_span(client, 2, NOW - HOUR, service="reviews")
    window = {"service": "reviews", "start": str(int((NOW - 30 * DAY) * 10**6)), "end": str(int(NOW * 10**6))}

    def found() -> list[str]:
        body = client.get("/jaeger/api/traces", window).json()
        assert body["errors"] is None
        return [trace["traceID"] for trace in body["data"]]

    assert found() == [trace_id(2), trace_id(1)]
    assert client.get(f"/jaeger/api/traces/{trace_id(1)}").status_code == 200

    delete_expired_spans(now=NOW)

    assert found() == [trace_id(2)]
    gone = client.get(f"/jaeger/api/traces/{trace_id(1)}")
    assert gone.status_code == 404 and gone.json()["errors"][0]["code"] == 404
    assert client.get(f"/jaeger/api/v3/traces/{trace_id(1)}").status_code == 404
    assert client.get(f"/jaeger/api/traces/{trace_id(2)}").json()["data"][0]["traceID"] == trace_id(2)


def test_spans_older_than_the_retention_are_refused_at_ingest(client: Client) -> None:
    from meshview.core.metrics import INGEST_REJECTED

    refused = INGEST_REJECTED.labels("otlp", "out-of-retention")
    before = refused._value.get()
    now = time.time()
    request = ts.ExportTraceServiceRequest(
        resource_spans=[
            tr.ResourceSpans(
                resource={"attributes": [common.KeyValue(key="service.name", value={"string_value": "cart"})]},
                scope_spans=[tr.ScopeSpans(spans=[
                    tr.Span(trace_id=(9).to_bytes(16, "big"), span_id=n.to_bytes(8, "big"), name="GET /cart",
                            kind=tr.Span.SPAN_KIND_SERVER, start_time_unix_nano=int(at * 10**9),
                            end_time_unix_nano=int(at * 10**9) + 10**6)
                    for n, at in ((1, now - 8 * DAY), (2, now - HOUR), (3, now - 7 * DAY - 60))
                ])],
            )
        ]
    )
    response = client.post("/v1/traces", request.SerializeToString(), content_type=PB)
    assert response.status_code == 200
    answer = ts.ExportTraceServiceResponse.FromString(response.content)
    assert answer.partial_success.rejected_spans == 2
    assert "out of range" in answer.partial_success.error_message
    assert set(Span.objects.values_list("span_id", flat=True)) == {f"{2:016x}"}
    assert refused._value.get() == before + 2
