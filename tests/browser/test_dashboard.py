"""The dashboard as a Kiali or Jaeger user meets it, in Chromium against a real `serve --demo`:
the live graph, an edge's traces, a trace's timeline, the dependencies and a compare. Each test
saves the screenshots of what it checked under tests/output/<test>/."""

import json
import os
import re
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Server

pytestmark = pytest.mark.browser

GRAPH = "/graph?namespaces=bookinfo"
# The demo's unknown callers are attributed once the settle window ends.
SETTLED = 90


def cy_eval(page: Any, script: str) -> Any:
    """Evaluate `script` with `cy`, the graph page's cytoscape instance (cytoscape keeps it on
    its container)."""
    return page.evaluate(
        "(script) => { const cy = document.querySelector('[data-testid=graph-canvas] > div')._cyreg.cy;"
        " return new Function('cy', script)(cy); }",
        script,
    )


def cy_wait(page: Any, script: str, timeout: float = 10) -> None:
    """Wait until `script`, evaluated as by cy_eval, returns true: the page marks the canvas in
    an effect after the render that changed its address, not at once."""
    deadline = time.monotonic() + timeout
    while not cy_eval(page, script):
        if time.monotonic() > deadline:
            pytest.fail(f"not true within {timeout} s: {script}")
        time.sleep(0.1)


def open_graph(page: Any, server: Server) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(server.url + GRAPH)
    page.get_by_test_id("panel-summary").wait_for(timeout=30000)
    deadline = time.monotonic() + SETTLED
    while time.monotonic() < deadline and not cy_eval(page, "return cy.$('node[nodeType = \"unknown\"]').length"):
        time.sleep(1)
    assert errors == []


def get(server: Server, path: str) -> Any:
    with urllib.request.urlopen(server.url + path, timeout=10) as response:
        return json.load(response)


def trace_ids(server: Server, service: str, count: int) -> list[str]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = get(server, f"/jaeger/api/traces?service={service}&lookback=1h&limit={count}")["data"]
        if len(found) >= count:
            return [t["traceID"] for t in found]
        time.sleep(1)
    pytest.fail(f"the demo sent no {count} traces of {service}")


def test_the_graph_draws_the_unknown_node_and_the_gateway_as_roots_and_takes_deltas_live(
    demo_server: Server, browser: Any, output_dir: Path
) -> None:
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    open_graph(page, demo_server)
    roots = cy_eval(
        page,
        "return cy.nodes().filter(n => n.data('isRoot')).map(n => n.data('nodeType') === 'unknown' ? 'unknown'"
        " : (n.data('isGateway') ? 'gateway' : n.data('app')))",
    )
    assert sorted(roots) == ["gateway", "unknown"]
    # Nothing sends requests to a root: no edge ends at one.
    assert cy_eval(page, "return cy.edges().filter(e => e.target().data('isRoot')).length") == 0
    assert page.get_by_test_id("live-indicator").inner_text() == "Live"
    page.screenshot(path=output_dir / "graph.png")

    # A delta changes the drawn graph in place: no reload, the same canvas, new figures.
    page.evaluate("window.__sameDocument = true")
    before = cy_eval(page, "return cy.edges().map(e => e.id() + '=' + e.data('rate')).sort().join(',')")
    updated = page.get_by_test_id("graph-updated").inner_text()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        now = cy_eval(page, "return cy.edges().map(e => e.id() + '=' + e.data('rate')).sort().join(',')")
        if now != before and page.get_by_test_id("graph-updated").inner_text() != updated:
            break
        time.sleep(0.5)
    else:
        pytest.fail("no delta reached the open graph within 30 s")
    assert page.evaluate("window.__sameDocument") is True

    # Find in Kiali's grammar marks what it matches; hide takes the unknown node away.
    page.get_by_test_id("graph-find").fill("%httperr > 0")
    page.get_by_test_id("graph-find").press("Enter")
    page.wait_for_function("() => new URL(location.href).searchParams.get('find') === '%httperr > 0'")
    cy_wait(page, "return cy.edges('.found').length > 0")
    page.get_by_test_id("graph-hide").fill("node = unknown")
    page.get_by_test_id("graph-hide").press("Enter")
    page.wait_for_function("() => new URL(location.href).searchParams.get('hide') === 'node = unknown'")
    cy_wait(page, "return cy.$('node[nodeType = \"unknown\"]').hasClass('hidden')")
    page.screenshot(path=output_dir / "graph-find-hide.png")


