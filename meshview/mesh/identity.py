"""Who wrote an access-log record and where it went: reporters, clusters, services (pure Python).

A reporter's identity comes from the shipping envelope (the Kubernetes metadata that Fluent
Bit's kubernetes filter or Vector's kubernetes_logs source attach) or from the ingest request.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from meshview.mesh.clusters import INBOUND_PASSTHROUGH_PREFIX, PASSTHROUGH_SERVICES
from meshview.mesh.gateways import ROLES, SIDECAR, role_from_labels

# Deployment pods are NAME-<pod-template-hash>-<5 chars>; other controllers add one suffix.
_POD_SUFFIX = re.compile(r"-[a-z0-9]{5}$")
_TEMPLATE_HASH = re.compile(r"-[a-z0-9]{6,10}$")
_STATEFUL_ORDINAL = re.compile(r"-\d+$")
_LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")


@dataclass(frozen=True, slots=True)
class Reporter:
    """The proxy that wrote a record."""

    namespace: str
    workload: str
    pod: str = ""
    app: str = ""
    version: str = ""
    service_account: str = ""
    role: str = SIDECAR
    pod_ip: str = ""
    # The Kubernetes cluster its pod runs in, when the ingest request says (empty: the home cluster).
    cluster: str = ""

    @property
    def is_gateway(self) -> bool:
        return self.role != SIDECAR


@dataclass(frozen=True, slots=True)
class ServiceRef:
    """A destination service as an upstream cluster names it."""

    host: str  # reviews.default.svc.cluster.local, or an external host such as edition.cnn.com
    name: str
    namespace: str
    port: int | None = None
    subset: str = ""


def workload_from_pod(pod: str, labels: Mapping[str, str] | None = None) -> str:
    """Return the workload (controller) name of a pod, as Istio's `source_workload` names it."""
    labels = labels or {}
    template_hash = labels.get("pod-template-hash")
    if template_hash and f"-{template_hash}-" in pod:
        return pod.split(f"-{template_hash}-")[0]
    if labels.get("statefulset.kubernetes.io/pod-name") == pod or labels.get("apps.kubernetes.io/pod-index"):
        return _STATEFUL_ORDINAL.sub("", pod)
    if labels.get("controller-revision-hash") and _POD_SUFFIX.search(pod):  # DaemonSet
        return _POD_SUFFIX.sub("", pod)
    if _POD_SUFFIX.search(pod):
        stripped = _POD_SUFFIX.sub("", pod)
        return _TEMPLATE_HASH.sub("", stripped) if _TEMPLATE_HASH.search(stripped) else stripped
    return pod


def _label_value(name: str, value: Any) -> str:
    if value is None or value == "":
        return ""
    text = str(value)
    if len(text) > 253 or not _LABEL_VALUE.match(text):
        raise ValueError(f"{name} is not a valid Kubernetes name: {text[:80]!r}")
    return text


def cluster_from_params(params: Mapping[str, str]) -> str:
    """Return the cluster an ingest request names (`cluster`), empty for none; raise ValueError
    for an invalid name."""
    return _label_value("cluster", params.get("cluster"))


def reporter_from_kubernetes(meta: Mapping[str, Any]) -> Reporter:
    """Return the reporter an envelope's `kubernetes` object describes (Fluent Bit's and
    Vector's key names both work); raise ValueError when it names no namespace and pod."""
    labels = meta.get("labels") or meta.get("pod_labels") or {}
    if not isinstance(labels, Mapping):
        raise ValueError("kubernetes.labels must be an object")
    labels = {str(k): str(v) for k, v in labels.items()}
    namespace = _label_value("namespace", meta.get("namespace_name") or meta.get("pod_namespace"))
    pod = _label_value("pod", meta.get("pod_name") or meta.get("pod"))
    if not namespace or not pod:
        raise ValueError("the kubernetes metadata names no namespace_name and pod_name")
    app = labels.get("service.istio.io/canonical-name") or labels.get("app.kubernetes.io/name") or labels.get("app", "")
    version = (
        labels.get("service.istio.io/canonical-revision")
        or labels.get("app.kubernetes.io/version")
        or labels.get("version")
        or "latest"  # Istio's canonical revision when no label names one
    )
    return Reporter(
        namespace=namespace,
        workload=workload_from_pod(pod, labels),
        pod=pod,
        app=app or workload_from_pod(pod, labels),
        version=version,
        service_account=str(meta.get("service_account_name") or meta.get("pod_service_account") or ""),
        role=role_from_labels(labels),
        pod_ip=_pod_ip(meta),
    )


