"""Four kinds of access-log lines real clusters write, each shipped under fixtures/envoy/ with its
expected canonical records (``<name>.expected.ndjson``), read alike by the parser, by
``manage.py parse_envoy`` and by the ingest endpoint:

- ``kubectl-prefixed-json.log``: ``kubectl logs --prefix`` (and ``--timestamps``) in front of
  JSON records;
- ``istio-1.0-sni.log``: Istio's layout before 1.1 with the requested server name, as Istio's
  egress examples of 2019 show a TCP connection to an external host;
- ``custom-json-keys.ndjson``: ``log_format`` maps that name a key after its header
  (``x_request_id``, ``x_envoy_upstream_service_time``, ``byte_sent``, ``byte_received``);
- ``path-with-space.log``: request lines whose path holds a raw space.
"""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client, override_settings

from meshview.envoy.parser import LogParser
from meshview.mesh.models import TrafficRollup

from .helpers import FIXTURES

KINDS = ("kubectl-prefixed-json.log", "istio-1.0-sni.log", "custom-json-keys.ndjson", "path-with-space.log")
REPORTER = "namespace=bookinfo&pod=productpage-v1-5f9dbcd669-x7k2p"


def expected(kind: str) -> list[dict]:
    name = kind.rsplit(".", 1)[0]
    return [json.loads(line) for line in (FIXTURES / f"{name}.expected.ndjson").read_text().splitlines()]


def lines(kind: str) -> list[str]:
    return (FIXTURES / kind).read_text().splitlines()


@pytest.mark.parametrize("kind", KINDS)
def test_the_parser_reads_each_kind_into_its_expected_records(kind: str) -> None:
    parsed = list(LogParser("auto").parse_lines(lines(kind)))
    assert [error for _, _, error in parsed] == [None] * len(parsed)
    assert [record for _, record, _ in parsed] == expected(kind)


def test_what_each_kind_is_read_as() -> None:
    tcp, http = expected("istio-1.0-sni.log")
    # the layout between Istio 1.0 and 1.1: the requested server name ends the line
    assert (tcp["method"], tcp["response_code"], tcp["bytes_sent"]) == (None, 0, 1879689)
    assert tcp["requested_server_name"] == "edition.cnn.com" and http["requested_server_name"] is None
    assert tcp["upstream_cluster"] == "outbound|443||edition.cnn.com"
    # the protocol is the request line's last word; the path is everything between
    spaced = expected("path-with-space.log")
    assert [(r["path"], r["protocol"]) for r in spaced] == [
        ("/a b?c=", "HTTP/1.1"), ("/static/my file.css", "HTTP/1.1"), ("/productpage", "HTTP/1.1")]
    # header-named keys land on the canonical ones
    custom = expected("custom-json-keys.ndjson")[0]
    assert (custom["request_id"], custom["upstream_service_time"], custom["bytes_sent"], custom["bytes_received"]) == (
        "6c0a2f1e-5d4b-4a3c-9e2d-1f0e9d8c7b6a", 12, 5293, 0)
    assert [r["response_flags"] for r in expected("kubectl-prefixed-json.log")] == [[], [], ["UF", "URX"]]


@pytest.mark.parametrize("kind", KINDS)
def test_parse_envoy_prints_the_expected_records(kind: str) -> None:
    out = StringIO()
    call_command("parse_envoy", str(FIXTURES / kind), stdout=out)
    assert [json.loads(line) for line in out.getvalue().splitlines()] == expected(kind)


@pytest.mark.django_db
@pytest.mark.parametrize("kind", KINDS)
def test_the_ingest_endpoint_accepts_every_line(client: Client, kind: str) -> None:
    body = "\n".join(lines(kind))
    # JSON kinds as NDJSON (as shippers send them), the text layouts as plain text
    content_type = "text/plain" if "json" not in kind else "application/x-ndjson"
    with override_settings(MESHVIEW_ANONYMOUS_ACCESS=True):
        response = client.post(f"/api/v1/ingest/envoy?{REPORTER}", body, content_type=content_type)
    assert response.status_code == 200, response.content
    answer = response.json()
    assert (answer["accepted"], answer["rejected"]) == (len(lines(kind)), 0), answer
    if kind != "path-with-space.log":  # its client-side lines wait for their server side
        assert TrafficRollup.objects.exists()
