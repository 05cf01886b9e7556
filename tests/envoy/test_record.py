"""The canonical record's keys and the helpers ingestion uses on it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from meshview.envoy import CANONICAL_KEYS, RECORD_KEYS, LogParser, start_time_epoch_ms

from .helpers import record


def test_canonical_keys_are_istio_json_names() -> None:
    assert CANONICAL_KEYS == (
        "start_time",
        "method",
        "path",
        "protocol",
        "response_code",
        "response_flags",
        "response_code_details",
        "connection_termination_details",
        "upstream_transport_failure_reason",
        "bytes_received",
        "bytes_sent",
        "duration",
        "upstream_service_time",
        "x_forwarded_for",
        "user_agent",
        "request_id",
        "authority",
        "upstream_host",
        "upstream_cluster",
        "upstream_local_address",
        "downstream_local_address",
        "downstream_remote_address",
        "requested_server_name",
        "route_name",
    )
    assert (*CANONICAL_KEYS, "direction") == RECORD_KEYS


@pytest.mark.parametrize(
    ("start_time", "expected"),
    [
        ("1970-01-01T00:00:00.000Z", 0),
        ("2024-05-01T12:00:00.123Z", 1_714_564_800_123),
        ("2024-02-29T23:59:59.999Z", 1_709_251_199_999),
        (None, None),
        ("12:00:00", None),
    ],
)
def test_start_time_epoch_ms(start_time: str | None, expected: int | None) -> None:
    assert start_time_epoch_ms(record(start_time=start_time)) == expected


def test_start_time_epoch_ms_agrees_with_datetime_across_a_day() -> None:
    base = datetime(2024, 12, 31, 23, 0, 0, tzinfo=UTC)
    for step in range(0, 7200, 37):
        moment = base + timedelta(seconds=step, milliseconds=step % 1000)
        text = f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"
        assert start_time_epoch_ms({"start_time": text}) == int(moment.timestamp() * 1000)


def test_epoch_of_a_parsed_custom_start_time() -> None:
    parsed = LogParser("%START_TIME(%s.%3f)% %RESPONSE_CODE%").parse_line("1714564800.123 200")
    assert start_time_epoch_ms(parsed) == 1_714_564_800_123
