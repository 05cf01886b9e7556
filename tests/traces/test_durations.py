"""Go duration strings as Jaeger's query parameters carry them."""

import pytest

from meshview.traces.durations import format_go_duration, parse_go_duration


@pytest.mark.parametrize(("text", "ns"), [
    ("0", 0), ("0s", 0), ("4500ns", 4500), ("300us", 300_000), ("300µs", 300_000), ("300μs", 300_000),
    ("1.5ms", 1_500_000), ("2s", 2_000_000_000), ("+2s", 2_000_000_000), (".5s", 500_000_000),
    ("5.s", 5_000_000_000), ("1h2m3.5s", 3_723_500_000_000), ("1m30s", 90_000_000_000),
    ("1.0000000009s", 1_000_000_000), ("2562047h47m16.854775807s", 2**63 - 1),
])
def test_parse_go_duration(text: str, ns: int) -> None:
    assert parse_go_duration(text) == ns


@pytest.mark.parametrize(("text", "message"), [
    ("", "empty"), ("-1s", "negative"), ("1", "not a Go duration"), ("1.5", "not a Go duration"),
    ("ms", "not a Go duration"), (".s", "not a Go duration"), ("1x", "unknown unit 'x'"),
    ("1 s", "unknown unit"), ("2562047h47m16.854775808s", "overflows"), ("99999999999h", "overflows"),
])
def test_parse_go_duration_refuses_with_a_clear_message(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_go_duration(text)


@pytest.mark.parametrize(("ns", "text"), [
    (0, "0s"), (1, "1ns"), (4500, "4.5µs"), (1_500_000, "1.5ms"), (2_000_000_000, "2s"),
    (120_000_000_000, "2m0s"), (3_600_000_000_000, "1h0m0s"), (3_723_500_000_000, "1h2m3.5s"),
    (1_000_000_001, "1.000000001s"), (-1_500, "-1.5µs"),
])
def test_format_go_duration_writes_what_go_writes(ns: int, text: str) -> None:
    assert format_go_duration(ns) == text


def test_formatted_durations_parse_back() -> None:
    for ns in (7, 12_345, 98_765_432, 3_723_500_000_001, 2**63 - 1):
        assert parse_go_duration(format_go_duration(ns)) == ns
