"""Browser benchmark of the graph page: a mesh of 1,000 workloads (``bench/graph.py``'s synthetic
mesh, written as rollups) served by a real ``manage.py serve``, opened in headless Chromium.

Prints, per mesh size, the nodes and edges drawn, the time the canvas took to add and lay out
the graph (the page's ``meshview:graph-layout`` User Timing measure, and of it the adding of the
elements), the time until it was painted (``meshview:graph-drawn``), and the frames per second
while the view is panned and zoomed on every frame for a few seconds. The baseline, measured in
the same run on the same page, is the frame rate of the idle page (no pan, no zoom), and the
figures of the 100-workload mesh. Budgets (issue 13): for 1,000 nodes, layout under 2 s, pan and
zoom at 30 fps or better.

Run: ``.venv/bin/python bench/browser_graph.py [--sizes 100,1000] [--seconds 4]`` (needs
``frontend/dist`` built and Debian's chromium).
"""

import argparse
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
# Counts requestAnimationFrame callbacks for `ms`: the frames the page could paint.
COUNT_FRAMES = """(ms) => new Promise((resolve) => {
  let frames = 0; const start = performance.now();
  const tick = (now) => {
    frames += 1;
    if (now - start < ms) requestAnimationFrame(tick);
    else resolve(frames * 1000 / (now - start));
  };
  requestAnimationFrame(tick);
})"""


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(data_dir: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "MESHVIEW_DATA_DIR": data_dir}
    process = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "serve", "--port", str(port)], cwd=ROOT,
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2):
                return process, url
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise SystemExit("meshview did not start")


def measure(page, url: str, seconds: float) -> dict[str, float]:
    page.goto(url)
    page.get_by_test_id("panel-summary").wait_for(timeout=120_000)
    page.wait_for_function("() => performance.getEntriesByName('meshview:graph-layout').length > 0", timeout=120_000)
    page.wait_for_function("() => performance.getEntriesByName('meshview:graph-drawn').length > 0",
                           timeout=120_000)
    layout = page.evaluate("performance.getEntriesByName('meshview:graph-layout').at(-1).duration")
    drawn = page.evaluate("performance.getEntriesByName('meshview:graph-drawn').at(-1).duration")
    counts = page.evaluate(
        "() => { const cy = document.querySelector('[data-testid=graph-canvas] > div')._cyreg.cy;"
        " return [cy.nodes().length, cy.edges().length]; }"
    )
    page.wait_for_timeout(500)
    idle_fps = page.evaluate(COUNT_FRAMES, int(seconds * 1000))
    # Pan and zoom every frame, as a drag and a wheel do: cytoscape redraws on its next frame,
    # so the frame rate counts the redraws.
    pan_fps = page.evaluate(
        "(ms) => new Promise((resolve) => {"
        " const cy = document.querySelector('[data-testid=graph-canvas] > div')._cyreg.cy;"
        " let frames = 0; const start = performance.now();"
        " const tick = (now) => { frames += 1; const t = (now - start) / 1000;"
        "   cy.panBy({x: 6 * Math.cos(t * 3), y: 4 * Math.sin(t * 2)});"
        "   cy.zoom({level: cy.zoom() * (1 + 0.01 * Math.sin(t * 4)), renderedPosition: {x: 700, y: 400}});"
        "   if (now - start < ms) requestAnimationFrame(tick); else resolve(frames * 1000 / (now - start)); };"
        " requestAnimationFrame(tick); })",
        int(seconds * 1000),
    )
    add = page.evaluate("performance.getEntriesByName('meshview:graph-add').at(-1).duration")
    return {"nodes": counts[0], "edges": counts[1], "layout_ms": layout, "drawn_ms": drawn, "add_ms": add,
            "idle_fps": idle_fps, "pan_fps": pan_fps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000")
    parser.add_argument("--seconds", type=float, default=4)
    args = parser.parse_args()

    import graph as graph_bench  # bench/graph.py: the synthetic mesh and its rollups

    graph_bench.setup_database("")
    # The window ends now: the rollups are inside the retention of the server that reads them.
    graph_bench.QUERY_TIME = int(time.time()) // 60 * 60
    data_dir = os.environ["MESHVIEW_DATA_DIR"]
    from django.db import connection
    from playwright.sync_api import sync_playwright

    print(f"chromium headless, 1440x900; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"{'workloads':>9} {'nodes':>6} {'edges':>6} {'layout':>9} {'(adding)':>9} {'painted':>9} "
          f"{'pan/zoom':>9} | {'idle page':>9}")
    for size in (int(s) for s in args.sizes.split(",")):
        per_minute, namespaces = graph_bench.synthetic_mesh(size)
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM mesh_traffic_rollup")
        graph_bench.store_rollups(per_minute)
        connection.close()
        process, url = serve(data_dir)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1440, "height": 900})
                query = (f"/graph?namespaces={','.join(sorted(namespaces))}&graphType=workload&duration=300s"
                         f"&queryTime={graph_bench.QUERY_TIME}&update=manual")
                r = measure(page, url + query, args.seconds)
                browser.close()
        finally:
            process.terminate()
            process.wait(timeout=30)
        print(f"{size:>9} {r['nodes']:>6} {r['edges']:>6} {r['layout_ms']:>7.0f}ms {r['add_ms']:>7.0f}ms "
              f"{r['drawn_ms']:>7.0f}ms {r['pan_fps']:>5.1f}fps | {r['idle_fps']:>5.1f}fps")


if __name__ == "__main__":
    main()
