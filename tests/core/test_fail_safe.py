"""Auth that fails safe: 503 with Retry-After when the database is down (token lookup included),
no cross-site writes, no anonymous access through a reverse proxy, and `serve` saying which
mode it runs in at a URL that answers."""

import asyncio
import gzip
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.db import connection, connections
from django.test import Client, override_settings

from meshview.core.actions import issue_token
from meshview.core.models import ApiToken
from tests.traces.test_store_and_query import export, span

ROOT = Path(__file__).resolve().parents[2]
LOG_LINE = (
    '[2026-11-26T12:00:05.000Z] "GET /productpage HTTP/1.1" 200 - via_upstream - "-" 0 295 12 10 "-" '
    '"curl/8.5" "5d1c" "productpage:9080" "10.0.1.10:9080" inbound|9080|| 127.0.0.6:41234 10.0.1.10:9080 '
    '10.0.0.5:50000 outbound_.9080_._.productpage.bookinfo.svc.cluster.local default'
)
PROTOBUF = "application/x-protobuf"
ZIPKIN_SPAN = json.dumps([{"traceId": "ab" * 16, "id": "cd" * 8, "name": "get /", "timestamp": time.time_ns() // 1000,
                           "duration": 1000, "localEndpoint": {"serviceName": "frontend"}}])
ENVOY = "/api/v1/ingest/envoy?namespace=bookinfo&pod=productpage-v1-5f7d8c9b6d-x2k4q"


@contextmanager
def database_unreachable() -> Iterator[None]:
    """The database stops answering: SQLite's file cannot be opened, PostgreSQL's port refuses."""
    saved = dict(connection.settings_dict)
    connection.close()
    if connection.vendor == "sqlite":
        connection.settings_dict["NAME"] = "/nonexistent/meshview/db.sqlite3"
    else:
        connection.settings_dict["PORT"] = "1"
    # The thread that runs consumers' database calls keeps connections of its own (opened by an
    # earlier test): they go too, as every connection does in an outage.
    asyncio.run(database_sync_to_async(connections.close_all)())
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.update(saved)


REQUESTS = [
    ("get", "/jaeger/api/services", {}),
    ("get", "/jaeger/api/v3/traces/ab", {}),
    ("get", "/api/v1/traces", {}),
    ("get", "/api/v1/graph?sources=accesslogs", {}),
    ("get", "/api/v1/workloads", {}),
    ("get", "/api/v1/namespaces", {}),
    ("get", "/api/v1/tokens", {}),
    ("post", "/v1/traces", {"data": export("frontend", [span(1, 1, "GET /")]), "content_type": PROTOBUF}),
    ("post", "/api/v2/spans", {"data": ZIPKIN_SPAN, "content_type": "application/json"}),
    ("post", ENVOY, {"data": LOG_LINE, "content_type": "text/plain"}),
]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("method", "path", "body"), REQUESTS, ids=[f"{m} {p}" for m, p, _ in REQUESTS])
def test_a_database_outage_is_a_503_with_retry_after_on_every_path(method: str, path: str, body: dict) -> None:
    _, raw = issue_token("exporter", ["admin"])
    client = Client()
    with database_unreachable():
        response = getattr(client, method)(path, HTTP_AUTHORIZATION=f"Bearer {raw}", **body)
        assert response.status_code == 503, response.content
        assert int(response["Retry-After"]) > 0
        with override_settings(MESHVIEW_ANONYMOUS_ACCESS=True):
            assert getattr(client, method)(path, **body).status_code == 503


@pytest.mark.django_db(transaction=True)
def test_a_database_outage_is_a_503_for_sessions_probes_and_metrics() -> None:
    user = User.objects.create_user("ana", password="pw-123456")
    client = Client()
    client.force_login(user)
    with database_unreachable():
        for path in ("/", "/api/v1/workloads", "/metrics", "/readyz"):
            response = client.get(path)
            assert response.status_code == 503, (path, response.content)
            assert path == "/readyz" or response["Retry-After"]


@pytest.mark.django_db(transaction=True)
def test_a_socket_with_a_token_during_an_outage_is_told_to_try_again() -> None:
    from meshview.asgi import application

    _, raw = issue_token("reader", ["read"])
    headers = [(b"host", b"127.0.0.1"), (b"origin", b"http://127.0.0.1"), (b"authorization", f"Bearer {raw}".encode())]

    async def connect() -> tuple[bool, int]:
        socket = WebsocketCommunicator(application, "/ws/traces/", headers=headers)
        return await socket.connect()

    with database_unreachable():
        connected, code = asyncio.run(connect())
    assert (connected, code) == (False, 1013)


