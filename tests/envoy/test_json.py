"""JSON encodings: Istio's string-typed and typed records, Envoy Gateway's keys, custom key sets."""

from __future__ import annotations

import json

import pytest

from meshview.envoy import JsonFormat, LogParser, ParseError, parse_json_line, parse_json_record

from .helpers import FIXTURES, record

STRING_TYPED = {
    "authority": "reviews:9080",
    "bytes_received": "0",
    "bytes_sent": "295",
    "downstream_local_address": "10.96.3.4:9080",
    "downstream_remote_address": "10.244.1.7:47210",
    "duration": "12",
    "istio_policy_status": "-",
    "method": "GET",
    "path": "/reviews/0",
    "protocol": "HTTP/1.1",
    "request_id": "3e4f5a6b-7c8d-4e9f-8a0b-1c2d3e4f5a6b",
    "requested_server_name": "-",
    "response_code": "503",
    "response_flags": "URX,UF",
    "route_name": "default",
    "start_time": "2020-06-01T10:00:00.123Z",
    "upstream_cluster": "outbound|9080|v2|reviews.default.svc.cluster.local",
    "upstream_host": "10.244.2.8:9080",
    "upstream_local_address": "10.244.1.7:39876",
    "upstream_service_time": "-",
    "upstream_transport_failure_reason": "-",
    "user_agent": "python-requests/2.22.0",
    "x_forwarded_for": "-",
}
STRING_TYPED_RECORD = record(
    start_time="2020-06-01T10:00:00.123Z",
    method="GET",
    path="/reviews/0",
    protocol="HTTP/1.1",
    response_code=503,
    response_flags=["UF", "URX"],
    bytes_received=0,
    bytes_sent=295,
    duration=12,
    user_agent="python-requests/2.22.0",
    request_id="3e4f5a6b-7c8d-4e9f-8a0b-1c2d3e4f5a6b",
    authority="reviews:9080",
    upstream_host="10.244.2.8:9080",
    upstream_cluster="outbound|9080|v2|reviews.default.svc.cluster.local",
    upstream_local_address="10.244.1.7:39876",
    downstream_local_address="10.96.3.4:9080",
    downstream_remote_address="10.244.1.7:47210",
    route_name="default",
    direction="outbound",
)

TYPED = {
    "start_time": "2024-05-01T12:00:00.123Z",
    "route_name": "default",
    "method": "GET",
    "path": "/productpage",
    "protocol": "HTTP/1.1",
    "response_code": 200,
    "response_flags": "-",
    "response_code_details": "via_upstream",
    "connection_termination_details": None,
    "bytes_received": 0,
    "bytes_sent": 5293,
    "duration": 13,
    "upstream_service_time": "12",
    "x_forwarded_for": "10.244.0.1",
    "user_agent": "curl/8.5.0",
    "request_id": "2b9f0c1e-7d2a-4a7e-9f0e-1a2b3c4d5e6f",
    "authority": "bookinfo.example.com",
    "upstream_host": "10.244.0.12:9080",
    "upstream_cluster": "inbound|9080||",
    "upstream_local_address": "127.0.0.6:45611",
    "downstream_local_address": "10.244.0.12:9080",
    "downstream_remote_address": "10.244.0.1:0",
    "requested_server_name": "outbound_.9080_._.productpage.default.svc.cluster.local",
    "upstream_transport_failure_reason": None,
}
TYPED_RECORD = record(
    start_time="2024-05-01T12:00:00.123Z",
    method="GET",
    path="/productpage",
    protocol="HTTP/1.1",
    response_code=200,
    response_flags=[],
    response_code_details="via_upstream",
    bytes_received=0,
    bytes_sent=5293,
    duration=13,
    upstream_service_time=12,
    x_forwarded_for="10.244.0.1",
    user_agent="curl/8.5.0",
    request_id="2b9f0c1e-7d2a-4a7e-9f0e-1a2b3c4d5e6f",
    authority="bookinfo.example.com",
    upstream_host="10.244.0.12:9080",
    upstream_cluster="inbound|9080||",
    upstream_local_address="127.0.0.6:45611",
    downstream_local_address="10.244.0.12:9080",
    downstream_remote_address="10.244.0.1:0",
    requested_server_name="outbound_.9080_._.productpage.default.svc.cluster.local",
    route_name="default",
    direction="inbound",
)

