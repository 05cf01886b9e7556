"""The envoy ingest endpoint under bad input, limits and faults."""

import gzip
import http.client
import json
import os
import signal
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.test import Client, override_settings

from meshview.core.models import ApiToken
from meshview.mesh.models import PendingRequest, TrafficRollup
from tests import meshsim
from tests.conftest import Server, database_locked, database_url
from tests.meshsim import GATEWAY, PRODUCTPAGE, SERVICES, Call

pytestmark = pytest.mark.django_db
REPORTER = "namespace=bookinfo&pod=productpage-v1-5f7d8c9b6d-x2k4q"


def line() -> str:
    return meshsim.client_line(Call(PRODUCTPAGE, SERVICES["details"], meshsim.DETAILS))


@pytest.fixture
def anon():
    with override_settings(MESHVIEW_ANONYMOUS_ACCESS=True):
        yield


@pytest.mark.usefixtures("anon")
def test_bad_lines_are_reported_with_their_numbers_and_the_rest_is_kept(client: Client) -> None:
    body = "\n".join([line(), "not an access log", "", line(), '[2024-05-01T12:00:00.000Z] "GET / HTTP/1.1" abc'])
    response = client.post(f"/api/v1/ingest/envoy?{REPORTER}", body, content_type="text/plain")
    answer = response.json()
    assert (answer["accepted"], answer["rejected"]) == (2, 2)
    assert [e["line"] for e in answer["errors"]] == [2, 5]
    assert TrafficRollup.objects.get().requests == 2


@pytest.mark.usefixtures("anon")
def test_bad_ndjson_objects_are_errors_not_crashes(client: Client) -> None:
    body = "\n".join(
        [
            "{not json",
            "[1, 2]",
            json.dumps({"log": 7}),
            json.dumps({"log": line(), "kubernetes": "x"}),
            json.dumps({"log": line(), "kubernetes": {"pod_name": "p"}}),
            json.dumps({"log": line(), "kubernetes": {"pod_name": "p-1", "namespace_name": "bad ns!"}}),
            "[" * 100000,
            json.dumps({"log": line()}),
        ]
    )
    answer = client.post("/api/v1/ingest/envoy", body, content_type="application/x-ndjson").json()
    assert answer["accepted"] == 0
    assert [e["line"] for e in answer["errors"]] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert "no reporter identity" in answer["errors"][7]["error"]
    assert "not a valid Kubernetes name" in answer["errors"][5]["error"]


@pytest.mark.usefixtures("anon")
def test_istio_json_records_are_read_from_ndjson(client: Client) -> None:
    record = {
        "start_time": "2026-11-26T12:00:00.000Z",
        "method": "GET",
        "path": "/",
        "protocol": "HTTP/1.1",
        "response_code": 200,
        "response_flags": "-",
        "bytes_received": 0,
        "bytes_sent": 10,
        "duration": 3,
        "upstream_cluster": "outbound|9080||details.bookinfo.svc.cluster.local",
        "upstream_host": "10.0.1.40:9080",
        "request_id": "r-1",
        "authority": "details:9080",
    }
    answer = client.post(f"/api/v1/ingest/envoy?{REPORTER}", json.dumps(record), content_type="application/x-ndjson")
    assert answer.json()["accepted"] == 1
    assert TrafficRollup.objects.get().key.destination_service_name == "details"


