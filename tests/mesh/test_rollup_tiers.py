"""Rollup tiers: 10-second rows roll up into 1-minute, 10-minute, hourly and daily ones, and
every window reads the same totals whichever tiers answer it, ragged ends included."""

import itertools
import secrets
import time
from datetime import UTC, datetime

import pytest
from django.db import connection, transaction
from django.db.models import Q, Sum
from django.test.utils import CaptureQueriesContext

from meshview.envoy.parser import LogParser
from meshview.mesh import actions, rollups
from meshview.mesh.models import RollupPast, RollupRevision, RollupWatermark
from meshview.traces.actions import store_spans
from meshview.traces.decode import decode_otlp_protobuf
from meshview.traces.pairing import settle
from tests import meshsim
from tests.graph import spansim

pytestmark = pytest.mark.django_db
NOW = time.time()
DAY = 86400
MIDNIGHT = int(NOW) // DAY * DAY - 2 * DAY  # the start of the day before yesterday (UTC): every tier holds it
T0 = MIDNIGHT - 30 * 60  # half an hour before it, on a 10-minute boundary
# Minutes after T0: across the midnight, a few hours later, and just before the next midnight.
MINUTES = (0, 1, 7, 9, 10, 13, 24, 31, 32, 47, 95, 6 * 60 + 2, 24 * 60 + 25, 24 * 60 + 29)


@pytest.fixture(autouse=True)
def _fine_tiers_kept(settings) -> None:
    """Every tier keeps the fixture's days, so that only the watermarks decide what is read."""
    settings.MESHVIEW_TRAFFIC_RETENTION_10S_SECONDS = 7 * DAY


def feed(minutes: tuple[int, ...] = MINUTES, second: int = 17) -> None:
    """The Bookinfo minute at each of `minutes` after T0 (plus `second`), as access logs and spans."""
    for minute in minutes:
        calls = meshsim.bookinfo_calls(datetime.fromtimestamp(T0 + minute * 60 + second, UTC))
        actions.ingest_envoy_lines(list(meshsim.envoy_envelopes(calls)), "ndjson", LogParser("auto"), None)
        store_spans(decode_otlp_protobuf(spansim.render(calls).SerializeToString()))
    actions.settle_expired(now=NOW + 3600)
    settle(NOW + 3600)


def totals(family: rollups.Family, start: int, end: int) -> dict:
    """The window's totals per key, from the 10-second tier alone: what every read must give."""
    fine = family.tiers[0]._default_manager.filter(bucket__gte=start, bucket__lt=end)
    dimensions = [f"key__{d}" for d in family.key_dimensions]
    return {tuple(r[d] for d in dimensions): r["n"] for r in fine.values(*dimensions).annotate(n=Sum("requests"
            if "requests" in family.measures else "calls"))}


def read(family: rollups.Family, start: int, end: int) -> dict:
    measure = family.measures[0]  # requests, or calls for dependencies
    return {row[:-1]: row[-1] for row in rollups.read(family, start, end, measures=(measure,), now=NOW)}


WINDOWS = [
    (MIDNIGHT, MIDNIGHT + DAY),  # a whole day
    (MIDNIGHT, MIDNIGHT + 3600),  # a whole hour
    (T0, T0 + 3600),  # whole 10-minute buckets
    (T0 - 600, T0 + 50 * 60),
    (T0 + 15, T0 + 31 * 60 + 25),  # ragged at both ends, inside 10-second buckets
    (T0 + 60 * 7 + 30, T0 + 60 * 13),  # ragged start, minute end
    (T0 + 60, T0 + 61),
    (T0 + 10, MIDNIGHT + DAY + 25 * 60 + 30),  # a day, an hour, 10 minutes, minutes and seconds at each end
    (T0 - DAY, T0 + 2 * DAY),  # beyond the traffic at both ends
]


