"""Fixtures that start or reach the real components meshview's tests talk to.

A test whose service is absent is skipped with the reason locally; with CI=true every skip
becomes a failure, so CI proves the PostgreSQL, Redis, Prometheus and browser tests ran.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
# Several checkouts may test at once on one machine: each may pick its own Redis database.
LOCAL_REDIS = os.environ.get("MESHVIEW_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped while CI=true (every service must be present in CI): {reason}"


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from django.conf import settings

    db = settings.DATABASES["default"]
    if not db["ENGINE"].endswith("postgresql"):
        # Tests marked `postgres` need PostgreSQL itself: they run in make test's PostgreSQL pass.
        postgres_only = [item for item in items if item.get_closest_marker("postgres")]
        if postgres_only:
            config.hook.pytest_deselected(items=postgres_only)
            items[:] = [item for item in items if not item.get_closest_marker("postgres")]
    if db["ENGINE"].endswith("postgresql"):
        host, port = db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)
        if not _reachable(host, port):
            skip = pytest.mark.skip(reason=f"PostgreSQL at {host}:{port} (DATABASE_URL) is not reachable")
            for item in items:
                if item.get_closest_marker("django_db"):
                    item.add_marker(skip)


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A Redis database for tests (db 15 of the local server unless MESHVIEW_TEST_REDIS_URL names
    another), flushed before use."""
    if not _reachable("127.0.0.1", 6379):
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    import redis

    redis.Redis.from_url(LOCAL_REDIS).flushdb()
    return LOCAL_REDIS


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    return CHROMIUM


def database_url() -> str:
    """The URL of the test database, so another process (a worker, a second web process)
    writes where the test reads."""
    from django.db import connection

    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    return f"postgresql://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@contextmanager
def database_locked(table: str) -> Iterator[None]:
    """Another connection holds the lock a write to `table` needs, so the write fails as it does
    when the database is overloaded: SQLite's whole-database lock (writers give up after the
    busy timeout), or on PostgreSQL a table lock with this connection's lock_timeout at 1 s."""
    import sqlite3

    import psycopg
    from django.db import connection

    db = connection.settings_dict
    if connection.vendor == "sqlite":
        blocker = sqlite3.connect(db["NAME"], timeout=1)
        blocker.execute("BEGIN EXCLUSIVE")
    else:
        blocker = psycopg.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"])
        blocker.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '1s'")
    try:
        yield
    finally:
        blocker.rollback()
        blocker.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    """Wait until `url` answers 200; fail with the process's output if it dies or never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            pytest.fail(f"server exited with {process.returncode}:\n{output}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"{url} did not answer within {timeout} s")


class Server:
    """A `manage.py serve` subprocess on a free loopback port."""

    def __init__(
        self, data_dir: Path, env: dict[str, str] | None = None, args: tuple[str, ...] = (), log: Path | None = None
    ) -> None:
        """`log`: a file for what the server prints, for a server that runs long enough to fill a pipe."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "MESHVIEW_DATA_DIR": str(data_dir), **(env or {})}
        self.log = log
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "serve", "--port", str(self.port), *args],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE if log is None else log.open("w"),
            stderr=subprocess.STDOUT,
            text=True,
        )

    def wait_ready(self) -> "Server":
        wait_for_http(f"{self.url}/healthz", self.process)
        return self

    def stop(self) -> str:
        """Stop with SIGTERM, as an orchestrator would; return everything it printed."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.log is not None:
            return self.log.read_text()
        return self.process.stdout.read() if self.process.stdout else ""


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Server]:
    """meshview running embedded (SQLite, in-memory layer, filesystem broker) on a free port."""
    server = Server(tmp_path / "data").wait_ready()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`serve --demo`: meshview embedded on a free port, fed by the demo mesh at 20 page views
    per second; shared by the tests of a run."""
    folder = tmp_path_factory.mktemp("demo")
    server = Server(folder / "data", args=("--demo", "--demo-rate", "20"), log=folder / "serve.log").wait_ready()
    yield server
    server.stop()


@pytest.fixture
def browser(chromium_path: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def output_dir(request: pytest.FixtureRequest) -> Path:
    """A folder for what a test produces (screenshots), kept after the run under tests/output/."""
    path = ROOT / "tests" / "output" / request.node.name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path
