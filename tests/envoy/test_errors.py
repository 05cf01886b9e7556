"""Bad input: each rejected line says why, and a stream goes on past it."""

from __future__ import annotations

import time

import pytest

from meshview.envoy import MAX_LINE_LENGTH, LogParser, ParseError

from .test_layouts import ENVOY_LINE, ISTIO_1_24_INBOUND_LINE, ISTIO_1_24_INBOUND_RECORD


def reason(parser: LogParser, line: str) -> str:
    with pytest.raises(ParseError) as raised:
        parser.parse_line(line)
    return str(raised.value)


@pytest.mark.parametrize(
    "line",
    [
        "garbage",
        "GET /productpage HTTP/1.1 200",
        ISTIO_1_24_INBOUND_LINE[:150],
        ISTIO_1_24_INBOUND_LINE + " one-field-too-many",
        ISTIO_1_24_INBOUND_LINE.replace('"GET /productpage HTTP/1.1"', "GET /productpage HTTP/1.1"),
    ],
    ids=["garbage", "plain-request-line", "truncated", "extra-field", "unquoted-request"],
)
def test_lines_matching_no_layout(line: str) -> None:
    assert reason(LogParser("auto"), line) == "line does not match any known layout"
    assert reason(LogParser("istio-1.24"), line) == "line does not match the istio-1.24 format"


def test_custom_format_miss_is_named_generically() -> None:
    assert reason(LogParser("%RESPONSE_CODE% %DURATION%"), "200") == "line does not match the format"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (" 200 - via_upstream", " abc - via_upstream", "response_code is not an integer: 'abc'"),
        (" 0 5293 13 12 ", " 0 5.3k 13 12 ", "bytes_sent is not an integer: '5.3k'"),
        (" 0 5293 13 12 ", " 0 5293 -13 12 ", "duration is not an integer: '-13'"),
        (" 0 5293 13 12 ", " 0 5293 13 12ms ", "upstream_service_time is not an integer: '12ms'"),
        (" 200 - via_upstream", " 200 uh via_upstream", "response_flags has an unknown response flag: 'uh'"),
        (
            "[2024-05-01T12:00:00.123Z]",
            "[2024-05-01_noon]",
            "start_time is not an ISO-8601 timestamp: '2024-05-01_noon'",
        ),
        (
            "[2024-05-01T12:00:00.123Z]",
            "[2024-13-01T12:00:00.123Z]",
            "start_time is not an ISO-8601 timestamp: '2024-13-01T12:00:00.123Z'",
        ),
    ],
)
def test_bad_values_are_named(old: str, new: str, message: str) -> None:
    line = ISTIO_1_24_INBOUND_LINE.replace(old, new)
    assert line != ISTIO_1_24_INBOUND_LINE
    assert reason(LogParser("auto"), line) == message
    assert reason(LogParser("istio-1.24"), line) == message


def test_bad_value_in_an_older_layout_is_named_too() -> None:
    assert reason(LogParser("auto"), ENVOY_LINE.replace(" 204 ", " 2O4 ")) == "response_code is not an integer: '2O4'"


def test_overlong_line() -> None:
    line = ISTIO_1_24_INBOUND_LINE.replace("/productpage", "/" + "a" * MAX_LINE_LENGTH)
    assert reason(LogParser("auto"), line) == f"line longer than {MAX_LINE_LENGTH} characters"
    assert reason(LogParser("auto", max_line_length=100), ISTIO_1_24_INBOUND_LINE) == "line longer than 100 characters"
    assert reason(LogParser("json", max_line_length=10), '{"response_code": 200}') == "line longer than 10 characters"


@pytest.mark.parametrize("line", ["", "\n", "   \r\n", "2024-05-01T12:00:00.123456789Z "])
def test_empty_line(line: str) -> None:
    assert reason(LogParser("auto"), line) == "line is empty"


def test_quote_heavy_lines_fail_fast() -> None:
    # Quoted fields may hold quotes, so a line of nothing but quotes must not backtrack for ages.
    parser = LogParser("auto")
    for line in ('"' * 60_000, '[2024-05-01T12:00:00.123Z] "' + '" "' * 20_000, '" "x' * 15_000):
        started = time.perf_counter()
        with pytest.raises(ParseError):
            parser.parse_line(line)
        assert time.perf_counter() - started < 2


def test_stream_goes_on_past_bad_lines_and_skips_blank_ones() -> None:
    lines = [
        ISTIO_1_24_INBOUND_LINE,
        "",
        "garbage",
        "   \n",
        ISTIO_1_24_INBOUND_LINE.replace(" 200 - via_upstream", " abc - via_upstream"),
        '{"response_code": 200',
        "[1]",
        ISTIO_1_24_INBOUND_LINE + "\r\n",
    ]
    assert list(LogParser("auto").parse_lines(lines, start=10)) == [
        (10, ISTIO_1_24_INBOUND_RECORD, None),
        (12, None, "line does not match any known layout"),
        (14, None, "response_code is not an integer: 'abc'"),
        (15, None, "invalid JSON: Expecting ',' delimiter at column 22"),
        (16, None, "line does not match any known layout"),
        (17, ISTIO_1_24_INBOUND_RECORD, None),
    ]


def test_unknown_format_name() -> None:
    with pytest.raises(ValueError, match=r"unknown format 'istio-2\.0'"):
        LogParser("istio-2.0")
