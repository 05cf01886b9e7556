"""What shippers and Envoy do to lines: prefixes, line ends, addresses, flags, odd fields."""

from __future__ import annotations

import pytest

from meshview.envoy import LogParser, ParseError

from .helpers import FIXTURES, record
from .test_layouts import ISTIO_1_24_INBOUND_LINE, ISTIO_1_24_INBOUND_RECORD

TIMESTAMP = "2024-05-01T12:00:00.123456789Z "
POD = "[pod/productpage-v1-5f9dbcd669-x7k2p/istio-proxy] "


@pytest.mark.parametrize(
    "prefix",
    [TIMESTAMP, POD, TIMESTAMP + POD, POD + TIMESTAMP, "\ufeff", "\ufeff" + TIMESTAMP, "2024-05-01T12:00:00Z "],
    ids=[
        "timestamps",
        "prefix",
        "timestamps-then-prefix",
        "prefix-then-timestamps",
        "bom",
        "bom-timestamps",
        "no-fraction",
    ],
)
@pytest.mark.parametrize("layout", ["auto", "istio-1.24"])
def test_shipper_prefixes_are_stripped(prefix: str, layout: str) -> None:
    assert LogParser(layout).parse_line(prefix + ISTIO_1_24_INBOUND_LINE) == ISTIO_1_24_INBOUND_RECORD


def test_prefixed_json_lines() -> None:
    line = TIMESTAMP + POD + '{"response_code": 200, "response_flags": "-", "upstream_cluster": "PassthroughCluster"}'
    assert LogParser("auto").parse_line(line) == record(
        response_code=200, response_flags=[], upstream_cluster="PassthroughCluster", direction="outbound"
    )


@pytest.mark.parametrize("ending", ["\n", "\r\n", "   ", " \t\r\n"])
def test_trailing_whitespace_and_crlf(ending: str) -> None:
    assert LogParser("auto").parse_line(ISTIO_1_24_INBOUND_LINE + ending) == ISTIO_1_24_INBOUND_RECORD


def test_a_prefixed_stream_keeps_every_line() -> None:
    lines = (FIXTURES / "kubectl-prefixed.log").read_text().splitlines(keepends=True)
    results = list(LogParser("auto").parse_lines(lines))
    assert [error for _, _, error in results] == [None] * 4
    records = [parsed for _, parsed, _ in results]
    assert [r["response_code"] for r in records] == [200, 200, 0, 0]
    assert records[3]["response_code_details"] == "filter_chain_not_found"


def test_ipv6_addresses() -> None:
    line = (
        '[2024-05-01T12:00:07.777Z] "GET /cart HTTP/2" 200 - via_upstream - "-" 0 96 22 21 "-" "curl/8.5.0" '
        '"1b2c3d4e-5f6a-4b7c-8d8e-9f0a1b2c3d4e" "[::1]:80" "[fd00::1]:9080" outbound|9080||cart.shop.svc.cluster.local '
        "[fd00::12]:41220 [::1]:80 [2001:db8::7]:0 - -"
    )
    parsed = LogParser("auto").parse_line(line)
    assert parsed["authority"] == "[::1]:80"
    assert parsed["upstream_host"] == "[fd00::1]:9080"
    assert parsed["upstream_local_address"] == "[fd00::12]:41220"
    assert parsed["downstream_local_address"] == "[::1]:80"
    assert parsed["downstream_remote_address"] == "[2001:db8::7]:0"
    assert parsed["route_name"] is None


@pytest.mark.parametrize(
    "host", ["envoy://connect_originate/10.0.0.1:80", "tcp://10.0.2.1:80", "envoy://internal_client_address/"]
)
def test_upstream_hosts_that_are_urls_are_kept_as_logged(host: str) -> None:
    line = ISTIO_1_24_INBOUND_LINE.replace('"10.244.0.12:9080"', f'"{host}"')
    assert LogParser("auto").parse_line(line)["upstream_host"] == host


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ("-", []),
        ("UH", ["UH"]),
        ("URX,UF", ["UF", "URX"]),
        ("UF,URX", ["UF", "URX"]),
        ("UT,DC,URX", ["DC", "URX", "UT"]),
    ],
)
def test_response_flags_in_any_order(flags: str, expected: list[str]) -> None:
    line = ISTIO_1_24_INBOUND_LINE.replace(" 200 - via_upstream", f" 503 {flags} via_upstream")
    assert LogParser("auto").parse_line(line)["response_flags"] == expected


