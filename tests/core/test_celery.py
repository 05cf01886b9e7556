"""A real Celery worker with beat, on the embedded filesystem broker and on Redis."""

import os
import subprocess
import time
from pathlib import Path

import pytest

from meshview.core.management.commands.serve import embedded_worker_command
from meshview.core.models import WorkerHeartbeat
from tests.conftest import database_url

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["embedded", "redis"])
def broker_env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "MESHVIEW_DATA_DIR": str(tmp_path), "DATABASE_URL": database_url()}
    env.pop("REDIS_URL", None)
    if request.param == "redis":
        env["REDIS_URL"] = request.getfixturevalue("redis_url")
    return env


@pytest.mark.django_db(transaction=True)
def test_beat_schedules_the_heartbeat_and_the_worker_runs_it(broker_env: dict[str, str], tmp_path: Path) -> None:
    worker = subprocess.Popen(
        embedded_worker_command(tmp_path / "beat-schedule"),
        cwd=ROOT,
        env=broker_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not WorkerHeartbeat.objects.exists():
            assert worker.poll() is None, worker.stdout.read() if worker.stdout else ""
            time.sleep(0.5)
        assert WorkerHeartbeat.objects.exists(), "no heartbeat within 60 s"
    finally:
        worker.terminate()
        worker.wait(timeout=30)
