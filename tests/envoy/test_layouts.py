"""Each built-in layout read field by field, and ``auto`` telling them apart."""

from __future__ import annotations

import pytest

from meshview.envoy import BUILTIN_FORMATS, RECORD_KEYS, LogParser

from .helpers import FIXTURES, record

ENVOY_LINE = (
    '[2016-04-15T20:17:00.310Z] "POST /api/v1/locations HTTP/2" 204 - 154 0 226 100 "10.0.35.28" '
    '"nsq2http" "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2" "locations" "tcp://10.0.2.1:80"'
)
ENVOY_RECORD = record(
    start_time="2016-04-15T20:17:00.310Z",
    method="POST",
    path="/api/v1/locations",
    protocol="HTTP/2",
    response_code=204,
    response_flags=[],
    bytes_received=154,
    bytes_sent=0,
    duration=226,
    upstream_service_time=100,
    x_forwarded_for="10.0.35.28",
    user_agent="nsq2http",
    request_id="cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2",
    authority="locations",
    upstream_host="tcp://10.0.2.1:80",
)

ISTIO_1_0_LINE = (
    '[2018-08-01T10:15:30.456Z] "GET /reviews/0 HTTP/1.1" 200 - 0 295 12 11 "-" "python-requests/2.18.4" '
    '"a8f5c0f2-1c3b-4d4e-8e7b-5f6a7b8c9d0e" "reviews:9080" "10.20.2.7:9080" '
    "outbound|9080|v2|reviews.default.svc.cluster.local - 10.23.251.93:9080 10.20.1.14:50942"
)
ISTIO_1_0_RECORD = record(
    start_time="2018-08-01T10:15:30.456Z",
    method="GET",
    path="/reviews/0",
    protocol="HTTP/1.1",
    response_code=200,
    response_flags=[],
    bytes_received=0,
    bytes_sent=295,
    duration=12,
    upstream_service_time=11,
    user_agent="python-requests/2.18.4",
    request_id="a8f5c0f2-1c3b-4d4e-8e7b-5f6a7b8c9d0e",
    authority="reviews:9080",
    upstream_host="10.20.2.7:9080",
    upstream_cluster="outbound|9080|v2|reviews.default.svc.cluster.local",
    downstream_local_address="10.23.251.93:9080",
    downstream_remote_address="10.20.1.14:50942",
    direction="outbound",
)

ISTIO_1_1_LINE = (
    '[2019-04-10T08:00:01.003Z] "GET /details/0 HTTP/1.1" 200 - "-" 0 178 2 1 "-" "python-requests/2.21.0" '
    '"6f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0" "details:9080" "127.0.0.1:9080" '
    "inbound|9080|http|details.default.svc.cluster.local - 10.20.3.5:9080 10.20.1.14:41236 "
    "outbound_.9080_._.details.default.svc.cluster.local"
)
ISTIO_1_1_RECORD = record(
    start_time="2019-04-10T08:00:01.003Z",
    method="GET",
    path="/details/0",
    protocol="HTTP/1.1",
    response_code=200,
    response_flags=[],
    bytes_received=0,
    bytes_sent=178,
    duration=2,
    upstream_service_time=1,
    user_agent="python-requests/2.21.0",
    request_id="6f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0",
    authority="details:9080",
    upstream_host="127.0.0.1:9080",
    upstream_cluster="inbound|9080|http|details.default.svc.cluster.local",
    downstream_local_address="10.20.3.5:9080",
    downstream_remote_address="10.20.1.14:41236",
    requested_server_name="outbound_.9080_._.details.default.svc.cluster.local",
    direction="inbound",
)

ISTIO_1_2_LINE = (
    '[2019-07-02T14:22:05.900Z] "GET /ratings/0 HTTP/1.1" 503 URX,UF "-" "-" 0 91 30 - "-" '
    '"Apache-CXF/3.1.18" "9b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e" "ratings:9080" "10.20.4.9:9080" '
    "outbound|9080|v1|ratings.default.svc.cluster.local - 10.23.255.1:9080 10.20.2.7:38722 -"
)
ISTIO_1_2_RECORD = record(
    start_time="2019-07-02T14:22:05.900Z",
    method="GET",
    path="/ratings/0",
    protocol="HTTP/1.1",
    response_code=503,
    response_flags=["UF", "URX"],
    bytes_received=0,
    bytes_sent=91,
    duration=30,
    user_agent="Apache-CXF/3.1.18",
    request_id="9b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e",
    authority="ratings:9080",
    upstream_host="10.20.4.9:9080",
    upstream_cluster="outbound|9080|v1|ratings.default.svc.cluster.local",
    downstream_local_address="10.23.255.1:9080",
    downstream_remote_address="10.20.2.7:38722",
    direction="outbound",
)