def test_user_agent_with_blanks_quotes_and_commas() -> None:
    agent = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) "Mobile" Safari, v17, "beta"'
    line = ISTIO_1_24_INBOUND_LINE.replace('"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36"', f'"{agent}"')
    assert LogParser("auto").parse_line(line) == {**ISTIO_1_24_INBOUND_RECORD, "user_agent": agent}


def test_x_forwarded_for_with_several_addresses() -> None:
    line = ISTIO_1_24_INBOUND_LINE.replace('"10.244.0.1"', '"203.0.113.7, 198.51.100.2,10.244.0.1"')
    assert LogParser("auto").parse_line(line)["x_forwarded_for"] == "203.0.113.7, 198.51.100.2,10.244.0.1"


def test_tcp_record() -> None:
    line = (
        '[2024-05-01T12:00:02.000Z] "- - -" 0 - - - "-" 1024 2048 5012 - "-" "-" "-" "-" "10.244.1.20:3306" '
        "outbound|3306||mysql.db.svc.cluster.local 10.244.0.15:52344 10.96.14.2:3306 10.244.0.15:52340 - -"
    )
    assert LogParser("auto").parse_line(line) == record(
        start_time="2024-05-01T12:00:02.000Z",
        response_code=0,
        response_flags=[],
        bytes_received=1024,
        bytes_sent=2048,
        duration=5012,
        upstream_host="10.244.1.20:3306",
        upstream_cluster="outbound|3306||mysql.db.svc.cluster.local",
        upstream_local_address="10.244.0.15:52344",
        downstream_local_address="10.96.14.2:3306",
        downstream_remote_address="10.244.0.15:52340",
        direction="outbound",
    )


def test_listener_failure_record() -> None:
    line = (
        '[2024-05-01T12:00:03.000Z] "- - -" 0 NR filter_chain_not_found - "-" 0 0 0 - "-" "-" "-" "-" "-" '
        "- - 10.244.0.12:8443 10.244.3.9:51234 - -"
    )
    assert LogParser("auto").parse_line(line) == record(
        start_time="2024-05-01T12:00:03.000Z",
        response_code=0,
        response_flags=["NR"],
        response_code_details="filter_chain_not_found",
        bytes_received=0,
        bytes_sent=0,
        duration=0,
        downstream_local_address="10.244.0.12:8443",
        downstream_remote_address="10.244.3.9:51234",
    )


@pytest.mark.parametrize(
    ("cluster", "direction"),
    [
        ("inbound|9080||", "inbound"),
        ("inbound|9080|http|reviews.default.svc.cluster.local", "inbound"),
        ("InboundPassthroughClusterIpv4", "inbound"),
        ("InboundPassthroughClusterIpv6", "inbound"),
        ("outbound|443||edition.cnn.com", "outbound"),
        ("PassthroughCluster", "outbound"),
        ("BlackHoleCluster", "outbound"),
        ("httproute/default/backend/rule/0", None),
        ("-", None),
    ],
)
def test_direction_follows_the_upstream_cluster(cluster: str, direction: str | None) -> None:
    line = ISTIO_1_24_INBOUND_LINE.replace(" inbound|9080|| ", f" {cluster} ")
    assert LogParser("auto").parse_line(line)["direction"] == direction


def test_non_ascii_text_is_kept_and_non_ascii_digits_are_not_counts() -> None:
    line = ISTIO_1_24_INBOUND_LINE.replace("AppleWebKit/537.36", "Mañana/1.0 (日本語)")
    assert LogParser("auto").parse_line(line)["user_agent"] == "Mozilla/5.0 (X11; Linux x86_64) Mañana/1.0 (日本語)"
    line = ISTIO_1_24_INBOUND_LINE.replace(" 200 - via_upstream", " \u0662\u0660\u0660 - via_upstream")
    with pytest.raises(ParseError, match=r"^response_code is not an integer"):
        LogParser("auto").parse_line(line)
