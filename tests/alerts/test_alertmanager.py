"""meshview pushing alerts to a real Alertmanager (Debian's prometheus-alertmanager) started
on 127.0.0.1, whose own webhook receiver is the test's HTTP server: alerts come out grouped,
resolutions follow, and an Alertmanager silence stops them."""

import json
import os
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.test import Client, override_settings

from meshview.alerts import actions
from meshview.alerts.models import Notification, NotificationGroup, Receiver, Rule
from tests.alerts.receiver import Receiver as HttpReceiver
from tests.alerts.receiver import running
from tests.alerts.traffic import DETAILS, calls, feed
from tests.conftest import free_port, wait_for_http

ALERTMANAGER = "/usr/bin/prometheus-alertmanager"
pytestmark = pytest.mark.django_db


@pytest.fixture
def hook() -> Iterator[HttpReceiver]:
    with running() as receiver:
        yield receiver


@pytest.fixture
def alertmanager(tmp_path: Path, hook: HttpReceiver) -> Iterator[str]:
    if not os.access(ALERTMANAGER, os.X_OK):
        pytest.skip(f"{ALERTMANAGER} is not installed (apt-get install prometheus-alertmanager)")
    config = tmp_path / "alertmanager.yml"
    config.write_text(
        json.dumps(
            {
                "route": {
                    "receiver": "hook",
                    "group_by": ["alertname"],
                    "group_wait": "1s",
                    "group_interval": "1s",
                    "repeat_interval": "1h",
                },
                "receivers": [
                    {"name": "hook", "webhook_configs": [{"url": f"{hook.url}/alertmanager", "send_resolved": True}]}
                ],
            }
        )
    )
    port = free_port()
    process = subprocess.Popen(
        [
            ALERTMANAGER,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/-/ready", process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture(autouse=True)
def settings_for_the_test():
    with override_settings(MESHVIEW_ANONYMOUS_ACCESS=True, MESHVIEW_WEBHOOK_ALLOW_PRIVATE=True):
        yield


_tick = iter(range(1, 1_000_000))


def evaluate_and_deliver(*rules: Rule) -> None:
    for rule in rules:
        actions.evaluate_rule(rule.pk, next(_tick))
    for pk in Notification.objects.filter(state="queued").values_list("pk", flat=True):
        delivery = actions.deliver(pk)
        assert delivery is not None and delivery.outcome == "delivered", delivery


def silence(alertmanager: str, alertname: str) -> None:
    now = datetime.now(UTC)
    body = {
        "matchers": [{"name": "alertname", "value": alertname, "isRegex": False, "isEqual": True}],
        "startsAt": now.isoformat(),
        "endsAt": (now + timedelta(hours=1)).isoformat(),
        "createdBy": "test",
        "comment": "maintenance",
    }
    request = urllib.request.Request(
        f"{alertmanager}/api/v2/silences", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def alertnames(hook: HttpReceiver) -> list[str]:
    return [r.json()["groupLabels"]["alertname"] for r in hook.received]


def test_alerts_pushed_to_alertmanager_come_out_of_its_webhook_grouped_and_silenced(
    client: Client, alertmanager: str, hook: HttpReceiver
) -> None:
    receiver = Receiver.objects.create(name="am", kind="alertmanager_api", url=alertmanager, group_interval_seconds=60)
    errors = Rule.objects.create(
        name="bookinfo errors",
        kind="error_rate",
        threshold=10.0,
        window_seconds=120,
        severity="critical",
        selector={"namespace": "bookinfo"},
    )
    errors.receivers.add(receiver)
    feed(client, calls(ok=5, failed=5) + calls(failed=5, destination=DETAILS))
    evaluate_and_deliver(errors)

    (grouped,) = hook.wait_for(1, timeout=30)
    body = grouped.json()
    assert body["version"] == "4" and body["status"] == "firing"
    assert body["groupLabels"] == {"alertname": "bookinfo errors"}
    assert body["commonLabels"]["severity"] == "critical"
    assert sorted(a["labels"]["workload"] for a in body["alerts"]) == ["details-v1", "reviews-v1"]
    assert all(a["generatorURL"].startswith("http") for a in body["alerts"])

    # Resolved in meshview: pushed with its end, and Alertmanager tells its receiver.
    feed(client, calls(ok=500) + calls(ok=500, destination=DETAILS))
    # The receiver's group interval (60 s) has passed.
    NotificationGroup.objects.update(last_notified_at=datetime.now(UTC) - timedelta(minutes=5))
    evaluate_and_deliver(errors)
    resolved = hook.wait_for(2, timeout=30)[1].json()
    assert resolved["status"] == "resolved" and len(resolved["alerts"]) == 2
    assert all(a["endsAt"] != "0001-01-01T00:00:00Z" for a in resolved["alerts"])

    # A silence in Alertmanager stops a rule's alerts; an unsilenced rule's still come through.
    silence(alertmanager, "silenced latency")
    silenced = Rule.objects.create(name="silenced latency", kind="latency", threshold=1.0, window_seconds=120)
    control = Rule.objects.create(name="control rate", kind="request_rate", threshold=0.01, window_seconds=120)
    for rule in (silenced, control):
        rule.receivers.add(receiver)
    evaluate_and_deliver(silenced, control)
    hook.wait_for(3, timeout=30)
    time.sleep(4)  # past group_wait and several group intervals
    assert alertnames(hook) == ["bookinfo errors", "bookinfo errors", "control rate"]
    pushed = Notification.objects.filter(rule=silenced)
    assert [n.state for n in pushed] == ["delivered"], "meshview pushed it; Alertmanager held it back"
