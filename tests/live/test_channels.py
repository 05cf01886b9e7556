"""Websocket fan-out through the in-memory channel layer and through Redis."""

import pytest
from asgiref.sync import sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.test import override_settings

from meshview.live.broadcast import TRACES_GROUP, publish_after_commit

ORIGIN = [(b"host", b"127.0.0.1"), (b"origin", b"http://127.0.0.1")]


@pytest.fixture(params=["memory", "redis"])
def channel_layer_settings(request: pytest.FixtureRequest):
    if request.param == "memory":
        config = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    else:
        url = request.getfixturevalue("redis_url")
        config = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [url]}}}
    with override_settings(CHANNEL_LAYERS=config, MESHVIEW_ANONYMOUS_ACCESS=True):
        channel_layers.backends.clear()
        yield request.param
    channel_layers.backends.clear()


@pytest.mark.django_db(transaction=True)
async def test_an_event_published_after_commit_reaches_every_open_socket(channel_layer_settings: str) -> None:
    from asgiref.sync import sync_to_async

    from meshview.asgi import application

    sockets = [WebsocketCommunicator(application, "/ws/traces/", headers=ORIGIN) for _ in range(3)]
    for socket in sockets:
        connected, _ = await socket.connect()
        assert connected
        snapshot = await socket.receive_json_from(timeout=5)
        assert snapshot["type"] == "traces.snapshot"

    def publish() -> None:
        publish_after_commit(TRACES_GROUP, "traces.delta", lambda: {"traces": [{"traceId": "ab" * 16}]})
        connections.close_all()  # this worker thread's connection would outlive the test database

    await sync_to_async(publish)()
    for socket in sockets:
        event = await socket.receive_json_from(timeout=5)
        assert event == {"type": "traces.delta", "traces": [{"traceId": "ab" * 16}]}
        await socket.disconnect()


async def test_a_remote_client_without_a_session_is_refused() -> None:
    from meshview.asgi import application

    socket = WebsocketCommunicator(application, "/ws/traces/", headers=ORIGIN)
    with override_settings(MESHVIEW_ANONYMOUS_ACCESS=False):
        connected, code = await socket.connect()
    assert not connected
    assert code == 4401


@pytest.mark.django_db(transaction=True)
async def test_stored_spans_reach_the_traces_socket_as_summaries() -> None:
    from meshview.asgi import application
    from tests.traces.test_store_and_query import export, span

    def store() -> None:
        from django.test import Client

        with override_settings(MESHVIEW_ANONYMOUS_ACCESS=True):
            response = Client().post(
                "/v1/traces", export("checkout", [span(42, 1, "POST /pay"), span(42, 2, "charge", parent=1)]),
                content_type="application/x-protobuf",
            )
        assert response.status_code == 200
        connections.close_all()

    with override_settings(MESHVIEW_ANONYMOUS_ACCESS=True):
        socket = WebsocketCommunicator(application, "/ws/traces/", headers=ORIGIN)
        connected, _ = await socket.connect()
        assert connected
        assert (await socket.receive_json_from(timeout=5)) == {"type": "traces.snapshot", "traces": []}
        await sync_to_async(store)()
        event = await socket.receive_json_from(timeout=5)
        assert event["type"] == "traces.delta"
        [summary] = event["traces"]
        assert (summary["traceId"], summary["rootServiceName"], summary["rootOperationName"], summary["spanCount"]) == (
            f"{42:032x}", "checkout", "POST /pay", 2
        )
        await socket.disconnect()
        # a new viewer gets it in its snapshot
        late = WebsocketCommunicator(application, "/ws/traces/", headers=ORIGIN)
        await late.connect()
        snapshot = await late.receive_json_from(timeout=5)
        assert [t["traceId"] for t in snapshot["traces"]] == [f"{42:032x}"]
        await late.disconnect()
