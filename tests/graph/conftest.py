"""Fixtures for the graph tests: a real Prometheus holding the Istio metrics of simulated calls.

`prometheus_with(calls, end)` backfills the metrics `tests.graph.promsim` renders into a fresh
TSDB with promtool, starts Prometheus on it (loopback, a free port, no scrape targets) and
returns its base URL; the same data starts one Prometheus per session. `bookinfo_prometheus`
is the Bookinfo minute of `tests.meshsim` over the window ending at `promsim.QUERY_TIME`.

Prometheus serves backfilled blocks as soon as it is ready. Time-based retention counts back
from the newest block, not from the wall clock, so old data stays; 100y keeps size-based and
time-based retention out of the way. The queries read range vectors, which the lookback delta
does not limit, so it needs no change.
"""

import hashlib
import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.graph import promsim
from tests.meshsim import Call, bookinfo_calls

PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"
READY_TIMEOUT_S = 30
CONFIG = "global:\n  scrape_interval: 1h\nscrape_configs: []\n"

PrometheusWith = Callable[..., str]


class _Prometheus:
    """A Prometheus process serving one backfilled TSDB."""

    def __init__(self, root: Path, text: str) -> None:
        root.mkdir(parents=True)
        source = root / "metrics.om"
        source.write_text(text)
        data = root / "data"
        created = subprocess.run(
            [PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", str(source), str(data)],
            capture_output=True, text=True, timeout=120, check=False,
        )
        if created.returncode != 0:
            pytest.fail(f"promtool could not backfill the metrics:\n{created.stdout}\n{created.stderr}")
        config = root / "prometheus.yml"
        config.write_text(CONFIG)
        self.log = root / "prometheus.log"
        self.url = f"http://127.0.0.1:{free_port()}"
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [
                    PROMETHEUS,
                    f"--config.file={config}",
                    f"--storage.tsdb.path={data}",
                    "--storage.tsdb.retention.time=100y",
                    f"--web.listen-address={self.url.removeprefix('http://')}",
                    "--log.level=warn",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"prometheus exited with {self.process.returncode}:\n{self.log.read_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        self.stop()
        pytest.fail(f"prometheus was not ready within {READY_TIMEOUT_S} s:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="session")
def prometheus_with(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusWith]:
    """A factory: ``prometheus_with(calls, end=QUERY_TIME, **promsim options)`` returns the base
    URL of a Prometheus holding the Istio metrics of `calls` over the window ending at `end`.
    Skips when the prometheus or promtool binary is missing."""
    for binary in (PROMETHEUS, PROMTOOL):
        if not os.access(binary, os.X_OK):
            pytest.skip(f"{binary} is not installed (apt-get install prometheus)")
    root = tmp_path_factory.mktemp("prometheus")
    running: dict[str, _Prometheus] = {}

    def start(calls: Iterable[Call], end: int = promsim.QUERY_TIME, **options: object) -> str:
        text = promsim.openmetrics(calls, end, **options)  # type: ignore[arg-type]
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        if digest not in running:
            running[digest] = _Prometheus(root / digest, text)
        return running[digest].url

    try:
        yield start
    finally:
        for server in running.values():
            server.stop()
        shutil.rmtree(root, ignore_errors=True)


def bookinfo_minute() -> list[Call]:
    """The Bookinfo minute of tests.meshsim, ending at promsim.QUERY_TIME."""
    return bookinfo_calls(datetime.fromtimestamp(promsim.QUERY_TIME - 60, UTC))


@pytest.fixture(scope="session")
def bookinfo_prometheus(prometheus_with: PrometheusWith) -> str:
    """The base URL of a Prometheus holding the Bookinfo minute's Istio metrics, in the
    promsim.WINDOW_S seconds before promsim.QUERY_TIME."""
    return prometheus_with(bookinfo_minute())
