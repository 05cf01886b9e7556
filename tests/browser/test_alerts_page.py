"""The Alerts page in Chromium against `serve` (its embedded worker evaluates the rules): a rule
created on the page fires on error traffic fed through the ingest endpoint, on the page and on
the graph."""

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import meshsim
from tests.alerts.traffic import calls
from tests.conftest import Server

pytestmark = pytest.mark.browser


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    server = Server(tmp_path / "data", env={"MESHVIEW_ALERT_INTERVAL": "1"}).wait_ready()
    yield server
    server.stop()


def feed(server: Server, traffic: list[meshsim.Call]) -> None:
    body = "\n".join(meshsim.envoy_envelopes(traffic)).encode()
    request = urllib.request.Request(
        f"{server.url}/api/v1/ingest/envoy", body, {"Content-Type": "application/x-ndjson"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert json.load(response)["rejected"] == 0


def test_a_rule_made_on_the_page_fires_on_the_page_and_on_the_graph(server: Server, browser, output_dir: Path) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(server.url + "/alerts")
    page.get_by_test_id("alerts-empty").wait_for()

    page.get_by_test_id("rule-new").click()
    page.get_by_test_id("rule-name").fill("reviews errors")
    page.get_by_test_id("rule-window").fill("soon")
    page.get_by_test_id("rule-save").click()
    # The API's 400 names the field; the page shows it under that field.
    page.get_by_text("is not a duration").wait_for()
    page.get_by_test_id("rule-window").fill("1m")
    page.get_by_test_id("rule-namespace").fill("bookinfo")
    page.get_by_test_id("rule-threshold").fill("10")
    page.get_by_test_id("rule-save").click()
    row = page.locator("[data-testid=rule-row][data-rule='reviews errors']")
    row.wait_for()

    feed(server, calls(ok=5, failed=5) + calls(ok=10, destination=meshsim.DETAILS))
    firing = page.locator("[data-testid=alert-row][data-state=firing][data-rule='reviews errors']")
    firing.wait_for(timeout=60_000)
    assert "bookinfo/reviews-v1" in firing.inner_text()
    assert row.get_by_test_id("rule-state").inner_text() == "firing"

    # Testing the rule against the current window shows what fires and what does not.
    row.get_by_test_id("rule-edit").click()
    page.get_by_test_id("rule-test").click()
    findings = page.get_by_test_id("rule-finding")
    findings.first.wait_for()
    shown = {findings.nth(i).inner_text() for i in range(findings.count())}
    assert any("bookinfo/reviews-v1" in f and "firing" in f for f in shown), shown
    assert any("bookinfo/details-v1" in f and "inactive" in f for f in shown), shown
    page.screenshot(path=output_dir / "alerts.png", full_page=True)

    firing.get_by_test_id("alert-graph-link").click()
    page.get_by_test_id("page-graph").wait_for()
    banner = page.get_by_test_id("graph-alerts")
    banner.wait_for(timeout=30_000)
    assert "1 firing alert" in banner.inner_text() and "reviews errors" in banner.inner_text()
    page.wait_for_timeout(1500)  # the layout settles
    page.screenshot(path=output_dir / "graph-with-alert.png")
    assert errors == []
