"""The Unknown rule: a request that came from no mesh proxy has the source `unknown`, and why.

Every telemetry source (access logs, spans) names the unknown source and its reasons from here.
"""

from typing import Literal

UNKNOWN = "unknown"  # Istio's label value for "none", and the unknown source's name

UnknownReason = Literal["nodeport", "probe", "scrape", "no-peer-identity"]
UNKNOWN_REASONS: tuple[UnknownReason, ...] = ("nodeport", "probe", "scrape", "no-peer-identity")
# The reasons that name a caller which never sends through a mesh proxy (a client of a node's
# NodePort, the kubelet, Prometheus): no proxy logs the client side of such a request.
UNPROXIED_CALLERS: frozenset[UnknownReason] = frozenset({"nodeport", "probe", "scrape"})

# Kubernetes' default service-node-port-range, 30000-32767.
NODEPORT_RANGE = range(30000, 32768)


def unknown_reason(user_agent: str, port: int | None) -> UnknownReason:
    """Why a request with this user agent, sent to this port, came from no mesh proxy:
    `probe` (kubelet), `scrape` (Prometheus), `nodeport` (a port in the NodePort range), else
    `no-peer-identity`."""
    agent = user_agent.lower()
    if agent.startswith("kube-probe/"):
        return "probe"
    if agent.startswith("prometheus/"):
        return "scrape"
    if port in NODEPORT_RANGE:
        return "nodeport"
    return "no-peer-identity"