ENVOY_GATEWAY = {
    ":authority": "www.example.com",
    "bytes_received": 0,
    "bytes_sent": 12,
    "connection_termination_details": None,
    "downstream_local_address": "10.244.0.30:10080",
    "downstream_remote_address": "172.18.0.1:51554",
    "duration": 3,
    "method": "GET",
    "protocol": "HTTP/1.1",
    "requested_server_name": None,
    "response_code": 200,
    "response_code_details": "via_upstream",
    "response_flags": "-",
    "route_name": "httproute/default/backend/rule/0/match/0/www_example_com",
    "start_time": "2024-05-01T12:00:00.321Z",
    "upstream_cluster": "httproute/default/backend/rule/0",
    "upstream_host": "10.244.0.28:3000",
    "upstream_local_address": "10.244.0.30:38818",
    "upstream_transport_failure_reason": None,
    "user-agent": "curl/8.5.0",
    "x-envoy-origin-path": "/get",
    "x-envoy-upstream-service-time": "2",
    "x-forwarded-for": "172.18.0.1",
    "x-request-id": "4c5d6e7f-8a9b-4c0d-9e1f-2a3b4c5d6e7f",
}
ENVOY_GATEWAY_RECORD = record(
    start_time="2024-05-01T12:00:00.321Z",
    method="GET",
    path="/get",
    protocol="HTTP/1.1",
    response_code=200,
    response_flags=[],
    response_code_details="via_upstream",
    bytes_received=0,
    bytes_sent=12,
    duration=3,
    upstream_service_time=2,
    x_forwarded_for="172.18.0.1",
    user_agent="curl/8.5.0",
    request_id="4c5d6e7f-8a9b-4c0d-9e1f-2a3b4c5d6e7f",
    authority="www.example.com",
    upstream_host="10.244.0.28:3000",
    upstream_cluster="httproute/default/backend/rule/0",
    upstream_local_address="10.244.0.30:38818",
    downstream_local_address="10.244.0.30:10080",
    downstream_remote_address="172.18.0.1:51554",
    route_name="httproute/default/backend/rule/0/match/0/www_example_com",
)


@pytest.mark.parametrize(
    ("obj", "expected"),
    [(STRING_TYPED, STRING_TYPED_RECORD), (TYPED, TYPED_RECORD), (ENVOY_GATEWAY, ENVOY_GATEWAY_RECORD)],
    ids=["istio-string-typed", "istio-typed", "envoy-gateway"],
)
def test_decoded_objects_lines_and_parsers_agree(obj: dict, expected: dict) -> None:
    line = json.dumps(obj)
    assert parse_json_record(obj) == expected
    assert parse_json_line(line) == expected
    assert LogParser("json").parse_line(line) == expected
    assert LogParser("auto").parse_line(line) == expected


def test_key_order_does_not_matter() -> None:
    reversed_obj = dict(reversed(list(TYPED.items())))
    parsed = parse_json_record(reversed_obj)
    assert parsed == TYPED_RECORD
    assert list(parsed) == list(TYPED_RECORD)


def test_missing_keys_are_none() -> None:
    assert parse_json_record({"response_code": 404, "response_flags": "NR"}) == record(
        response_code=404, response_flags=["NR"]
    )


def test_json_start_times_are_normalized() -> None:
    parsed = parse_json_record({"start_time": "2024-05-01T14:00:00.5+02:00", "response_code": 200})
    assert parsed["start_time"] == "2024-05-01T12:00:00.500Z"