@pytest.mark.parametrize("family", rollups.FAMILIES, ids=lambda f: f.name)
def test_every_tier_gives_the_same_totals_and_ragged_ends_are_exact(family: rollups.Family) -> None:
    feed()
    expected = {window: totals(family, *window) for window in WINDOWS}
    assert expected[WINDOWS[0]], "the fixture produced no traffic"
    for window in WINDOWS:
        assert read(family, *window) == expected[window]  # the 10-second tier alone

    assert rollups.roll_up(NOW) > 0

    for tier in family.tiers:
        total = tier._default_manager.aggregate(n=Sum(family.measures[0]))["n"]
        assert total == family.tiers[0]._default_manager.aggregate(n=Sum(family.measures[0]))["n"], tier
    for window in WINDOWS:
        with CaptureQueriesContext(connection) as queries:
            assert read(family, *window) == expected[window], window
        assert len(queries) == 2
    for window, tier in (((MIDNIGHT, MIDNIGHT + DAY), 4), ((MIDNIGHT, MIDNIGHT + 3600), 3), ((T0, T0 + 3600), 2)):
        with CaptureQueriesContext(connection) as queries:
            read(family, *window)
        tables = [t._meta.db_table for t in family.tiers]
        read_from = {t for t in tables if f'"{t}"' in queries.captured_queries[1]["sql"]}
        assert read_from == {tables[tier]}, window  # the coarsest tier that fits answered alone


def test_traffic_that_arrives_after_its_buckets_were_rolled_up_still_counts() -> None:
    feed(minutes=(0, 20))
    rollups.roll_up(NOW)
    feed(minutes=(3, 20), second=41)  # late: logs of buckets the coarse tiers already hold
    rollups.roll_up(NOW)
    for family in rollups.FAMILIES:
        for window in WINDOWS:
            assert read(family, *window) == totals(family, *window), (family.name, window)


@pytest.mark.parametrize("tier", range(len(rollups.RESOLUTIONS)), ids=lambda t: f"{rollups.RESOLUTIONS[t]}s")
def test_each_tier_keeps_its_own_retention(tier: int, settings) -> None:
    names = ("10S", "1M", "10M", "1H", "1D")
    feed(minutes=(0, 1))
    rollups.roll_up(NOW)
    window = (T0, T0 + 120)
    expected = {family.name: read(family, *window) for family in rollups.FAMILIES}
    setattr(settings, f"MESHVIEW_TRAFFIC_RETENTION_{names[tier]}_SECONDS", 3600)
    rollups.delete_expired(NOW)
    for family in rollups.FAMILIES:
        kept = [t._default_manager.exists() for t in family.tiers]
        assert kept == [level != tier for level in range(len(family.tiers))], family.name
        assert family.keys._default_manager.exists(), family.name  # the other tiers still name them
        # the expired tier's part of the window is answered by another that holds it
        assert read(family, *window) == expected[family.name]


def test_no_tier_outlives_the_overall_retention(settings) -> None:
    feed(minutes=(0, 1))
    rollups.roll_up(NOW)
    settings.MESHVIEW_TRAFFIC_RETENTION_SECONDS = 3600
    rollups.delete_expired(NOW)
    for family in rollups.FAMILIES:
        assert not any(t._default_manager.exists() for t in family.tiers), family.name
        assert not family.keys._default_manager.exists(), family.name  # no row names them any more


@pytest.fixture
def _watermarks() -> None:
    """The watermarks and revisions the migrations create, which a flush of the database (after
    each test that commits) deleted."""
    RollupWatermark.objects.bulk_create(
        [RollupWatermark(family=f.name, resolution=r) for f in rollups.FAMILIES for r in rollups.RESOLUTIONS],
        ignore_conflicts=True,
    )
    RollupRevision.objects.bulk_create(
        [RollupRevision(family=f.name, revision=secrets.randbits(63)) for f in rollups.FAMILIES], ignore_conflicts=True
    )


def fresh(family: rollups.Family, start: int, end: int) -> dict:
    """What `read` gives without the sums it keeps: inside a transaction it keeps none."""
    with transaction.atomic():
        return read(family, start, end)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_watermarks")
@pytest.mark.parametrize("family", rollups.FAMILIES, ids=lambda f: f.name)
def test_a_live_window_moving_on_reads_what_a_fresh_read_gives(family: rollups.Family) -> None:
    feed()
    rollups.roll_up(NOW)
    # Minutes across 10-minute and hourly boundaries, ten seconds at a time: buckets enter and
    # leave what the process kept, and keys with them.
    for end in range(T0 + 50 * 60, T0 + 130 * 60, 10):
        assert read(family, end - 3600, end) == fresh(family, end - 3600, end), end
    # The same window again reads nothing but the watermarks.
    expected = fresh(family, end - 3600, end)
    with CaptureQueriesContext(connection) as queries:
        assert read(family, end - 3600, end) == expected
    assert len(queries) == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_watermarks")
