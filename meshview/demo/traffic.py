"""The requests that cross the demo mesh, each with the times both of its proxies see.

A page view is a tree of `Hop`s: the ingress gateway (or an external client through a NodePort)
calls productpage, which calls details and then reviews; reviews calls ratings, ratings queries
MongoDB over TCP, and details sometimes asks the sidecar-less isbn service. Time flows the way it
does in a mesh: a hop's server side starts one network leg after its client side and answers
one leg before the client has the answer, and a server does its own work around the calls it
makes, one after another, so every child lies inside its parent and the latencies add up.
Background traffic comes from outside the mesh: kubelet probes and Prometheus scrapes.
"""

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

from meshview.demo.topology import (
    CANARY_SHARE,
    DETAILS,
    DETAILS_SERVICE,
    EXTERNAL_CLIENT_IP,
    GATEWAY,
    ISBN,
    ISBN_SERVICE,
    MONGODB,
    MONGODB_SERVICE,
    NODE_IP,
    NODEPORT,
    PRODUCTPAGE,
    PRODUCTPAGE_SERVICE,
    PROMETHEUS_IP,
    RATINGS,
    RATINGS_SERVICE,
    REVIEWS_CANARY,
    REVIEWS_SERVICE,
    REVIEWS_STABLE,
    Pod,
    Service,
)

MS = 1_000_000  # nanoseconds
NODEPORT_SHARE = 0.10  # page views that bypass the ingress gateway through the NodePort
OVERFLOW_SHARE = 0.02  # productpage → reviews calls the circuit breaker refuses (503 UO)
ISBN_SHARE = 0.30  # details calls that look the book up in the sidecar-less isbn service
# The chance that a server answers 500: the reviews canary is the buggy one.
ERROR_SHARE = {REVIEWS_CANARY: 0.08, RATINGS: 0.01, DETAILS: 0.005}
# Each application's own work per request, in milliseconds (mean of an exponential spread).
WORK_MS = {PRODUCTPAGE: 4.0, DETAILS: 1.5, REVIEWS_STABLE: 6.0, REVIEWS_CANARY: 9.0, RATINGS: 1.2, ISBN: 3.0,
           MONGODB: 0.8}
USER_AGENTS = {
    GATEWAY: "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    PRODUCTPAGE: "python-requests/2.31.0",
    DETAILS: "Ruby",
    REVIEWS_STABLE: "Apache-CXF/3.1.18",
    REVIEWS_CANARY: "Apache-CXF/3.1.18",
}


@dataclass
class Hop:
    """One request from `source` (None: a caller outside the mesh, whose address the callee's
    proxy sees as `remote_address`) to `service`, answered by `destination` (None: the caller's
    proxy answered it itself, as a circuit breaker does). Times are nanoseconds since the epoch:
    the caller sends at `start` and has the answer at `end`; the callee serves it from
    `server_start` to `server_end` (both 0 when it was never reached)."""

    trace_id: bytes
    request_id: str
    source: Pod | None
    service: Service
    destination: Pod | None
    start: int
    end: int = 0
    server_start: int = 0
    server_end: int = 0
    parent_span_id: bytes = b""  # the caller's server span; empty for the root of a trace
    client_span_id: bytes = b""
    server_span_id: bytes = b""
    client_port: int = 0  # the caller's ephemeral port towards the callee
    code: int = 200
    flags: tuple[str, ...] = ()
    protocol: str = "http"
    method: str = "GET"
    path: str = "/"
    route: str = "/"
    subset: str = ""
    user_agent: str = ""
    authority: str = ""
    remote_address: str = ""
    forwarded_for: str = ""
    bytes_received: int = 0
    bytes_sent: int = 0
    traced: bool = True  # whether the applications export spans for it (probes and scrapes: no)
    children: list["Hop"] = field(default_factory=list)

    @property
    def reached(self) -> bool:
        return self.destination is not None

    @property
    def mtls(self) -> bool:
        """Istio mutual TLS: both ends have a sidecar (auto mTLS falls back to plain text otherwise)."""
        return self.source is not None and self.source.proxied and self.destination is not None and (
            self.destination.proxied
        )

    def walk(self) -> Iterator["Hop"]:
        """This hop and all below it, callers before their calls."""
        yield self
        for child in self.children:
            yield from child.walk()


