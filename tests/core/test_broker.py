"""The embedded broker (meshview.core.broker) with a producer and a consumer racing on one folder."""

import threading
import time
from pathlib import Path

import pytest
from kombu import Connection
from kombu.utils.json import dumps

from meshview.core import broker

MESSAGES = 40


def slow_dumps(payload: object) -> str:
    """Serialising that takes a while, as a big message does on a loaded machine."""
    time.sleep(0.02)
    return dumps(payload)


def test_a_consumer_never_takes_a_message_before_it_is_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """kombu's own filesystem transport fails this: its consumer takes the file the producer has
    created but not yet written, and the worker stops on the empty message."""
    monkeypatch.setattr(broker, "dumps", slow_dumps)
    options = {
        "data_folder_in": str(tmp_path),
        "data_folder_out": str(tmp_path),
        "store_processed": False,
        "polling_interval": 0.005,
    }
    transport = "meshview.core.broker:Transport"

    def produce() -> None:
        with Connection("filesystem://", transport=transport, transport_options=options) as connection:
            queue = connection.SimpleQueue("celery")
            for i in range(MESSAGES):
                queue.put({"n": i})
            queue.close()

    producer = threading.Thread(target=produce)
    producer.start()
    received = []
    try:
        with Connection("filesystem://", transport=transport, transport_options=options) as connection:
            queue = connection.SimpleQueue("celery")
            while len(received) < MESSAGES:
                message = queue.get(timeout=10)
                received.append(message.payload["n"])
                message.ack()
            queue.close()
    finally:
        producer.join()
    assert sorted(received) == list(range(MESSAGES))