def test_what_a_reader_kept_of_the_past_gives_way_to_late_rows_and_expiry(settings) -> None:
    family, window = rollups.TRAFFIC, (T0, T0 + 25 * 60)
    feed(minutes=(0, 20))
    rollups.roll_up(NOW)
    before = read(family, *window)
    assert before == fresh(family, *window)
    feed(minutes=(3, 20), second=41)  # late: the 10-minute and hourly tiers already hold those buckets
    after = read(family, *window)
    assert after != before
    assert after == fresh(family, *window) == totals(family, *window)
    # Every tier loses the window's buckets: the hour and the day that hold it ended half an
    # hour after T0.
    settings.MESHVIEW_TRAFFIC_RETENTION_SECONDS = int(NOW) - (T0 + 1800) - rollups.RETENTION_GRACE_SECONDS
    rollups.delete_expired(NOW)
    expired = fresh(family, *window)
    assert expired != after
    assert read(family, *window) == expired


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_watermarks")
def test_a_live_window_adds_the_buckets_not_rolled_up_yet() -> None:
    family = rollups.TRAFFIC
    feed()
    rollups.roll_up(NOW)
    recent = datetime.fromtimestamp(NOW - 15, UTC)  # after the 1-minute watermark
    calls = meshsim.bookinfo_calls(recent)
    actions.ingest_envoy_lines(list(meshsim.envoy_envelopes(calls)), "ndjson", LogParser("auto"), None)
    actions.settle_expired(now=NOW + 3600)
    window = (int(NOW) - 3 * DAY, int(NOW) + 10)
    assert read(family, *window) == fresh(family, *window) == totals(family, *window)
    actions.ingest_envoy_lines(list(meshsim.envoy_envelopes(calls)), "ndjson", LogParser("auto"), None)
    actions.settle_expired(now=NOW + 3600)
    assert read(family, *window) == fresh(family, *window) == totals(family, *window)


def roll_up_until(horizon: int) -> None:
    """Run the roll-up task at the moment its horizon (up to where it rolls up) is `horizon`."""
    rollups.roll_up(horizon + rollups.rollup_lag_seconds())


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_watermarks")
def test_a_live_window_reads_only_the_time_that_entered_it() -> None:
    family = rollups.TRAFFIC
    window = (T0, T0 + 25 * 60)
    feed()
    tables = [tier._meta.db_table for tier in family.tiers]
    # The window's past: a 10-minute bucket, 9 minutes, then 30 seconds of 10-second rows.
    roll_up_until(T0 + 19 * 60 + 30)
    assert read(family, *window) == fresh(family, *window)
    # A minute later those minutes are in the next 10-minute bucket: the read adds the minute
    # that entered the past (10-second rows: its minute bucket is not complete) and reads none
    # of what it kept, whichever tier now holds it.
    roll_up_until(T0 + 20 * 60 + 30)
    expected = fresh(family, *window)
    assert expected == totals(family, *window)
    with CaptureQueriesContext(connection) as queries:
        assert read(family, *window) == expected
    summed = queries.captured_queries[-1]["sql"]
    assert f'"{tables[0]}"' in summed
    assert not any(f'"{table}"' in summed for table in tables[1:])


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_watermarks")
def test_live_windows_each_move_their_own_past_on_whatever_else_is_read() -> None:
    # Two live views of the same graph, over 25 minutes and over 85, refreshed in turn, and a
    # look at 25 minutes that ended before them.
    family = rollups.TRAFFIC
    tables = [tier._meta.db_table for tier in family.tiers]
    feed()
    roll_up_until(T0 + 19 * 60 + 30)
    for minutes in (25, 85):
        assert read(family, T0 + 25 * 60 - minutes * 60, T0 + 25 * 60) == fresh(family, T0 + 25 * 60 - minutes * 60,
                                                                            T0 + 25 * 60)
    earlier = (T0 - 15 * 60, T0 + 10 * 60)
    assert read(family, *earlier) == fresh(family, *earlier)
    # Ten seconds later each reads the ten seconds that entered and left it, from the 10-second
    # tier, not the hour that lies between the two windows' starts.
    roll_up_until(T0 + 19 * 60 + 40)
    for minutes in (25, 85):
        window = (T0 + 25 * 60 + 10 - minutes * 60, T0 + 25 * 60 + 10)
        expected = fresh(family, *window)
        with CaptureQueriesContext(connection) as queries:
            assert read(family, *window) == expected
        summed = queries.captured_queries[-1]["sql"]
        assert f'"{tables[0]}"' in summed, minutes
        assert not any(f'"{table}"' in summed for table in tables[1:]), minutes


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_watermarks")
def test_a_long_connection_counts_when_it_closed_and_changes_no_settled_past() -> None:
    # A database pool's TCP connection that stayed open ten minutes, logged by both proxies when
    # it closed: it counts then, as Istio's metrics count a request when it completes, and so it
    # is not late for its bucket and what live readers kept of the past stays theirs.
    family = rollups.TRAFFIC
    rollups.roll_up(NOW)
    revision = RollupRevision.objects.get(family=family.name).revision
    opened = datetime.fromtimestamp(NOW - 600, UTC)
    connection_ = meshsim.Call(meshsim.RATINGS, meshsim.SERVICES["mongodb"], meshsim.MONGODB, protocol="tcp",
                               duration_ms=599_000, start=opened)
    actions.ingest_envoy_lines(list(meshsim.envoy_envelopes([connection_])), "ndjson", LogParser("auto"), None)
    actions.settle_expired(now=NOW + 3600)
    buckets = set(family.tiers[0]._default_manager.values_list("bucket", flat=True))
    assert buckets and min(buckets) >= rollups.bucket_of(NOW - 10), buckets
    assert RollupRevision.objects.get(family=family.name).revision == revision


