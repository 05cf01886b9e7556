"""meshview as a user first meets it: `serve`, then the UI in headless Chromium."""

import json
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import Server

pytestmark = pytest.mark.browser


def test_the_shell_renders_and_the_api_docs_load(serve: Server, browser, output_dir: Path) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(serve.url + "/")
    for name in ("graph", "traces", "alerts"):
        assert page.get_by_test_id(f"nav-{name}").is_visible()
    page.get_by_test_id("nav-traces").click()
    page.get_by_test_id("page-traces").wait_for()
    assert page.url == serve.url + "/traces"
    page.get_by_test_id("nav-graph").click()
    page.get_by_test_id("page-graph").wait_for()
    page.screenshot(path=output_dir / "shell.png", full_page=True)
    assert errors == []

    with urllib.request.urlopen(serve.url + "/api/schema/?format=json") as response:
        assert json.load(response)["info"]["title"] == "meshview API"
    page.goto(serve.url + "/api/docs/")
    page.locator(".swagger-ui .info .title").wait_for(timeout=15000)
    assert "meshview API" in page.locator(".swagger-ui .info .title").inner_text()
    page.screenshot(path=output_dir / "api-docs.png")


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_serve_stops_cleanly_on_sigterm_with_its_worker(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = Server(data_dir).wait_ready()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(_processes_mentioning(str(data_dir))) < 1:
        time.sleep(0.2)
    assert _processes_mentioning(str(data_dir)), "the embedded worker did not start"
    time.sleep(3)  # let the worker finish booting, so the stop is a real shutdown
    output = server.stop()
    assert server.process.returncode == 0, output
    assert "Starting the embedded Celery worker and beat" in output
    assert _processes_mentioning(str(data_dir)) == [], "the worker outlived serve"
