"""The format compiler: operator forms, quoting, ``%%``, truncation and the ``extra`` dict."""

from __future__ import annotations

import pytest

from meshview.envoy import CompiledFormat, LogParser, ParseError
from meshview.envoy.formats import parse_format

from .helpers import record


def parse(fmt: str, line: str) -> dict:
    return LogParser(fmt).parse_line(line)


def test_parse_format_splits_literals_operators_and_percent_signs() -> None:
    assert parse_format('[%START_TIME(%s.%3f)%] "%REQ(X?Y):10%" 100%% %DURATION%') == [
        "[",
        ("START_TIME", "%s.%3f"),
        '] "',
        ("REQ", "X?Y"),
        '" 100% ',
        ("DURATION", None),
    ]


@pytest.mark.parametrize("fmt", ["%RESPONSE_CODE", "%response_code%", "%DURATION% 5% off", "no operators"])
def test_malformed_formats_are_refused(fmt: str) -> None:
    with pytest.raises(ValueError, match="command operator"):
        CompiledFormat(fmt)


def test_literal_percent() -> None:
    assert parse("%RESPONSE_CODE% 100%% %DURATION%", "200 100% 7") == record(response_code=200, duration=7)
    with pytest.raises(ParseError, match="does not match the format"):
        parse("%RESPONSE_CODE% 100%% %DURATION%", "200 100 7")


def test_request_header_fallback_and_truncation() -> None:
    fmt = '"%REQ(X-ENVOY-ORIGINAL-PATH?:PATH):10%" "%REQ(:AUTHORITY):5%" %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME):4%'
    assert parse(fmt, '"/productpa" "revie" 12') == record(
        path="/productpa", authority="revie", upstream_service_time=12
    )


@pytest.mark.parametrize(
    ("operator", "key"),
    [
        ("%REQ(:METHOD)%", "method"),
        ("%REQ(:PATH)%", "path"),
        ("%REQ(x-envoy-original-path?:path)%", "path"),
        ("%REQ(X-FORWARDED-FOR)%", "x_forwarded_for"),
        ("%REQ(USER-AGENT)%", "user_agent"),
        ("%REQ(X-REQUEST-ID)%", "request_id"),
        ("%REQ(:AUTHORITY?HOST)%", "authority"),
        ("%REQ(HOST)%", "authority"),
        ("%PROTOCOL%", "protocol"),
        ("%RESPONSE_CODE_DETAILS%", "response_code_details"),
        ("%CONNECTION_TERMINATION_DETAILS%", "connection_termination_details"),
        ("%UPSTREAM_TRANSPORT_FAILURE_REASON%", "upstream_transport_failure_reason"),
        ("%UPSTREAM_HOST%", "upstream_host"),
        ("%UPSTREAM_LOCAL_ADDRESS%", "upstream_local_address"),
        ("%DOWNSTREAM_LOCAL_ADDRESS%", "downstream_local_address"),
        ("%DOWNSTREAM_REMOTE_ADDRESS%", "downstream_remote_address"),
        ("%REQUESTED_SERVER_NAME%", "requested_server_name"),
        ("%ROUTE_NAME%", "route_name"),
    ],
)
def test_text_operators_fill_their_canonical_key(operator: str, key: str) -> None:
    assert parse(f"{operator} %RESPONSE_CODE%", "some-value 200") == record(**{key: "some-value"}, response_code=200)
    assert parse(f'"{operator}" %RESPONSE_CODE%', '"-" 200') == record(response_code=200)


@pytest.mark.parametrize(
    ("operator", "key"),
    [
        ("%RESPONSE_CODE%", "response_code"),
        ("%BYTES_RECEIVED%", "bytes_received"),
        ("%BYTES_SENT%", "bytes_sent"),
        ("%DURATION%", "duration"),
        ("%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%", "upstream_service_time"),
    ],
)
def test_count_operators_are_integers(operator: str, key: str) -> None:
    assert parse(f"{operator} %ROUTE_NAME%", "42 default") == record(**{key: 42}, route_name="default")
    assert parse(f"{operator} %ROUTE_NAME%", "- default") == record(route_name="default")
    with pytest.raises(ParseError, match=f"^{key} is not an integer: 'x42'$"):
        parse(f"{operator} %ROUTE_NAME%", "x42 default")


def test_response_flags_short_and_long() -> None:
    assert parse("%RESPONSE_FLAGS% %RESPONSE_CODE%", "URX,UF,DC 503")["response_flags"] == ["DC", "UF", "URX"]
    assert parse("%RESPONSE_FLAGS% %RESPONSE_CODE%", "- 200")["response_flags"] == []
    long_line = "UpstreamRetryLimitExceeded,UpstreamConnectionFailure,NoRouteFound 503"
    assert parse("%RESPONSE_FLAGS_LONG% %RESPONSE_CODE%", long_line)["response_flags"] == ["NR", "UF", "URX"]
    assert parse("%RESPONSE_FLAGS_LONG% %RESPONSE_CODE%", "- 200")["response_flags"] == []