def test_clicking_an_edge_opens_its_panel_whose_traces_link_finds_traces(
    demo_server: Server, browser: Any, output_dir: Path
) -> None:
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    open_graph(page, demo_server)
    # The edge from productpage to the reviews service, clicked where the canvas draws it.
    point = cy_eval(
        page,
        "const e = cy.edges().filter(e => e.source().data('app') === 'productpage'"
        " && e.target().data('service') === 'reviews')[0];"
        " cy.fit(e.connectedNodes(), 120); const m = e.renderedMidpoint();"
        " const r = cy.container().getBoundingClientRect(); return {x: r.left + m.x, y: r.top + m.y};",
    )
    page.wait_for_timeout(300)
    page.mouse.click(point["x"], point["y"])
    panel = page.get_by_test_id("panel-edge")
    panel.wait_for()
    assert "productpage" in panel.get_by_test_id("panel-title").inner_text()
    page.get_by_test_id("chart-requests").wait_for()
    page.screenshot(path=output_dir / "edge-panel.png")

    page.get_by_test_id("edge-traces-link").first.click()
    page.get_by_test_id("page-traces").wait_for()
    assert page.get_by_test_id("search-service").input_value() == "reviews"
    page.get_by_test_id("trace-row").first.wait_for(timeout=15000)
    assert page.get_by_test_id("trace-row").count() > 0
    page.screenshot(path=output_dir / "edge-traces.png")


def test_the_dependencies_page_draws_the_services(demo_server: Server, browser: Any, output_dir: Path) -> None:
    trace_ids(demo_server, "ratings", 1)
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(demo_server.url + "/dependencies")
    dag = page.get_by_test_id("dependencies-dag")
    try:
        dag.wait_for(timeout=60000)
    finally:
        page.screenshot(path=output_dir / "dependencies.png")
    assert int(dag.get_attribute("data-nodes")) >= 5
    assert int(dag.get_attribute("data-edges")) >= 4
    page.wait_for_timeout(500)
    page.screenshot(path=output_dir / "dependencies.png")


def big_trace(spans: int) -> tuple[dict, str]:
    """An OTLP/JSON export of one trace of `spans` spans over 12 services (each span has five
    children until they run out), and the trace's id."""
    now = time.time_ns()
    trace_id = os.urandom(16).hex()
    by_service: dict[str, list[dict]] = {}
    ids = [os.urandom(8).hex() for _ in range(spans)]
    for i in range(spans):
        parent = "" if i == 0 else ids[(i - 1) // 5]
        start = now + i * 1000
        by_service.setdefault(f"svc-{i % 12}", []).append(
            {
                "traceId": trace_id,
                "spanId": ids[i],
                "parentSpanId": parent,
                "name": f"op-{i % 40}",
                "kind": 2,
                "startTimeUnixNano": str(start),
                "endTimeUnixNano": str(start + (spans - i) * 1000),
            }
        )
    return {
        "resourceSpans": [
            {"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": name}}]},
             "scopeSpans": [{"spans": list_of}]}
            for name, list_of in by_service.items()
        ]
    }, trace_id


def test_a_trace_timeline_renders_and_a_10000_span_trace_paints_its_first_rows_fast(
    demo_server: Server, browser: Any, output_dir: Path
) -> None:
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    [trace_id] = trace_ids(demo_server, "reviews", 1)
    page.goto(f"{demo_server.url}/traces/{trace_id}")
    page.get_by_test_id("trace-timeline").wait_for()
    rows = page.get_by_test_id("span-row")
    assert rows.count() == int(page.get_by_test_id("trace-span-count").inner_text())
    rows.nth(1).click()
    page.get_by_test_id("span-tags").wait_for()
    page.screenshot(path=output_dir / "trace.png")
    page.get_by_test_id("view-statistics").click()
    assert page.get_by_test_id("trace-statistics").locator("tbody tr").count() > 1
    page.get_by_test_id("view-graph").click()
    page.get_by_test_id("trace-graph").wait_for()

    payload, big_id = big_trace(10_000)
    # One export per service, as each service's exporter sends its own spans.
    for resource_spans in payload["resourceSpans"]:
        body = json.dumps({"resourceSpans": [resource_spans]}).encode()
        headers = {"Content-Type": "application/json"}
        request = urllib.request.Request(demo_server.url + "/v1/traces", data=body, headers=headers)
        with urllib.request.urlopen(request, timeout=120) as response:
            assert response.status == 200
    page.goto(f"{demo_server.url}/traces/{big_id}")
    page.get_by_test_id("span-row").first.wait_for(timeout=30000)
    painted_ms = page.evaluate("performance.now()")
    # The browser's part: from the trace's response (about 3 MB of JSON) to its first rows.
    answered_ms = page.evaluate(
        "(id) => performance.getEntriesByType('resource')"
        ".find((e) => e.name.includes('/jaeger/api/traces/' + id)).responseEnd",
        big_id,
    )
    # Only the rows in view are in the page: the list is virtual.
    assert page.get_by_test_id("trace-span-count").inner_text() == "10000"
    assert 10 < page.get_by_test_id("span-row").count() < 200
    print(
        f"10,000-span trace: first rows painted {painted_ms:.0f} ms after navigation,"
        f" {painted_ms - answered_ms:.0f} ms after the server's answer"
    )
    assert painted_ms - answered_ms < 2000
    page.get_by_test_id("timeline-scroller").evaluate("el => el.scrollTop = el.scrollHeight")
    page.wait_for_timeout(300)
    assert page.get_by_test_id("span-row").last.is_visible()
    page.screenshot(path=output_dir / "trace-10000-spans.png")
    assert errors == []