@pytest.mark.parametrize("overall", ["7d", "30d"])
def test_a_window_reads_each_moment_once_and_no_bucket_retention_may_have_deleted(overall: str, settings) -> None:
    # Kiali's windows up to 30 days, read now and from the past, with the default tiers'
    # retentions: where the fine tiers expired before the coarse ones, a coarse bucket answers
    # for its time alone.
    settings.MESHVIEW_TRAFFIC_RETENTION_SECONDS = {"7d": 7 * DAY, "30d": 30 * DAY}[overall]
    resolutions = rollups.RESOLUTIONS
    for index in range(3000):
        now = int(NOW) + index * 7919
        horizon = now - rollups.rollup_lag_seconds()
        until = {r: horizon // r * r for r in resolutions}
        back = (index * 4241) % (40 * DAY) if index % 3 else 0
        length = (60, 600, 3600, DAY, 7 * DAY, 30 * DAY, (index * 6007) % (30 * DAY) + 10)[index % 7]
        lo, hi = rollups._ceil(now - back - length, 10), rollups._ceil(now - back, 10)
        pieces = sorted(rollups._plan(lo, hi, until, now), key=lambda piece: piece[1])
        assert pieces[0][1] <= lo and pieces[-1][2] >= hi, (now, back, length)
        for (_, _, end), (_, first, _) in itertools.pairwise(pieces):
            assert end == first, (now, back, length, pieces)  # no gap, no moment read twice
        for level, first, _ in pieces:
            coarser = resolutions[min(level + 1, len(resolutions) - 1)]
            coarser_holds = level < len(resolutions) - 1 and rollups._ceil(first + 1, coarser) <= until[coarser]
            deleted = first < rollups._kept_from(resolutions[level], now)
            assert not (deleted and coarser_holds), (now, back, length, pieces)


def test_retention_deletes_a_bucket_once_it_ended_a_retention_ago(settings) -> None:
    feed(minutes=(0,))
    bucket = T0 + 10  # the minute's traffic, second 17
    settings.MESHVIEW_TRAFFIC_RETENTION_10S_SECONDS = 3600
    kept_for = 3600 + rollups.RETENTION_GRACE_SECONDS
    rollups.delete_expired(bucket + kept_for + 9)  # the bucket started a retention ago, and ends a second later
    assert rollups.TRAFFIC.tiers[0]._default_manager.filter(bucket=bucket).exists()
    rollups.delete_expired(bucket + kept_for + 10)
    assert not rollups.TRAFFIC.tiers[0]._default_manager.filter(bucket=bucket).exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_watermarks")
@pytest.mark.parametrize("family", rollups.FAMILIES, ids=lambda f: f.name)
def test_a_process_that_kept_nothing_starts_from_the_past_the_beat_task_stored(family: rollups.Family) -> None:
    feed()
    rollups.roll_up(NOW)
    stored_at = MIDNIGHT + DAY + 60  # just after the fixture's last minute
    # Kiali's durations from an hour up to the retention's 7 days, for every family.
    assert rollups.keep_pasts(stored_at) == len(rollups.FAMILIES) * 6
    read_at = stored_at + 25
    measure = family.measures[0]
    tables = [tier._meta.db_table for tier in family.tiers]
    for seconds in (3600, DAY, 7 * DAY):
        window = (read_at - seconds, read_at)
        with transaction.atomic():  # keeps nothing
            expected = sorted(rollups.read(family, *window, measures=(measure,), now=read_at))
        assert {row[:-1]: row[-1] for row in expected} == totals(family, *window)
        rollups._PASTS.clear()  # a process that kept nothing
        with CaptureQueriesContext(connection) as queries:
            assert sorted(rollups.read(family, *window, measures=(measure,), now=read_at)) == expected
        # The stored past, then only the 10-second buckets that entered and left it since.
        assert "mesh_rollup_past" in queries.captured_queries[1]["sql"]
        summed = queries.captured_queries[-1]["sql"]
        assert not any(f'"{table}"' in summed for table in tables[1:]), seconds

    # Narrowed to the keys and measures a reader asks for.
    if family is rollups.TRAFFIC:
        window = (read_at - DAY, read_at)
        where = Q(destination_workload="reviews-v2")
        rollups._PASTS.clear()
        narrowed = sorted(rollups.read(family, *window, where, measures=("bytes_sent",), now=read_at))
        with transaction.atomic():
            assert narrowed == sorted(rollups.read(family, *window, where, measures=("bytes_sent",), now=read_at))
        assert 0 < len(narrowed) < len(expected)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_watermarks")
def test_a_stored_past_gives_way_to_late_rows() -> None:
    family, stored_at = rollups.TRAFFIC, MIDNIGHT + DAY + 60
    window = (stored_at - DAY, stored_at)
    feed()
    rollups.roll_up(NOW)
    rollups.keep_pasts(stored_at)
    feed(minutes=(95,), second=41)  # late: every coarse tier already holds that minute
    rollups._PASTS.clear()
    assert read(family, *window) == fresh(family, *window) == totals(family, *window)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_watermarks")
def test_pasts_are_stored_only_of_windows_and_families_they_serve(monkeypatch, settings) -> None:
    feed(minutes=(0, 1))
    assert rollups.keep_pasts(T0 + 120) == 0  # nothing is settled before the first roll-up
    rollups.roll_up(NOW)
    assert rollups.keep_pasts(T0 + 120) == len(rollups.FAMILIES) * 6
    # None of a window longer than the retention.
    settings.MESHVIEW_TRAFFIC_RETENTION_SECONDS = DAY
    assert rollups.keep_pasts(T0 + 130) == len(rollups.FAMILIES) * 5
    assert not RollupPast.objects.filter(seconds=7 * DAY).exists()
    # None of a family with more keys than a process keeps pasts of.
    keys = rollups.TRAFFIC.keys._default_manager.count()
    monkeypatch.setattr(rollups, "_PAST_KEYS_KEPT", keys - 1)
    assert rollups.keep_pasts(T0 + 150) == (len(rollups.FAMILIES) - 1) * 5
    assert not RollupPast.objects.filter(family="traffic").exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_watermarks")
def test_a_row_behind_the_ten_second_watermark_changes_what_a_reader_kept() -> None:
    family, window = rollups.TRAFFIC, (T0, T0 + 25 * 60)
    feed(minutes=(0, 20))
    roll_up_until(T0 + 20 * 60 + 50)  # the past ends at 20:50; the minute tier is complete up to 20:00
    before = read(family, *window)
    assert before == fresh(family, *window)
    feed(minutes=(20,), second=41)  # into the bucket of 20:40, which only the 10-second tier holds
    after = read(family, *window)
    assert after != before
    assert after == fresh(family, *window) == totals(family, *window)
