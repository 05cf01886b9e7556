"""Traffic samples: the one shape every graph telemetry source hands to the graph engine.

Access-log rollups, spans and Prometheus each turn what they saw in a window into
``TrafficSample``s; the engine never learns where a sample came from except through its
``telemetry`` field. Several samples for the same source, destination, protocol, code and flags
(for example one per minute of rollups) are summed.
"""

from dataclasses import dataclass
from typing import Literal

from meshview.mesh.gateways import GatewayKind
from meshview.mesh.unknown import UNKNOWN, UnknownReason

Protocol = Literal["http", "grpc", "tcp"]
Telemetry = Literal["prometheus", "accesslogs", "spans"]

PROTOCOLS: tuple[Protocol, ...] = ("http", "grpc", "tcp")

# When several sources saw the same traffic, the first in this order is counted: Prometheus is
# complete and deduplicated across reporters, access logs are complete for the proxies that
# ship them, spans are sampled.
TELEMETRY_PREFERENCE: tuple[Telemetry, ...] = ("prometheus", "accesslogs", "spans")


def known(label: str) -> bool:
    """Return whether an Istio label carries a value (Istio writes ``unknown`` for none)."""
    return label != "" and label != UNKNOWN


@dataclass(frozen=True, slots=True)
class Endpoint:
    """The mesh identity of one side of a request, in Istio's label vocabulary.

    A source whose workload is unknown is the unknown source (the caller had no proxy). A
    destination whose workload is unknown but which names a service is a terminal service node:
    a request that reached no workload (404 NR, 503 to a service without endpoints),
    ``PassthroughCluster``, ``BlackHoleCluster`` or an external host. ``service`` on a source is
    an optional hint (the service the caller serves); the engine infers it when empty.
    """

    cluster: str
    namespace: str
    workload: str
    app: str = ""
    version: str = ""
    service: str = ""
    # "ingress" or "egress" for an Istio gateway, None for a sidecar.
    gateway: GatewayKind | None = None
    # SPIFFE identity of the proxy, e.g. spiffe://cluster.local/ns/bookinfo/sa/bookinfo-reviews.
    principal: str = ""
    # ServiceEntry location when ``service`` is a ServiceEntry host.
    service_entry: Literal["MESH_EXTERNAL", "MESH_INTERNAL"] | None = None
    # A workload that runs without a sidecar (Kiali's sidecarsCheck: ``hasMissingSC``).
    missing_sidecar: bool = False


UNKNOWN_SOURCE = Endpoint(UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN)


@dataclass(slots=True, kw_only=True)
class TrafficSample:
    """Requests (or TCP connections) from one endpoint to another within the graph's window.

    ``response_code`` 0 means no response was sent. ``grpc_status`` is the gRPC status code
    ("0".."16") when the telemetry knows it. ``response_flags`` is Envoy's flags, "-" or the
    sorted flags joined by commas. ``requests`` counts requests (connections opened for TCP) in
    the window; 0 with no bytes marks an idle edge (seen before the window). ``latency_counts``
    is the request-duration histogram over ``meshview.mesh.latency.LATENCY_BUCKETS_MS`` plus
    +Inf, and ``duration_sum_ms`` the sum of the durations it counts. Bytes have Envoy's
    meaning at the destination: ``bytes_received`` came from the caller (request bodies, TCP
    bytes sent by the client), ``bytes_sent`` went back to it. ``upstream_host`` is the host
    that served it as the telemetry names it (Istio's destination_service from Prometheus,
    Envoy's UPSTREAM_HOST from access logs). ``unknown_reason`` says why the source is unknown.
    ``request_messages`` and ``response_messages`` count gRPC stream messages when the
    telemetry knows them (Istio's ``istio_request_messages_total`` and
    ``istio_response_messages_total``): Kiali's ``rateGrpc=sent|received|total``.
    """

    source: Endpoint
    destination: Endpoint
    protocol: Protocol
    response_code: int
    grpc_status: str | None = None
    response_flags: str = "-"
    mtls: bool = False
    requests: float
    latency_counts: tuple[int, ...] | None = None
    duration_sum_ms: float = 0.0
    bytes_sent: float = 0.0
    bytes_received: float = 0.0
    upstream_host: str | None = None
    unknown_reason: UnknownReason | None = None
    request_messages: float = 0.0
    response_messages: float = 0.0
    telemetry: Telemetry