ISTIO_1_3_LINE = (
    '[2020-03-15T09:41:13.010Z] "GET /ratings/0 HTTP/1.1" 503 UF "-" '
    '"TLS error: 268435581:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED" 0 91 2 - "-" '
    '"Apache-CXF/3.1.18" "3d4e5f6a-7b8c-4d9e-8f0a-1b2c3d4e5f6a" "ratings:9080" "10.20.4.9:9080" '
    "outbound|9080|v1|ratings.default.svc.cluster.local - 10.23.255.1:9080 10.20.2.7:38900 - default"
)
ISTIO_1_3_RECORD = record(
    start_time="2020-03-15T09:41:13.010Z",
    method="GET",
    path="/ratings/0",
    protocol="HTTP/1.1",
    response_code=503,
    response_flags=["UF"],
    upstream_transport_failure_reason=("TLS error: 268435581:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED"),
    bytes_received=0,
    bytes_sent=91,
    duration=2,
    user_agent="Apache-CXF/3.1.18",
    request_id="3d4e5f6a-7b8c-4d9e-8f0a-1b2c3d4e5f6a",
    authority="ratings:9080",
    upstream_host="10.20.4.9:9080",
    upstream_cluster="outbound|9080|v1|ratings.default.svc.cluster.local",
    downstream_local_address="10.23.255.1:9080",
    downstream_remote_address="10.20.2.7:38900",
    route_name="default",
    direction="outbound",
)

ISTIO_1_8_LINE = (
    '[2020-12-01T16:03:44.020Z] "POST /api/v1/orders HTTP/2" 201 - "-" 532 98 37 36 "-" "grpc-go/1.33.1" '
    '"0f1e2d3c-4b5a-4697-8887-a6b5c4d3e2f1" "orders.shop.svc.cluster.local:8080" "127.0.0.1:8080" '
    "inbound|8080|| 127.0.0.1:50110 10.20.5.11:8080 10.20.1.20:35790 "
    "outbound_.8080_._.orders.shop.svc.cluster.local default"
)
ISTIO_1_8_RECORD = record(
    start_time="2020-12-01T16:03:44.020Z",
    method="POST",
    path="/api/v1/orders",
    protocol="HTTP/2",
    response_code=201,
    response_flags=[],
    bytes_received=532,
    bytes_sent=98,
    duration=37,
    upstream_service_time=36,
    user_agent="grpc-go/1.33.1",
    request_id="0f1e2d3c-4b5a-4697-8887-a6b5c4d3e2f1",
    authority="orders.shop.svc.cluster.local:8080",
    upstream_host="127.0.0.1:8080",
    upstream_cluster="inbound|8080||",
    upstream_local_address="127.0.0.1:50110",
    downstream_local_address="10.20.5.11:8080",
    downstream_remote_address="10.20.1.20:35790",
    requested_server_name="outbound_.8080_._.orders.shop.svc.cluster.local",
    route_name="default",
    direction="inbound",
)

ISTIO_1_9_LINE = (
    '[2021-06-20T07:30:01.250Z] "GET /ratings/1 HTTP/1.1" 504 UT response_timeout - "-" 0 24 10001 - "-" '
    '"Apache-CXF/3.1.18" "5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e" "ratings:9080" "10.244.3.4:9080" '
    "outbound|9080||ratings.default.svc.cluster.local 10.244.2.9:51320 10.96.40.21:9080 10.244.2.9:46808 - default"
)
ISTIO_1_9_RECORD = record(
    start_time="2021-06-20T07:30:01.250Z",
    method="GET",
    path="/ratings/1",
    protocol="HTTP/1.1",
    response_code=504,
    response_flags=["UT"],
    response_code_details="response_timeout",
    bytes_received=0,
    bytes_sent=24,
    duration=10001,
    user_agent="Apache-CXF/3.1.18",
    request_id="5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e",
    authority="ratings:9080",
    upstream_host="10.244.3.4:9080",
    upstream_cluster="outbound|9080||ratings.default.svc.cluster.local",
    upstream_local_address="10.244.2.9:51320",
    downstream_local_address="10.96.40.21:9080",
    downstream_remote_address="10.244.2.9:46808",
    route_name="default",
    direction="outbound",
)