def _pod_ip(meta: Mapping[str, Any]) -> str:
    pod_ips = meta.get("pod_ips")
    if isinstance(pod_ips, list) and pod_ips:
        return str(pod_ips[0])
    return str(meta.get("pod_ip") or "")


def reporter_from_params(params: Mapping[str, str]) -> Reporter | None:
    """Return the reporter named by query parameters or CLI options (namespace, pod, workload,
    app, version, role), None when none is given; raise ValueError for invalid values."""
    namespace = _label_value("namespace", params.get("namespace"))
    pod = _label_value("pod", params.get("pod"))
    workload = _label_value("workload", params.get("workload"))
    if not (namespace or pod or workload):
        return None
    if not namespace or not (pod or workload):
        raise ValueError("a reporter needs namespace and pod or workload")
    role = params.get("role") or SIDECAR
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    workload = workload or workload_from_pod(pod)
    return Reporter(
        namespace=namespace,
        workload=workload,
        pod=pod,
        app=_label_value("app", params.get("app")) or workload,
        version=_label_value("version", params.get("version")),
        role=role,
    )


@lru_cache(maxsize=8192)
def parse_cluster(cluster: str | None) -> tuple[str, ServiceRef | None]:
    """Split an upstream cluster into its direction and service.

    `outbound|9080|v1|reviews.default.svc.cluster.local` gives ("outbound", reviews in default,
    port 9080, subset v1); `inbound|8080||` gives ("inbound", None); PassthroughCluster and
    BlackHoleCluster give ("outbound", a service of that name); anything else ("", None).
    A mesh has few clusters, so the answers are cached.
    """
    if not cluster:
        return "", None
    if cluster in PASSTHROUGH_SERVICES:
        return "outbound", ServiceRef(host=cluster, name=cluster, namespace="")
    if cluster.startswith(INBOUND_PASSTHROUGH_PREFIX):
        return "inbound", None
    parts = cluster.split("|")
    if len(parts) != 4 or parts[0] not in ("inbound", "outbound"):
        return "", None
    direction, port, subset, host = parts
    if not host:
        return direction, None
    return direction, service_from_host(host, int(port) if port.isdigit() else None, subset)


def service_from_host(host: str, port: int | None = None, subset: str = "") -> ServiceRef:
    """Return the service a host names: `NAME.NS.svc.<domain>` is in-mesh, anything else external."""
    labels = host.split(".")
    if len(labels) >= 3 and labels[2] == "svc":
        return ServiceRef(host=host, name=labels[0], namespace=labels[1], port=port, subset=subset)
    return ServiceRef(host=host, name=host, namespace="", port=port, subset=subset)


def address_ip(address: str | None) -> str:
    """Return the IP of `ip:port` (the common case, read fast) or of any form `split_address` reads."""
    if address and address.count(":") == 1 and "/" not in address:
        return address.partition(":")[0]
    return split_address(address)[0]


def split_address(address: str | None) -> tuple[str, int | None]:
    """Split `ip:port`, `[v6]:port` or a URL such as `envoy://connect_originate/ip:port` into
    (ip, port); ("", None) for None."""
    if not address:
        return "", None
    if "://" in address:
        address = address.split("://", 1)[1].rsplit("/", 1)[-1]
    if address.startswith("["):
        host, _, rest = address[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif address.count(":") == 1:
        host, _, port = address.partition(":")
    else:
        host, port = address, ""
    return host, int(port) if port.isdigit() else None