def test_a_format_without_flags_leaves_them_unset() -> None:
    assert parse("%RESPONSE_CODE%", "200")["response_flags"] is None


def test_upstream_cluster_loses_the_stats_suffix_and_the_raw_name_does_not() -> None:
    assert parse("%UPSTREAM_CLUSTER% %RESPONSE_CODE%", "outbound|80||web.shop.svc.cluster.local; 200") == record(
        upstream_cluster="outbound|80||web.shop.svc.cluster.local", response_code=200, direction="outbound"
    )
    assert parse('"%UPSTREAM_CLUSTER%"', '"inbound|8080||;"') == record(
        upstream_cluster="inbound|8080||", direction="inbound"
    )
    assert parse("%UPSTREAM_CLUSTER_RAW%", "inbound|8080||") == record(
        upstream_cluster="inbound|8080||", direction="inbound"
    )


@pytest.mark.parametrize(
    ("spec", "value", "expected"),
    [
        ("%s", "1714564800", "2024-05-01T12:00:00.000Z"),
        ("%s.%3f", "1714564800.123", "2024-05-01T12:00:00.123Z"),
        ("%s.%6f", "1714564800.123456", "2024-05-01T12:00:00.123Z"),
        ("%s.%9f", "1714564800.987654321", "2024-05-01T12:00:00.987Z"),
        ("%s.%f", "1714564800.000000001", "2024-05-01T12:00:00.000Z"),
        ("%Y-%m-%dT%H:%M:%S%z", "2024-05-01T14:30:00+0200", "2024-05-01T12:30:00.000Z"),
        ("%Y-%m-%dT%H:%M:%S.%3f%z", "2024-05-01T07:30:00.250-04:30", "2024-05-01T12:00:00.250Z"),
        ("%Y-%m-%dT%H:%M:%SZ", "2024-05-01T12:00:09Z", "2024-05-01T12:00:09.000Z"),
        ("%FT%T.%6fZ", "2024-05-01T12:00:09.000999Z", "2024-05-01T12:00:09.000Z"),
        ("%d/%b/%Y:%H:%M:%S %z", "01/May/2024:12:00:00 +0000", "2024-05-01T12:00:00.000Z"),
        ("%a, %d %B %Y %H:%M:%S %Z", "Wed, 01 May 2024 12:00:00 UTC", "2024-05-01T12:00:00.000Z"),
        ("%Y/%m/%d %H:%M", "2024/05/01 12:00", "2024-05-01T12:00:00.000Z"),
        ("%H:%M:%S", "12:00:00", "12:00:00"),
        ("%Y-%j %H:%M", "2024-122 12:00", "2024-122 12:00"),
    ],
)
def test_start_time_with_a_strftime_argument(spec: str, value: str, expected: str) -> None:
    fmt = f"[%START_TIME({spec})%] %RESPONSE_CODE%"
    assert parse(fmt, f"[{value}] 200") == record(start_time=expected, response_code=200)


def test_start_time_default_form_is_kept_and_a_wrong_one_named() -> None:
    assert parse("[%START_TIME%] %RESPONSE_CODE%", "[2024-05-01T12:00:00.123Z] 200")["start_time"] == (
        "2024-05-01T12:00:00.123Z"
    )
    # Not Envoy's own form, but an ISO-8601 time all the same: normalized.
    assert parse("[%START_TIME%] %RESPONSE_CODE%", "[2024-05-01T14:00:00.123456+02:00] 200")["start_time"] == (
        "2024-05-01T12:00:00.123Z"
    )
    with pytest.raises(ParseError, match=r"^start_time is not an ISO-8601 timestamp: 'yesterday'$"):
        parse("[%START_TIME%] %RESPONSE_CODE%", "[yesterday] 200")
    with pytest.raises(ParseError, match=r"^start_time is not a valid time: '2024-13-01 10:00'$"):
        parse("%START_TIME(%Y-%m-%d %H:%M)%", "2024-13-01 10:00")


def test_quoted_fields_hold_blanks_commas_and_quotes() -> None:
    fmt = '"%REQ(USER-AGENT)%" "%DOWNSTREAM_PEER_SUBJECT%" %RESPONSE_CODE%'
    line = '"Mozilla/5.0 (compatible; "bot", v2)" "CN=client, O=Example\\, Inc" 200'
    assert parse(fmt, line) == record(
        user_agent='Mozilla/5.0 (compatible; "bot", v2)',
        response_code=200,
        extra={"downstream_peer_subject": "CN=client, O=Example\\, Inc"},
    )


