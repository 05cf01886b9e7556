"""Envoy's special upstream clusters as Istio configures them, and the direction a cluster names.

Every reader of an `upstream_cluster` (the access-log record, reporter sides, the telemetry
sources) decides passthrough and direction from here. Pure Python.
"""

from typing import Literal

PASSTHROUGH_CLUSTER = "PassthroughCluster"  # outbound traffic to a destination no service matched
BLACKHOLE_CLUSTER = "BlackHoleCluster"  # outbound traffic blocked by REGISTRY_ONLY
# Clusters Istio reports as the destination service when no service matched.
PASSTHROUGH_SERVICES = frozenset({PASSTHROUGH_CLUSTER, BLACKHOLE_CLUSTER})
# InboundPassthroughClusterIpv4 and ...Ipv6: inbound traffic to a port no service declares.
INBOUND_PASSTHROUGH_PREFIX = "InboundPassthroughCluster"

Direction = Literal["inbound", "outbound"]


def cluster_direction(upstream_cluster: str | None) -> Direction | None:
    """Return `inbound` for an `inbound|` cluster and InboundPassthroughCluster, `outbound` for
    `outbound|`, PassthroughCluster and BlackHoleCluster, else None."""
    if upstream_cluster is None:
        return None
    if upstream_cluster.startswith("outbound|") or upstream_cluster in PASSTHROUGH_SERVICES:
        return "outbound"
    if upstream_cluster.startswith(("inbound|", INBOUND_PASSTHROUGH_PREFIX)):
        return "inbound"
    return None
