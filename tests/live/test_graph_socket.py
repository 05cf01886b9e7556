"""The live graph over /ws/graph/: a snapshot, then deltas within a second of new traffic."""

import time

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.test import override_settings

from meshview.envoy.parser import LogParser
from meshview.mesh import actions
from tests import meshsim
from tests.meshsim import GATEWAY, PRODUCTPAGE, SERVICES, Call

ORIGIN = [(b"host", b"127.0.0.1"), (b"origin", b"http://127.0.0.1")]
PATH = "/ws/graph/?namespaces=bookinfo&graphType=workload&duration=60s&sources=accesslogs"


def ingest(calls: list[Call]) -> None:
    actions.ingest_envoy_lines(list(meshsim.envoy_envelopes(calls)), "ndjson", LogParser("auto"), None)
    connections.close_all()  # this worker thread's connection would outlive the test database


@pytest.mark.django_db(transaction=True)
async def test_new_traffic_reaches_an_open_socket_within_a_second() -> None:
    from meshview.asgi import application

    with override_settings(MESHVIEW_ANONYMOUS_ACCESS=True):
        await sync_to_async(ingest)([Call(GATEWAY, SERVICES["productpage"], PRODUCTPAGE)])
        socket = WebsocketCommunicator(application, PATH, headers=ORIGIN)
        connected, _ = await socket.connect()
        assert connected
        snapshot = await socket.receive_json_from(timeout=10)
        assert snapshot["type"] == "graph.snapshot"
        before = {n["data"]["id"] for n in snapshot["graph"]["elements"]["nodes"]}
        assert "workload:Kubernetes:bookinfo:productpage-v1" in before
        assert "workload:Kubernetes:bookinfo:details-v1" not in before

        time.sleep(1.1)  # the socket's last push is over a second old: the next change goes out at once
        sent = time.monotonic()
        await sync_to_async(ingest)([Call(PRODUCTPAGE, SERVICES["details"], meshsim.DETAILS)])
        delta = await socket.receive_json_from(timeout=5)
        latency = time.monotonic() - sent
        assert delta["type"] == "graph.delta"
        added = {n["data"]["id"] for n in delta["nodes"]["added"]}
        assert "workload:Kubernetes:bookinfo:details-v1" in added
        assert any(e["data"]["target"] == "workload:Kubernetes:bookinfo:details-v1" for e in delta["edges"]["added"])
        assert delta["nodes"]["removed"] == []
        assert latency < 1.0, f"the change took {latency:.2f} s to reach the socket"
        await socket.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_bad_parameter_closes_the_socket_with_the_reason() -> None:
    from meshview.asgi import application

    with override_settings(MESHVIEW_ANONYMOUS_ACCESS=True):
        socket = WebsocketCommunicator(application, "/ws/graph/?graphType=galaxy", headers=ORIGIN)
        connected, _ = await socket.connect()
        assert connected
        message = await socket.receive_json_from(timeout=5)
        assert message["type"] == "error" and "graphType" in message["detail"]
        assert (await socket.receive_output(timeout=5))["code"] == 4400


@pytest.mark.django_db(transaction=True)
async def test_a_costly_view_is_refreshed_less_often(monkeypatch) -> None:
    from meshview.asgi import application
    from meshview.live import consumers

    read_graph = consumers._read_graph

    def costly(*args: object) -> dict:
        time.sleep(0.3)  # a graph that takes 0.3 s to compute
        return read_graph(*args)

    monkeypatch.setattr(consumers, "_read_graph", costly)
    with override_settings(MESHVIEW_ANONYMOUS_ACCESS=True):
        await sync_to_async(ingest)([Call(GATEWAY, SERVICES["productpage"], PRODUCTPAGE)])
        # A view of its own: the process shares a view's graph for a second, another test's too.
        socket = WebsocketCommunicator(application, PATH.replace("duration=60s", "duration=120s"), headers=ORIGIN)
        connected, _ = await socket.connect()
        assert connected
        assert (await socket.receive_json_from(timeout=10))["type"] == "graph.snapshot"
        time.sleep(1.1)
        await sync_to_async(ingest)([Call(PRODUCTPAGE, SERVICES["details"], meshsim.DETAILS)])
        assert (await socket.receive_json_from(timeout=5))["type"] == "graph.delta"
        first = time.monotonic()
        await sync_to_async(ingest)([Call(PRODUCTPAGE, SERVICES["reviews"], meshsim.REVIEWS["v1"])])
        assert (await socket.receive_json_from(timeout=5))["type"] == "graph.delta"
        # The next fetch waits three times the 0.3 s the last one took (not half a second), then
        # takes 0.3 s itself.
        assert time.monotonic() - first >= 1.0
        await socket.disconnect()
