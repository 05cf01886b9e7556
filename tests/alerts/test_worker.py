"""Alerting end to end with real Celery worker processes (beat inside the first), on the
embedded filesystem broker and on Redis: traffic fed through the ingest endpoint makes rules
fire and resolve, and deliveries reach real HTTP receivers on 127.0.0.1."""

import hashlib
import hmac
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.test import Client, override_settings

from meshview.alerts.models import Alert, DeliveryAttempt, Notification, Receiver, Rule
from meshview.core.management.commands.serve import embedded_worker_command
from tests.alerts.receiver import Reply, running
from tests.alerts.traffic import calls, feed
from tests.conftest import database_url

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db(transaction=True)


class Workers:
    """Celery worker processes sharing the test's database and a broker; the first runs beat."""

    def __init__(self, env: dict[str, str], schedule: Path) -> None:
        self.env = env
        self.schedule = schedule
        self.processes: list[subprocess.Popen] = []
        self.log = (schedule.parent / "workers.log").open("a")

    def start(self, count: int = 1) -> None:
        for i in range(count):
            command = embedded_worker_command(self.schedule)
            command[command.index("--hostname") + 1] = f"alerts{len(self.processes)}@%h"
            if i > 0:
                command.remove("--beat")
            self.processes.append(
                subprocess.Popen(
                    command,
                    cwd=ROOT,
                    env=self.env,
                    stdout=self.log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )

    def kill(self) -> None:
        """SIGKILL every worker and its children: no chance to finish or acknowledge anything."""
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        self.processes = []

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes = []


@pytest.fixture(params=["embedded", "redis"])
def workers(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Workers]:
    env = {
        **os.environ,
        "MESHVIEW_DATA_DIR": str(tmp_path),
        "DATABASE_URL": database_url(),
        "MESHVIEW_ALERT_INTERVAL": "1",
        "MESHVIEW_WEBHOOK_ALLOW_PRIVATE": "1",
        "MESHVIEW_WEBHOOK_RETRY_BASE_MS": "300",
    }
    env.pop("REDIS_URL", None)
    env.pop("MESHVIEW_PROMETHEUS_URL", None)
    if request.param == "redis":
        env["REDIS_URL"] = request.getfixturevalue("redis_url")
    pool = Workers(env, tmp_path / "beat-schedule")
    yield pool
    pool.stop()


@pytest.fixture(autouse=True)
def anonymous():
    with override_settings(MESHVIEW_ANONYMOUS_ACCESS=True):
        yield


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout} s: {what}")


def statuses(received) -> list[str]:
    return [r.json()["status"] for r in received]


def test_rules_fire_and_resolve_and_each_receiver_hears_once(client: Client, workers: Workers) -> None:
    with (
        running() as good,
        running([Reply(503, {"Retry-After": "1"}), Reply(500)]) as flaky,
        running(default=Reply(400, body=b"unknown field")) as bad,
    ):
        rule = Rule.objects.create(name="reviews errors", kind="error_rate", threshold=10.0, window_seconds=120)
        for name, receiver in (("good", good), ("flaky", flaky), ("bad", bad)):
            rule.receivers.add(
                Receiver.objects.create(
                    name=name,
                    kind="webhook",
                    url=f"{receiver.url}/hook",
                    secret=f"{name}-secret",
                    group_interval_seconds=1,
                )
            )
        # Two workers on Redis: the evaluation of each tick spreads over them.
        workers.start(2 if "REDIS_URL" in workers.env else 1)
        feed(client, calls(ok=5, failed=5))
        good.wait_for(1, timeout=60)
        request = good.received[0]
        assert request.headers["x-meshview-signature"] == (
            "sha256=" + hmac.new(b"good-secret", request.body, hashlib.sha256).hexdigest()
        )
        (alert,) = request.json()["alerts"]
        assert alert["labels"]["workload"] == "reviews-v1" and alert["value"] == 50.0
        flaky.wait_for(3, timeout=30)
        bad.wait_for(1, timeout=30)

        feed(client, calls(ok=300))
        good.wait_for(2, timeout=60)
        flaky.wait_for(4, timeout=30)
        bad.wait_for(2, timeout=30)
        time.sleep(4)  # several more ticks: nothing more is sent

    assert statuses(good.received) == ["firing", "resolved"]
    # Fails twice, then succeeds: three requests, one notification (one delivery key), then its resolution.
    assert [r.headers["x-meshview-delivery"] for r in flaky.received[:3]] == [
        flaky.received[0].headers["x-meshview-delivery"]
    ] * 3
    assert statuses(flaky.received) == ["firing", "firing", "firing", "resolved"]
    # A 400 is not retried: one attempt per notification.
    assert statuses(bad.received) == ["firing", "resolved"]
    flaky_log = Notification.objects.filter(receiver__name="flaky").order_by("pk")
    assert [n.state for n in flaky_log] == ["delivered", "delivered"]
    assert [a.status_code for a in DeliveryAttempt.objects.filter(notification=flaky_log[0]).order_by("number")] == [
        503,
        500,
        200,
    ]
    assert [n.state for n in Notification.objects.filter(receiver__name="bad")] == ["failed", "failed"]
    (fired,) = Alert.objects.all()
    assert fired.state == "resolved"
    assert [t.state for t in fired.transitions.order_by("at", "pk")] == ["firing", "resolved"]


def test_a_worker_killed_mid_delivery_notifies_once_after_restart(client: Client, workers: Workers) -> None:
    with running([Reply(200, delay=20)]) as receiver:
        rule = Rule.objects.create(name="reviews errors", kind="error_rate", threshold=10.0, window_seconds=120)
        rule.receivers.add(
            Receiver.objects.create(name="hook", kind="webhook", url=f"{receiver.url}/hook", timeout_seconds=1)
        )
        workers.start()
        feed(client, calls(failed=5))
        assert receiver.arrived.wait(60), "the first attempt never arrived"
        workers.kill()  # the request is on the wire, its answer will never be recorded
        notification = Notification.objects.get()
        assert notification.state == "sending"
        workers.start()
        wait_until(lambda: Notification.objects.get().state == "unconfirmed", 60, "the cut-short attempt taken over")
        time.sleep(4)  # more ticks, and the sweeper: nothing more is sent
        received = list(receiver.received)

    assert len(received) == 1
    assert received[0].headers["x-meshview-delivery"] == str(notification.delivery_key)
    assert Notification.objects.count() == 1
    assert list(
        DeliveryAttempt.objects.filter(notification=notification).order_by("number").values_list("outcome", flat=True)
    ) == ["interrupted"]