@pytest.mark.usefixtures("anon")
def test_gzip_bodies_are_read_and_bombs_refused(client: Client) -> None:
    lines = list(meshsim.envoy_envelopes([Call(GATEWAY, SERVICES["productpage"], PRODUCTPAGE)]))
    response = client.post(
        "/api/v1/ingest/envoy",
        gzip.compress("\n".join(lines).encode()),
        content_type="application/x-ndjson",
        HTTP_CONTENT_ENCODING="gzip",
    )
    assert response.json()["accepted"] == 2
    bomb = gzip.compress(b"\n" * (64 * 1024 * 1024))
    assert len(bomb) < 100_000
    with override_settings(MESHVIEW_MAX_BODY_BYTES=1024 * 1024):
        response = client.post("/api/v1/ingest/envoy", bomb, content_type="text/plain", HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 413
    assert "inflates" in response.json()["detail"]
    response = client.post(
        "/api/v1/ingest/envoy", b"\x1f\x8bnot gzip", content_type="text/plain", HTTP_CONTENT_ENCODING="gzip"
    )
    assert response.status_code == 400
    response = client.post("/api/v1/ingest/envoy", b"x", content_type="text/plain", HTTP_CONTENT_ENCODING="br")
    assert response.status_code == 415


@pytest.mark.usefixtures("anon")
def test_limits_refuse_the_whole_body_and_write_nothing(client: Client) -> None:
    with override_settings(MESHVIEW_MAX_BODY_BYTES=1000):
        response = client.post(f"/api/v1/ingest/envoy?{REPORTER}", "\n".join([line()] * 10), content_type="text/plain")
    assert response.status_code == 413
    with override_settings(MESHVIEW_MAX_LINES_PER_REQUEST=3):
        response = client.post(f"/api/v1/ingest/envoy?{REPORTER}", "\n".join([line()] * 4), content_type="text/plain")
    assert response.status_code == 413
    assert TrafficRollup.objects.count() == 0
    response = client.post(f"/api/v1/ingest/envoy?{REPORTER}", "x" * 70000, content_type="text/plain")
    assert response.json()["rejected"] == 1
    assert client.post("/api/v1/ingest/envoy", "{}", content_type="application/xml").status_code == 415
    response = client.post("/api/v1/ingest/envoy?namespace=a&role=chief&pod=x", "x", content_type="text/plain")
    assert (response.status_code, response.json()["detail"]) == (
        400,
        "role must be one of sidecar, ingress-gateway, egress-gateway",
    )
    response = client.post("/api/v1/ingest/envoy?log_format=%25BROKEN", "x", content_type="text/plain")
    assert response.status_code == 400
    assert "malformed command operator" in response.json()["detail"]


def test_ingest_needs_the_ingest_scope_off_loopback(client: Client) -> None:
    from meshview.core.actions import issue_token

    _, reader = issue_token("reader", ["read"])
    _, shipper = issue_token("shipper", ["ingest"])
    url = f"/api/v1/ingest/envoy?{REPORTER}"
    assert client.post(url, line(), content_type="text/plain").status_code == 401
    assert client.post(url, line(), content_type="text/plain", HTTP_AUTHORIZATION=f"Bearer {reader}").status_code == 403
    response = client.post(url, line(), content_type="text/plain", HTTP_AUTHORIZATION=f"Bearer {shipper}")
    assert response.status_code == 200
    assert ApiToken.objects.get(name="shipper").last_used_at is not None


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("anon")
def test_a_locked_database_answers_503_with_retry_after_and_keeps_nothing(client: Client) -> None:
    """Another connection holds the lock ingest needs: ingest gives up and says when to retry."""
    with database_locked("mesh_traffic_rollup"):
        response = client.post(f"/api/v1/ingest/envoy?{REPORTER}", line(), content_type="text/plain")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert TrafficRollup.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_two_web_processes_share_the_two_sides_of_each_request(tmp_path: Path) -> None:
    env = {"DATABASE_URL": database_url(), "MESHVIEW_SETTLE_SECONDS": "10"}
    servers = [Server(tmp_path / f"web{i}", env=env, args=("--no-worker",)) for i in range(2)]
    try:
        for server in servers:
            server.wait_ready()
        calls = [Call(GATEWAY, SERVICES["productpage"], PRODUCTPAGE) for _ in range(30)]
        server_side = list(meshsim.envoy_envelopes(calls, sides="server", with_ip=False))
        client_side = list(meshsim.envoy_envelopes(calls, sides="client", with_ip=False))
        import urllib.request

        def send(server: Server, lines: list[str]) -> None:
            request = urllib.request.Request(
                server.url + "/api/v1/ingest/envoy",
                "\n".join(lines).encode(),
                headers={"Content-Type": "application/x-ndjson"},
            )
            with urllib.request.urlopen(request) as response:
                assert json.load(response)["rejected"] == 0

        # Each process gets one side of every request, in small interleaved batches.
        threads = [
            threading.Thread(target=lambda: [send(servers[0], server_side[i : i + 5]) for i in range(0, 30, 5)]),
            threading.Thread(target=lambda: [send(servers[1], client_side[i : i + 5]) for i in range(0, 30, 5)]),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for server in servers:
            server.stop()
    from meshview.mesh import actions

    actions.settle_expired()  # within the window: only twins can settle what is left
    assert PendingRequest.objects.count() == 0
    rows = TrafficRollup.objects.filter(key__reporter="destination")
    edges = {(r.key.source_workload, r.key.destination_workload) for r in rows}
    assert edges == {("istio-ingressgateway", "productpage-v1")}
    assert sum(r.requests for r in rows) == 30


def unowned_server_lines(count: int) -> list[str]:
    """Server-side records from callers no proxy vouches for: they wait in the settle window."""
    calls = [
        Call(None, SERVICES["details"], meshsim.DETAILS, user_agent="kube-probe/1.29", remote_ip=meshsim.NODE_IP)
        for _ in range(count)
    ]
    return [meshsim.server_line(call) for call in calls]  # type: ignore[misc]


DETAILS_REPORTER = "namespace=bookinfo&pod=details-v1-5f7d8c9b6d-x2k4q"


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("anon")
def test_records_that_must_wait_are_not_kept_when_the_database_refuses_them(client: Client) -> None:
    """The pending table is locked: nothing of the batch is written, and the client is told to retry."""
    with database_locked("mesh_pendingrequest"):
        response = client.post(
            f"/api/v1/ingest/envoy?{DETAILS_REPORTER}", "\n".join(unowned_server_lines(20)), content_type="text/plain"
        )
    assert (response.status_code, response["Retry-After"]) == (503, "5")
    assert (PendingRequest.objects.count(), TrafficRollup.objects.count()) == (0, 0)
    response = client.post(
        f"/api/v1/ingest/envoy?{DETAILS_REPORTER}", "\n".join(unowned_server_lines(20)), content_type="text/plain"
    )
    assert response.json()["accepted"] == 20
    assert PendingRequest.objects.count() == 20


@pytest.mark.django_db(transaction=True)
def test_every_acknowledged_line_survives_kill_9_of_the_web_process(tmp_path: Path) -> None:
    """Two clients post while the serve process is killed with SIGKILL: every body answered 200
    is in the database (rolled up, or waiting in the settle window), as a restart finds it."""
    env = {"DATABASE_URL": database_url(), "MESHVIEW_SETTLE_SECONDS": "1"}
    server = Server(tmp_path / "web", env=env, args=("--no-worker",)).wait_ready()
    acknowledged = {"server": 0, "client": 0}
    in_flight = {"server": 0, "client": 0}
    counting = threading.Lock()
    stop = threading.Event()
    both_sides = "\n".join(meshsim.envoy_envelopes(meshsim.bookinfo_calls(datetime.now(UTC), 5)))
    server_lines = sum(" inbound|" in line for line in both_sides.splitlines())
    bodies = [
        ("server", f"?{DETAILS_REPORTER}", "text/plain", "\n".join(unowned_server_lines(500)), 500, 0),
        ("client", "", "application/x-ndjson", both_sides, server_lines, len(both_sides.splitlines()) - server_lines),
    ]

    def post(kind: str, query: str, content_type: str, body: str, server_count: int, client_count: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        while not stop.is_set():
            in_flight[kind] = 1
            try:
                connection.request("POST", f"/api/v1/ingest/envoy{query}", body, {"Content-Type": content_type})
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                return  # the process is gone: this body was never acknowledged
            if response.status == 200:
                with counting:
                    acknowledged["server"] += server_count
                    acknowledged["client"] += client_count
            in_flight[kind] = 0

    threads = [threading.Thread(target=post, args=body) for body in bodies]
    for thread in threads:
        thread.start()
    time.sleep(4)  # long enough for records to wait, settle and roll up
    os.kill(server.process.pid, signal.SIGKILL)
    server.process.wait()
    stop.set()
    for thread in threads:
        thread.join()
    assert acknowledged["server"] > 0 and acknowledged["client"] > 0
    destination = sum(TrafficRollup.objects.filter(key__reporter="destination").values_list("requests", flat=True))
    source = sum(TrafficRollup.objects.filter(key__reporter="source").values_list("requests", flat=True))
    waiting = PendingRequest.objects.count()
    # At most the body in flight when the process died may also have committed.
    unacknowledged = 500 * in_flight["server"] + server_lines * in_flight["client"]
    assert acknowledged["server"] <= destination + waiting <= acknowledged["server"] + unacknowledged
    assert acknowledged["client"] <= source <= acknowledged["client"] + bodies[1][5] * in_flight["client"]
