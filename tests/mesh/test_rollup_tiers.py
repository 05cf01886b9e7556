"""Rollup tiers: 10-second rows roll up into 1-minute and 10-minute ones, and every window reads
the same totals whichever tiers answer it, ragged ends included."""

import time
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext

from meshview.envoy.parser import LogParser
from meshview.mesh import actions, rollups
from meshview.traces.actions import store_spans
from meshview.traces.decode import decode_otlp_protobuf
from meshview.traces.pairing import settle
from tests import meshsim
from tests.graph import spansim

pytestmark = pytest.mark.django_db
NOW = time.time()
T0 = int(NOW - 3 * 3600) // 600 * 600  # three hours ago, on a 10-minute boundary
MINUTES = (0, 1, 7, 9, 10, 13, 24, 31, 32, 47)


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
    dimensions = family.dimensions[1:]
    return {tuple(r[d] for d in dimensions): r["n"] for r in fine.values(*dimensions).annotate(n=Sum("requests"
            if "requests" in family.measures else "calls"))}


def read(family: rollups.Family, start: int, end: int) -> dict:
    measure = "sum_requests" if "requests" in family.measures else "sum_calls"
    return {tuple(r[d] for d in family.dimensions[1:]): r[measure] for r in rollups.read(family, start, end, now=NOW)}


WINDOWS = [
    (T0, T0 + 3600),  # whole 10-minute buckets
    (T0 - 600, T0 + 50 * 60),
    (T0 + 15, T0 + 31 * 60 + 25),  # ragged at both ends, inside 10-second buckets
    (T0 + 60 * 7 + 30, T0 + 60 * 13),  # ragged start, minute end
    (T0 + 60, T0 + 61),
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
    with CaptureQueriesContext(connection) as queries:
        read(family, T0, T0 + 3600)
    tiers_read = queries.captured_queries[-1]["sql"]
    assert family.tiers[2]._meta.db_table in tiers_read  # the coarse tier answered


def test_traffic_that_arrives_after_its_buckets_were_rolled_up_still_counts() -> None:
    feed(minutes=(0, 20))
    rollups.roll_up(NOW)
    feed(minutes=(3, 20), second=41)  # late: logs of buckets the coarse tiers already hold
    rollups.roll_up(NOW)
    for family in rollups.FAMILIES:
        for window in WINDOWS:
            assert read(family, *window) == totals(family, *window), (family.name, window)


def test_each_tier_keeps_its_own_retention() -> None:
    from django.test import override_settings

    feed(minutes=(0, 1))
    rollups.roll_up(NOW)
    with override_settings(MESHVIEW_TRAFFIC_RETENTION_10S_SECONDS=3600):
        rollups.delete_expired(NOW)
        for family in rollups.FAMILIES:
            assert not family.tiers[0]._default_manager.exists()
            assert family.tiers[1]._default_manager.exists() and family.tiers[2]._default_manager.exists()
            # the expired 10-second tier is answered by the coarser one that holds it
            window = (T0, T0 + 120)
            assert sum(read(family, *window).values()) > 0