@pytest.mark.django_db
class TestCrossSiteWrites:
    @pytest.fixture(autouse=True)
    def anonymous(self):
        with override_settings(MESHVIEW_ANONYMOUS_ACCESS=True):
            yield

    def test_another_sites_page_cannot_ingest_through_an_anonymous_meshview(self, client: Client) -> None:
        for headers in ({"HTTP_ORIGIN": "https://evil.example"}, {"HTTP_ORIGIN": "null"},
                        {"HTTP_SEC_FETCH_SITE": "cross-site"}):
            response = client.post(ENVOY, LOG_LINE, content_type="text/plain", **headers)
            assert response.status_code == 403, headers
            assert "cross-site" in response.json()["detail"]
        for headers in ({}, {"HTTP_ORIGIN": "http://testserver"}, {"HTTP_SEC_FETCH_SITE": "same-origin"}):
            assert client.post(ENVOY, LOG_LINE, content_type="text/plain", **headers).status_code == 200, headers

    def test_another_sites_form_cannot_issue_a_token(self, client: Client) -> None:
        response = client.post("/api/v1/tokens", {"name": "evil", "scopes": ["admin"]}, HTTP_ORIGIN="https://evil.example")
        assert response.status_code == 403
        assert not ApiToken.objects.filter(name="evil").exists()
        assert client.post("/api/v1/tokens", {"name": "mine", "scopes": ["read"]}).status_code == 201

    def test_exporters_with_tokens_are_unaffected(self, client: Client) -> None:
        _, raw = issue_token("shipper", ["ingest"])
        response = client.post(
            ENVOY, LOG_LINE, content_type="text/plain", HTTP_ORIGIN="https://elsewhere.example",
            HTTP_AUTHORIZATION=f"Bearer {raw}",
        )
        assert response.status_code == 200
        body = gzip.compress(export("frontend", [span(1, 1, "GET /")]))
        response = client.post(
            "/v1/traces", body, content_type="application/x-protobuf", HTTP_CONTENT_ENCODING="gzip",
            HTTP_SEC_FETCH_SITE="cross-site", HTTP_AUTHORIZATION=f"Bearer {raw}",
        )
        assert response.status_code == 200

    @pytest.mark.parametrize("path", ["/v1/traces", "/api/v2/spans", ENVOY])
    def test_session_ingest_needs_the_csrf_token(self, path: str) -> None:
        staff = User.objects.create_user("ops", password="pw-123456", is_staff=True)
        client = Client(enforce_csrf_checks=True)
        client.force_login(staff)
        body, content_type = (
            (LOG_LINE, "text/plain") if path == ENVOY else
            (b"[]", "application/json") if path == "/api/v2/spans" else
            (export("frontend", [span(1, 1, "GET /")]), "application/x-protobuf")
        )
        with override_settings(MESHVIEW_ANONYMOUS_ACCESS=False):
            assert client.post(path, body, content_type=content_type).status_code == 403
            client.get("/accounts/login/")  # sets the CSRF cookie
            token = client.cookies["csrftoken"].value
            response = client.post(path, body, content_type=content_type, HTTP_X_CSRFTOKEN=token)
            assert response.status_code in (200, 202), response.content


@pytest.mark.django_db
@pytest.mark.parametrize("header", ["HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP"])
def test_requests_through_a_reverse_proxy_are_not_anonymous(client: Client, header: str) -> None:
    with override_settings(MESHVIEW_ANONYMOUS_ACCESS=True):
        assert client.get("/api/v1/namespaces").status_code == 200
        assert client.get("/api/v1/namespaces", **{header: "203.0.113.9"}).status_code == 401
        assert client.get("/jaeger/api/services", **{header: "203.0.113.9"}).status_code == 401
        assert client.get("/", **{header: "203.0.113.9"}).status_code == 302
        with override_settings(MESHVIEW_ANONYMOUS="1"):
            assert client.get("/api/v1/namespaces", **{header: "203.0.113.9"}).status_code == 200


def _serve(tmp_path: Path, host: str, port: int, **env: str) -> tuple[subprocess.Popen, list[str]]:
    process = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--host", host, "--port", str(port), "--no-worker"],
        cwd=ROOT, env={**os.environ, "MESHVIEW_DATA_DIR": str(tmp_path), **env},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    lines: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line.strip())
        if line.startswith("meshview on "):
            return process, lines
    process.wait()
    raise AssertionError(f"serve exited: {lines}")


def _status(url: str, **headers: str) -> int:
    for _ in range(50):
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except urllib.error.URLError:
            time.sleep(0.2)
    raise AssertionError(f"{url} never answered")


def test_serve_prints_its_mode_and_a_url_that_answers(tmp_path: Path) -> None:
    port = 8105
    process, lines = _serve(tmp_path, "127.0.0.2", port)
    try:
        assert any(line.startswith("Anonymous access: on for direct connections") for line in lines), lines
        url = lines[-1].split()[2]
        assert url == f"http://127.0.0.2:{port}/"
        assert _status(url + "api/v1/namespaces") == 200
        assert _status(url + "api/v1/namespaces", **{"X-Forwarded-For": "203.0.113.9"}) == 401
    finally:
        process.terminate()
        process.wait(timeout=20)
    process, lines = _serve(tmp_path, "127.0.0.2", port, MESHVIEW_ANONYMOUS="1")
    try:
        assert any("MESHVIEW_ANONYMOUS=1" in line for line in lines), lines
        assert _status(f"http://127.0.0.2:{port}/api/v1/namespaces", **{"X-Forwarded-For": "203.0.113.9"}) == 200
    finally:
        process.terminate()
        process.wait(timeout=20)