class Traffic:
    """Makes the demo mesh's requests; `seed` makes a run repeatable."""

    def __init__(self, seed: int | None = None) -> None:
        self.rng = random.Random(seed)

    def _bytes(self, size: int) -> bytes:
        return (self.rng.getrandbits(8 * size) | 1).to_bytes(size, "big")

    def _request_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _leg(self) -> int:
        """One network leg through two proxies, in nanoseconds."""
        return self.rng.randint(150_000, 700_000)

    def _work(self, pod: Pod, share: float = 1.0) -> int:
        return int(self.rng.expovariate(1.0 / (WORK_MS.get(pod, 1.0) * share)) * MS) + 50_000

    def _port(self) -> int:
        return self.rng.randint(32768, 60999)

    def page_view(self, start: int) -> Hop:
        """A browser's request for /productpage sent at `start`: through the ingress gateway,
        or (NODEPORT_SHARE of them) straight to productpage's NodePort."""
        trace_id, request_id = self._bytes(16), self._request_id()
        if self.rng.random() < NODEPORT_SHARE:
            hop = Hop(trace_id, request_id, None, PRODUCTPAGE_SERVICE, PRODUCTPAGE, start,
                      authority=f"{NODE_IP}:{NODEPORT}", remote_address=f"{NODE_IP}:{self._port()}",
                      user_agent="curl/8.5.0")
        else:
            hop = Hop(trace_id, request_id, GATEWAY, PRODUCTPAGE_SERVICE, PRODUCTPAGE, start,
                      authority="bookinfo.example.com", forwarded_for=EXTERNAL_CLIENT_IP,
                      user_agent=USER_AGENTS[GATEWAY], remote_address=f"{EXTERNAL_CLIENT_IP}:{self._port()}")
        hop.path = hop.route = "/productpage"
        return self._complete(hop)

    def probe(self, pod: Pod, start: int) -> Hop:
        """The kubelet's readiness probe of `pod` (not rewritten to the agent's port, so its
        sidecar logs it): a request from the node that no mesh proxy sent."""
        hop = Hop(b"", self._request_id(), None, _own_service(pod), pod, start, path="/health", route="/health",
                  authority=f"{pod.ip}:{pod.port}", remote_address=f"{NODE_IP}:{self._port()}",
                  user_agent="kube-probe/1.29", traced=False)
        return self._complete(hop)

    def scrape(self, pod: Pod, start: int) -> Hop:
        """Prometheus (outside the mesh) scraping `pod`'s application metrics."""
        hop = Hop(b"", self._request_id(), None, _own_service(pod), pod, start, path="/metrics", route="/metrics",
                  authority=f"{pod.ip}:{pod.port}", remote_address=f"{PROMETHEUS_IP}:{self._port()}",
                  user_agent="Prometheus/2.53.0", traced=False, bytes_sent=self.rng.randint(6000, 9000))
        return self._complete(hop)

    def _call(self, caller: Hop, service: Service, destination: Pod | None, start: int, **fields: object) -> Hop:
        """The call `caller`'s destination makes at `start`, with everything it leads to."""
        source = caller.destination
        assert source is not None
        request_id = str(fields.pop("request_id", caller.request_id))
        hop = Hop(caller.trace_id, request_id, source, service, destination, start,
                  parent_span_id=caller.server_span_id, user_agent=USER_AGENTS.get(source, ""), **fields)  # type: ignore[arg-type]
        hop.authority = hop.authority or f"{service.name}:{service.port}"
        caller.children.append(hop)
        return self._complete(hop)

    def _complete(self, hop: Hop) -> Hop:
        """Time `hop` and make the calls its destination makes while serving it."""
        hop.client_span_id, hop.client_port = self._bytes(8), self._port()
        if hop.destination is None:  # refused by the caller's own proxy: no network leg at all
            hop.end = hop.start + self.rng.randint(60_000, 400_000)
            hop.code, hop.flags, hop.bytes_sent = 503, ("UO",), 81
            return hop
        hop.server_span_id = self._bytes(8)
        hop.server_start = hop.start + self._leg()
        hop.server_end = self._serve(hop)
        hop.end = hop.server_end + self._leg()
        if hop.protocol == "http" and hop.traced and self.rng.random() < ERROR_SHARE.get(hop.destination, 0.0):
            hop.code = 500
        if hop.protocol == "http" and not hop.bytes_sent:
            hop.bytes_sent = self.rng.randint(180, 400) if hop.code >= 400 else self.rng.randint(350, 5200)
        return hop

    def _serve(self, hop: Hop) -> int:
        """Make the calls `hop.destination` makes while serving `hop`; return when it answers."""
        pod = hop.destination
        now = hop.server_start + self._work(pod, 0.3)  # type: ignore[arg-type]
        if pod is PRODUCTPAGE and hop.path == "/productpage":
            details = self._call(hop, DETAILS_SERVICE, DETAILS, now, path="/details/0", route="/details/{id}")
            now = details.end + self._work(PRODUCTPAGE, 0.1)
            canary = self.rng.random() < CANARY_SHARE
            subset = "v3" if canary else "v2"
            overflow = self.rng.random() < OVERFLOW_SHARE
            reviewer = None if overflow else (REVIEWS_CANARY if canary else REVIEWS_STABLE)
            reviews = self._call(hop, REVIEWS_SERVICE, reviewer, now, path="/reviews/0", route="/reviews/{id}",
                                 subset=subset)
            now = reviews.end
        elif pod is DETAILS and hop.path.startswith("/details") and self.rng.random() < ISBN_SHARE:
            isbn = self._call(hop, ISBN_SERVICE, ISBN, now, path="/isbn/0486424618", route="/isbn/{isbn}")
            now = isbn.end
        elif pod in (REVIEWS_STABLE, REVIEWS_CANARY) and hop.path.startswith("/reviews"):
            ratings = self._call(hop, RATINGS_SERVICE, RATINGS, now, path="/ratings/0", route="/ratings/{id}")
            now = ratings.end
        elif pod is RATINGS and hop.path.startswith("/ratings"):
            query = self._call(hop, MONGODB_SERVICE, MONGODB, now, protocol="tcp", method="", path="", route="",
                               request_id="", bytes_received=self.rng.randint(280, 340),
                               bytes_sent=self.rng.randint(900, 2100))
            now = query.end
        return now + self._work(pod, 0.7)  # type: ignore[arg-type]


def _own_service(pod: Pod) -> Service:
    return Service(pod.app, pod.namespace, pod.port, "")