def test_quoted_dash_is_unset_but_a_value_starting_with_dash_is_kept() -> None:
    fmt = '"%REQ(USER-AGENT)%" %UPSTREAM_HOST% %RESPONSE_CODE%'
    assert parse(fmt, '"-" - 200') == record(response_code=200)
    assert parse(fmt, '"-x" -y 200') == record(user_agent="-x", upstream_host="-y", response_code=200)
    assert parse(fmt, '"" - 200') == record(user_agent="", response_code=200)


def test_other_operators_go_to_extra_under_their_lowercased_names() -> None:
    fmt = (
        "%GRPC_STATUS% %GRPC_STATUS(NUMBER)% %GRPC_STATUS(SNAKE_STRING)% %REQUEST_DURATION% %RESPONSE_DURATION% "
        "%UPSTREAM_REQUEST_ATTEMPT_COUNT% %CONNECTION_ID% %HOSTNAME% %UPSTREAM_PROTOCOL% "
        "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% %DOWNSTREAM_DIRECT_REMOTE_ADDRESS% %DOWNSTREAM_PEER_URI_SAN% "
        "%DYNAMIC_METADATA(istio.peer:name):20% %FILTER_STATE(istio.downstream_peer:FIELD:workload)% "
        "%TRAILER(GRPC-MESSAGE)% %REQ(X-B3-TRACEID)% %SOME_FUTURE_OPERATOR% %RESPONSE_CODE%"
    )
    line = (
        "Unavailable 14 UNAVAILABLE 3 8 2 4411 istio-ingressgateway-7d4f8c9b6-abcde HTTP/2 10.244.0.1 "
        "10.244.0.1:43120 spiffe://cluster.local/ns/default/sa/bookinfo-productpage productpage-v1 "
        "productpage-v1 - 463ac35c9f6413ad48485a3953bb6124 whatever 503"
    )
    parsed = parse(fmt, line)
    assert parsed == record(
        response_code=503,
        extra={
            "grpc_status": "Unavailable",
            "grpc_status(NUMBER)": 14,
            "grpc_status(SNAKE_STRING)": "UNAVAILABLE",
            "request_duration": 3,
            "response_duration": 8,
            "upstream_request_attempt_count": 2,
            "connection_id": 4411,
            "hostname": "istio-ingressgateway-7d4f8c9b6-abcde",
            "upstream_protocol": "HTTP/2",
            "downstream_remote_address_without_port": "10.244.0.1",
            "downstream_direct_remote_address": "10.244.0.1:43120",
            "downstream_peer_uri_san": "spiffe://cluster.local/ns/default/sa/bookinfo-productpage",
            "dynamic_metadata(istio.peer:name)": "productpage-v1",
            "filter_state(istio.downstream_peer:FIELD:workload)": "productpage-v1",
            "trailer(GRPC-MESSAGE)": None,
            "req(X-B3-TRACEID)": "463ac35c9f6413ad48485a3953bb6124",
            "some_future_operator": "whatever",
        },
    )


def test_extra_integers_are_checked() -> None:
    with pytest.raises(ParseError, match=r"^request_duration is not an integer: 'soon'$"):
        parse("%REQUEST_DURATION% %RESPONSE_CODE%", "soon 200")


def test_mixer_status_is_matched_and_dropped() -> None:
    parsed = parse(
        '%RESPONSE_CODE% "%DYNAMIC_METADATA(istio.mixer:status)%" %DURATION%', '403 "PERMISSION_DENIED:denied" 1'
    )
    assert parsed == record(response_code=403, duration=1)


def test_a_second_operator_for_a_filled_key_is_dropped() -> None:
    assert parse("%REQ(:PATH)% %REQ(X-ENVOY-ORIGINAL-PATH)% %RESPONSE_CODE%", "/a /b 200") == record(
        path="/a", response_code=200
    )


def test_adjacent_and_bracketed_operators() -> None:
    assert parse("%RESPONSE_CODE%%RESPONSE_FLAGS%", "503UH") == record(response_code=503, response_flags=["UH"])
    assert parse("<%UPSTREAM_HOST%>|%ROUTE_NAME%", "<10.0.0.1:80>|default") == record(
        upstream_host="10.0.0.1:80", route_name="default"
    )


def test_a_format_string_given_to_the_parser_keeps_prefix_and_whitespace_handling() -> None:
    parser = LogParser("%RESPONSE_CODE% %DURATION%\n")
    assert parser.parse_line("[pod/web-0/istio-proxy] 200 5 \r\n") == record(response_code=200, duration=5)