def test_custom_json_format_mapping() -> None:
    json_format = {
        "ts": "%START_TIME(%s.%3f)%",
        "code": "%RESPONSE_CODE%",
        "flags": "%RESPONSE_FLAGS_LONG%",
        "cluster": "%UPSTREAM_CLUSTER%",
        "peer": "%DOWNSTREAM_PEER_URI_SAN%",
        "attempts": "%UPSTREAM_REQUEST_ATTEMPT_COUNT%",
        "mixer": "%DYNAMIC_METADATA(istio.mixer:status)%",
        "source": "envoy",
    }
    line = json.dumps(
        {
            "ts": "1714564800.123",
            "code": 503,
            "flags": "UpstreamOverflow",
            "cluster": "outbound|9080||reviews.default.svc.cluster.local;",
            "peer": "spiffe://cluster.local/ns/default/sa/bookinfo-productpage",
            "attempts": 3,
            "mixer": "-",
            "source": "envoy",
            "unrelated": {"nested": True},
        }
    )
    expected = record(
        start_time="2024-05-01T12:00:00.123Z",
        response_code=503,
        response_flags=["UO"],
        upstream_cluster="outbound|9080||reviews.default.svc.cluster.local",
        direction="outbound",
        extra={
            "downstream_peer_uri_san": "spiffe://cluster.local/ns/default/sa/bookinfo-productpage",
            "upstream_request_attempt_count": 3,
        },
    )
    assert LogParser(json_format).parse_line(line) == expected
    assert JsonFormat(json_format).parse(line) == expected


def test_custom_json_format_values_must_be_single_operators() -> None:
    with pytest.raises(ValueError, match="single command operator"):
        JsonFormat({"request": "%REQ(:METHOD)% %REQ(:PATH)%"})


def test_shipped_json_fixtures_read_without_errors() -> None:
    for name in ("istio-json.ndjson", "envoy-gateway.ndjson"):
        lines = (FIXTURES / name).read_text().splitlines()
        results = list(LogParser("auto").parse_lines(lines))
        assert [error for _, _, error in results] == [None] * len(lines)
        assert all(parsed and parsed["response_code"] == 200 for _, parsed, _ in results)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"response_code": 200,', "invalid JSON: Expecting property name enclosed in double quotes at column 23"),
        ("[1, 2]", "JSON value is not an object but list"),
        ('"just a string"', "JSON value is not an object but str"),
        ('{"log": "text", "stream": "stdout"}', "JSON object has none of the access-log keys"),
        ('{"response_code": "abc"}', "response_code is not an integer: 'abc'"),
        ('{"duration": 1.5}', "duration is not an integer: 1.5"),
        ('{"duration": -600000}', "duration is negative: -600000"),
        ('{"bytes_sent": true}', "bytes_sent is not an integer: True"),
        ('{"x-envoy-upstream-service-time": "12ms"}', "x-envoy-upstream-service-time is not an integer: '12ms'"),
        ('{"start_time": "last tuesday"}', "start_time is not an ISO-8601 timestamp: 'last tuesday'"),
        ('{"response_flags": ["UH"]}', "response_flags is not a list of response flags: ['UH']"),
        ('{"user_agent": {"name": "curl"}}', "user_agent is not a string: {'name': 'curl'}"),
        ("[" * 100_000, "invalid JSON: nested too deeply"),
    ],
)
def test_bad_json_is_an_error_with_a_reason(line: str, reason: str) -> None:
    parser = LogParser("json", max_line_length=200_000)
    with pytest.raises(ParseError) as raised:
        parser.parse_line(line)
    assert str(raised.value) == reason


def test_a_text_line_given_to_the_json_parser_is_invalid_json() -> None:
    with pytest.raises(ParseError, match=r"^invalid JSON: Expecting ',' delimiter at column 6$"):
        LogParser("json").parse_line('[2024-05-01T12:00:00.123Z] "GET / HTTP/1.1" 200')