# A 1.24+ proxy still configured with the 1.9 layout prints the stats name: "...;".
ISTIO_1_9_SUFFIX_LINE = (
    '[2025-01-10T09:00:00.001Z] "GET /api/items HTTP/1.1" 200 - via_upstream - "-" 0 812 6 5 "-" "okhttp/4.12.0" '
    '"6c7d8e9f-0a1b-4c2d-9e3f-4a5b6c7d8e9f" "catalog.shop:8080" "10.244.4.17:8080" '
    "outbound|8080||catalog.shop.svc.cluster.local; 10.244.1.30:40112 10.96.7.77:8080 10.244.1.30:40100 - default"
)
ISTIO_1_9_SUFFIX_RECORD = record(
    start_time="2025-01-10T09:00:00.001Z",
    method="GET",
    path="/api/items",
    protocol="HTTP/1.1",
    response_code=200,
    response_flags=[],
    response_code_details="via_upstream",
    bytes_received=0,
    bytes_sent=812,
    duration=6,
    upstream_service_time=5,
    user_agent="okhttp/4.12.0",
    request_id="6c7d8e9f-0a1b-4c2d-9e3f-4a5b6c7d8e9f",
    authority="catalog.shop:8080",
    upstream_host="10.244.4.17:8080",
    upstream_cluster="outbound|8080||catalog.shop.svc.cluster.local",
    upstream_local_address="10.244.1.30:40112",
    downstream_local_address="10.96.7.77:8080",
    downstream_remote_address="10.244.1.30:40100",
    route_name="default",
    direction="outbound",
)

ISTIO_1_24_LINE = (
    '[2024-05-01T12:00:01.500Z] "GET /ratings/0 HTTP/1.1" 503 UF,URX '
    'upstream_reset_before_response_started{connection_failure} - "delayed connect error: 111" 0 145 57 - "-" '
    '"Apache-CXF/3.5.5" "7c8d9e0f-1a2b-4c3d-8e4f-5a6b7c8d9e0f" "ratings:9080" "10.244.2.3:9080" '
    "outbound|9080|v1|ratings.default.svc.cluster.local - 10.96.5.200:9080 10.244.1.5:35442 - default"
)
ISTIO_1_24_RECORD = record(
    start_time="2024-05-01T12:00:01.500Z",
    method="GET",
    path="/ratings/0",
    protocol="HTTP/1.1",
    response_code=503,
    response_flags=["UF", "URX"],
    response_code_details="upstream_reset_before_response_started{connection_failure}",
    upstream_transport_failure_reason="delayed connect error: 111",
    bytes_received=0,
    bytes_sent=145,
    duration=57,
    user_agent="Apache-CXF/3.5.5",
    request_id="7c8d9e0f-1a2b-4c3d-8e4f-5a6b7c8d9e0f",
    authority="ratings:9080",
    upstream_host="10.244.2.3:9080",
    upstream_cluster="outbound|9080|v1|ratings.default.svc.cluster.local",
    downstream_local_address="10.96.5.200:9080",
    downstream_remote_address="10.244.1.5:35442",
    route_name="default",
    direction="outbound",
)

