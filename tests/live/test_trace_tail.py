"""The live trace tail: a burst of connects shares one snapshot read."""

import asyncio

import pytest
from channels.testing import WebsocketCommunicator
from django.test import Client, override_settings

from meshview.core.metrics import LIVE_TRACE_SNAPSHOTS
from tests.traces.test_store_and_query import export, span

HEADERS = [(b"host", b"127.0.0.1"), (b"origin", b"http://127.0.0.1")]
SOCKETS = 200


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_connects_reads_the_snapshot_once(client: Client) -> None:
    from meshview.asgi import application

    with override_settings(MESHVIEW_ANONYMOUS_ACCESS=True):
        for trace in range(1, 31):
            body = export("frontend", [span(trace, 1, f"GET /{trace}"), span(trace, 2, "db", parent=1)])
            assert client.post("/v1/traces", body, content_type="application/x-protobuf").status_code == 200

        async def burst() -> list[dict]:
            sockets = [WebsocketCommunicator(application, "/ws/traces/", headers=HEADERS) for _ in range(SOCKETS)]
            assert all(connected for connected, _ in await asyncio.gather(*(s.connect(timeout=60) for s in sockets)))
            snapshots = await asyncio.gather(*(s.receive_json_from(timeout=30) for s in sockets))
            await asyncio.gather(*(s.disconnect() for s in sockets))
            return snapshots

        before = LIVE_TRACE_SNAPSHOTS._value.get()
        snapshots = asyncio.run(burst())
    reads = LIVE_TRACE_SNAPSHOTS._value.get() - before
    assert all(s["type"] == "traces.snapshot" and len(s["traces"]) == 20 for s in snapshots)
    assert all(s == snapshots[0] for s in snapshots)
    assert 1 <= reads <= 3, f"{SOCKETS} connects read the snapshot {reads} times"