def test_a_compare_of_two_traces_renders_their_differences(demo_server: Server, browser: Any, output_dir: Path) -> None:
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(demo_server.url + "/traces?service=reviews&limit=40")
    page.get_by_test_id("trace-row").first.wait_for(timeout=15000)
    # Two traces of different shapes: the most and the fewest spans.
    counts = page.get_by_test_id("trace-row").evaluate_all(
        "rows => rows.map(r => parseInt(r.querySelector('.result-counts').textContent))"
    )
    most, fewest = counts.index(max(counts)), counts.index(min(counts))
    assert counts[most] != counts[fewest]
    page.get_by_test_id("compare-pick").nth(most).check()
    page.get_by_test_id("compare-pick").nth(fewest).check()
    page.get_by_test_id("compare-selected").click()
    dag = page.get_by_test_id("compare-dag")
    dag.wait_for()
    page.get_by_test_id("compare-a").wait_for()
    page.get_by_test_id("compare-b").wait_for()
    # A has more spans than B: some call paths are only in A, or have more spans there.
    legend = page.get_by_test_id("compare-legend").inner_text()
    in_a = sum(int(n) for n in re.findall(r"(?:only in A|more spans in A) \((\d+)\)", legend))
    assert in_a > 0, legend
    page.wait_for_timeout(500)
    page.screenshot(path=output_dir / "compare.png")


def test_a_trace_leads_back_to_its_node_and_a_request_id_to_its_trace(
    demo_server: Server, browser: Any, output_dir: Path
) -> None:
    [trace_id] = trace_ids(demo_server, "reviews", 1)
    trace = get(demo_server, f"/jaeger/api/traces/{trace_id}")["data"][0]
    request_ids = {
        json.loads(tag["value"])[0]
        for span in trace["spans"]
        for tag in span["tags"]
        if tag["key"] == "http.request.header.x-request-id"
    }
    assert len(request_ids) == 1
    page = browser.new_page(viewport={"width": 1440, "height": 900})

    # An access log's request id, typed in the Traces page's box, opens the trace that carries it.
    page.goto(demo_server.url + "/traces")
    page.get_by_test_id("search-request-id").fill(request_ids.pop())
    page.get_by_test_id("request-id-submit").click()
    page.get_by_test_id("trace-timeline").wait_for(timeout=15000)
    assert page.url.endswith(f"/traces/{trace_id}")

    # A span's link leads to its service's node on the graph at the trace's time.
    reviews = page.locator("[data-testid=span-row]:has(.svc-name:text-is('reviews'))").first
    reviews.click()
    page.get_by_test_id("span-graph-link").first.click()
    panel = page.get_by_test_id("panel-node")
    panel.wait_for(timeout=30000)
    # The node of the version that served the span.
    versions = {
        tag["value"]
        for process in trace["processes"].values()
        if process["serviceName"] == "reviews"
        for tag in process["tags"]
        if tag["key"] == "service.version"
    }
    assert panel.get_by_test_id("panel-title").inner_text() in {f"reviews {v}" for v in versions}
    query_time = int(page.evaluate("new URL(location.href).searchParams.get('queryTime')"))
    end_s = max(s["startTime"] + s["duration"] for s in trace["spans"]) / 1e6
    assert end_s <= query_time <= end_s + 10
    page.get_by_test_id("replay-bar").wait_for()
    page.screenshot(path=output_dir / "trace-to-graph.png")
