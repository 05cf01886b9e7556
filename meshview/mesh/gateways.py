"""Istio's gateways: the reporter roles, how a workload is recognised as a gateway, and the
gateway kind Kiali's graph shows. Every source (access logs, spans, Prometheus) asks here.

The ingress gateway is a root node: traffic that enters through it is never unknown.
"""

from collections.abc import Mapping
from typing import Literal

SIDECAR, INGRESS_GATEWAY, EGRESS_GATEWAY = "sidecar", "ingress-gateway", "egress-gateway"
ROLES = (SIDECAR, INGRESS_GATEWAY, EGRESS_GATEWAY)

GatewayKind = Literal["ingress", "egress"]
# The `gateway` of Kiali's node data for each gateway role.
GATEWAY_KINDS: dict[str, GatewayKind] = {INGRESS_GATEWAY: "ingress", EGRESS_GATEWAY: "egress"}

# Istio's default gateway deployments (workload, app and canonical service alike).
DEFAULT_GATEWAY_NAMES: dict[str, str] = {
    "istio-ingressgateway": INGRESS_GATEWAY,
    "istio-egressgateway": EGRESS_GATEWAY,
}
# The `istio` pod label of Istio's gateway deployments.
_ISTIO_LABELS = {"ingressgateway": INGRESS_GATEWAY, "egressgateway": EGRESS_GATEWAY}
# The Gateway API labels the pods of a Gateway it deploys with this.
GATEWAY_API_LABEL = "gateway.networking.k8s.io/gateway-name"


def role_from_names(istio_label: str, *names: str) -> str:
    """Return the role an `istio` pod label value or Istio's default gateway names among `names`
    (workload, app) give, sidecar when none does."""
    role = _ISTIO_LABELS.get(istio_label)
    if role is not None:
        return role
    for name in names:
        role = DEFAULT_GATEWAY_NAMES.get(name)
        if role is not None:
            return role
    return SIDECAR


def role_from_labels(labels: Mapping[str, str]) -> str:
    """Return the reporter role its pod labels declare (sidecar when none says gateway)."""
    if GATEWAY_API_LABEL in labels:
        return INGRESS_GATEWAY
    return role_from_names(labels.get("istio", ""), labels.get("app", ""))


def gateway_kind(role: str) -> GatewayKind | None:
    """Return Kiali's `gateway` for a role: `ingress`, `egress`, None for a sidecar."""
    return GATEWAY_KINDS.get(role)