ISTIO_1_24_INBOUND_LINE = (
    '[2024-05-01T12:00:00.123Z] "GET /productpage HTTP/1.1" 200 - via_upstream - "-" 0 5293 13 12 "10.244.0.1" '
    '"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36" "2b9f0c1e-7d2a-4a7e-9f0e-1a2b3c4d5e6f" '
    '"bookinfo.example.com" "10.244.0.12:9080" inbound|9080|| 127.0.0.6:45611 10.244.0.12:9080 10.244.0.1:0 '
    "outbound_.9080_._.productpage.default.svc.cluster.local default"
)
ISTIO_1_24_INBOUND_RECORD = record(
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
    user_agent="Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36",
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

CASES = [
    ("envoy", ENVOY_LINE, ENVOY_RECORD),
    ("istio-1.0", ISTIO_1_0_LINE, ISTIO_1_0_RECORD),
    ("istio-1.1", ISTIO_1_1_LINE, ISTIO_1_1_RECORD),
    ("istio-1.2", ISTIO_1_2_LINE, ISTIO_1_2_RECORD),
    ("istio-1.3", ISTIO_1_3_LINE, ISTIO_1_3_RECORD),
    ("istio-1.8", ISTIO_1_8_LINE, ISTIO_1_8_RECORD),
    ("istio-1.9", ISTIO_1_9_LINE, ISTIO_1_9_RECORD),
    ("istio-1.9", ISTIO_1_9_SUFFIX_LINE, ISTIO_1_9_SUFFIX_RECORD),
    ("istio-1.24", ISTIO_1_24_LINE, ISTIO_1_24_RECORD),
    ("istio-1.24", ISTIO_1_24_INBOUND_LINE, ISTIO_1_24_INBOUND_RECORD),
]


@pytest.mark.parametrize(("layout", "line", "expected"), CASES)
def test_builtin_layout_reads_every_field(layout: str, line: str, expected: dict) -> None:
    assert LogParser(layout).parse_line(line) == expected


@pytest.mark.parametrize(("layout", "line", "expected"), CASES)
def test_auto_reads_each_layout_like_the_explicit_one(layout: str, line: str, expected: dict) -> None:
    assert LogParser("auto").parse_line(line) == expected


def test_records_keep_the_canonical_key_order() -> None:
    for layout, line, _ in CASES:
        assert list(LogParser(layout).parse_line(line)) == list(RECORD_KEYS)


def test_layouts_are_told_apart_in_one_mixed_stream() -> None:
    parser = LogParser("auto")
    lines = [line for _, line, _ in CASES] * 3
    expected = [record for _, _, record in CASES] * 3
    results = list(parser.parse_lines(lines))
    assert [error for _, _, error in results] == [None] * len(lines)
    assert [parsed for _, parsed, _ in results] == expected
    assert [number for number, _, _ in results] == list(range(1, len(lines) + 1))


def test_each_layout_rejects_the_other_layouts_lines() -> None:
    # Apart from 1.9 and 1.24, which print the same shape, no layout reads another's line.
    for layout in BUILTIN_FORMATS:
        parser = LogParser(layout)
        for other, line, _ in CASES:
            if other == layout or {layout, other} == {"istio-1.9", "istio-1.24"}:
                continue
            results = list(parser.parse_lines([line]))
            assert results[0][1] is None, f"{layout} read a {other} line"


def test_1_24_layout_keeps_a_raw_cluster_name_as_logged() -> None:
    line = ISTIO_1_24_LINE.replace("outbound|9080|v1|ratings.default.svc.cluster.local", "outbound|9080||a;b")
    assert LogParser("istio-1.24").parse_line(line)["upstream_cluster"] == "outbound|9080||a;b"
    assert LogParser("istio-1.9").parse_line(line)["upstream_cluster"] == "outbound|9080||a;b"
    suffixed = line.replace("outbound|9080||a;b", "outbound|9080||a;b;")
    assert LogParser("auto").parse_line(suffixed)["upstream_cluster"] == "outbound|9080||a;b"


@pytest.mark.parametrize(
    "fixture",
    ["envoy", "istio-1.0", "istio-1.1", "istio-1.2", "istio-1.3", "istio-1.8", "istio-1.9", "istio-1.24"],
)
def test_shipped_fixture_lines_read_the_same_with_auto_and_their_layout(fixture: str) -> None:
    lines = (FIXTURES / f"{fixture}.log").read_text().splitlines()
    explicit = list(LogParser(fixture).parse_lines(lines))
    auto = list(LogParser("auto").parse_lines(lines))
    assert [error for _, _, error in explicit] == [None] * len(lines)
    assert auto == explicit
    assert all(parsed and parsed["start_time"] and parsed["response_code"] is not None for _, parsed, _ in auto)


def test_todays_istio_layout_and_envoys_default_are_the_documented_strings() -> None:
    assert BUILTIN_FORMATS["envoy"] == (
        '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% '
        "%RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "
        '"%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"'
    )
    assert BUILTIN_FORMATS["istio-1.24"] == (
        '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% '
        "%RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "
        '"%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% '
        '%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" '
        '"%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER_RAW% %UPSTREAM_LOCAL_ADDRESS% '
        "%DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%"
    )
