"""The loop behind `serve --demo`: every second, the demo mesh's requests of the second before,
posted to meshview's own ingest endpoints over HTTP as a log shipper and an OpenTelemetry
exporter would post them (access-log envelopes to /api/v1/ingest/envoy, OTLP/HTTP protobuf to
/v1/traces)."""

import logging
import threading
import time
import urllib.request

from meshview.demo import render
from meshview.demo.topology import PROBED_PODS, SCRAPED_PODS
from meshview.demo.traffic import Hop, Traffic

logger = logging.getLogger(__name__)

DEFAULT_RATE = 5.0  # page views per second
TICK_SECONDS = 1.0
# Requests are sent this long after they started, so they have ended when their lines are posted.
LAG_NS = 1_000_000_000
PROBE_PERIOD_NS = 10_000_000_000  # the kubelet's readiness probe period
SCRAPE_PERIOD_NS = 15_000_000_000  # Prometheus's scrape interval


INGEST_PATHS = ("/api/v1/ingest/envoy", "/v1/traces")


class QuietFeed(logging.Filter):
    """Keeps the feeder's accepted posts out of uvicorn's access log, which would otherwise
    print two lines a second; refused posts still show."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5:
            _, method, path, _, status = args
            return not (method == "POST" and path in INGEST_PATHS and isinstance(status, int) and status < 300)
        return True


class Schedule:
    """Which requests start within each window: page views arriving at `rate` per second (a
    Poisson process), each probed pod every 10 s and each scraped pod every 15 s."""

    def __init__(self, traffic: Traffic, rate: float, start: int) -> None:
        self.traffic = traffic
        self.rate = rate
        self.next_view = start + self._gap()
        self.next_probe = {pod: start + i * PROBE_PERIOD_NS // len(PROBED_PODS) for i, pod in enumerate(PROBED_PODS)}
        self.next_scrape = {
            pod: start + i * SCRAPE_PERIOD_NS // len(SCRAPED_PODS) for i, pod in enumerate(SCRAPED_PODS)
        }

    def _gap(self) -> int:
        return int(self.traffic.rng.expovariate(self.rate) * 1e9) if self.rate > 0 else 2**62

    def until(self, end: int) -> list[Hop]:
        """The requests that start before `end` (nanoseconds since the epoch) and have not been
        returned yet, oldest first."""
        hops: list[Hop] = []
        while self.next_view < end:
            hops.append(self.traffic.page_view(self.next_view))
            self.next_view += self._gap()
        for pod, due in self.next_probe.items():
            while due < end:
                hops.append(self.traffic.probe(pod, due))
                due += PROBE_PERIOD_NS
            self.next_probe[pod] = due
        for pod, due in self.next_scrape.items():
            while due < end:
                hops.append(self.traffic.scrape(pod, due))
                due += SCRAPE_PERIOD_NS
            self.next_scrape[pod] = due
        return sorted(hops, key=lambda hop: hop.start)


class Feeder:
    """Posts the demo mesh's telemetry to the meshview at `base_url` (e.g.
    `http://127.0.0.1:8000`) until `stop` is set; `token` is a bearer token with the ingest
    scope, when the server needs one."""

    def __init__(self, base_url: str, rate: float = DEFAULT_RATE, token: str | None = None,
                 seed: int | None = None) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"the demo mesh posts to an http(s) URL, not {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.schedule = Schedule(Traffic(seed), rate, time.time_ns() - LAG_NS)
        self.stop = threading.Event()
        self.sent_lines = 0
        self.sent_spans = 0

    def _post(self, path: str, body: bytes, content_type: str) -> None:
        request = urllib.request.Request(  # noqa: S310  (http(s) only, checked in __init__)
            self.base_url + path, data=body, method="POST", headers={"Content-Type": content_type}
        )
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310  (http(s) only, checked above)
            response.read()

    def send(self, hops: list[Hop]) -> None:
        """Post `hops`' access logs and spans; raise OSError when meshview does not take them."""
        lines = list(render.envelopes(hops))
        export = render.otlp_export(hops)
        if lines:
            self._post(INGEST_PATHS[0], "\n".join(lines).encode(), "application/x-ndjson")
            self.sent_lines += len(lines)
        if export.resource_spans:
            self._post(INGEST_PATHS[1], export.SerializeToString(), "application/x-protobuf")
            self.sent_spans += sum(len(s.spans) for r in export.resource_spans for s in r.scope_spans)

    def wait_until_up(self) -> bool:
        """Wait for meshview's /healthz; return False when stopped first."""
        while not self.stop.is_set():
            try:
                with urllib.request.urlopen(self.base_url + "/healthz", timeout=2):  # noqa: S310
                    return True
            except OSError:
                self.stop.wait(0.2)
        return False

    def run(self) -> None:
        """Feed once a second until `stop` is set. A refused post is logged and its requests are
        dropped, as a shipper with no buffer would; the next second carries on."""
        if not self.wait_until_up():
            return
        while not self.stop.is_set():
            began = time.monotonic()
            hops = self.schedule.until(time.time_ns() - LAG_NS)
            try:
                self.send(hops)
            except OSError as exc:
                logger.warning("demo mesh: meshview refused a post: %s", exc)
            self.stop.wait(max(0.0, TICK_SECONDS - (time.monotonic() - began)))

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="demo-mesh", daemon=True)
        thread.start()
        return thread
