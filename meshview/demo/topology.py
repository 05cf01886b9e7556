"""The demo mesh's pods and services: Bookinfo behind an Istio ingress gateway (Gateway API), a 90/10 canary
of reviews, MongoDB over TCP, an in-mesh workload that runs without a sidecar, and the callers
from outside the mesh (an external client through a NodePort, the kubelet, Prometheus)."""

from dataclasses import dataclass

NAMESPACE = "bookinfo"
NODE_IP = "10.128.0.9"  # the Kubernetes node: NodePort traffic (SNAT'd) and kubelet probes come from it
NODEPORT = 30080
EXTERNAL_CLIENT_IP = "198.51.100.23"  # the browser outside the cluster, seen only in X-Forwarded-For
PROMETHEUS_IP = "10.0.2.2"


@dataclass(frozen=True)
class Pod:
    """One pod. `role` is `sidecar`, `ingress-gateway` or `none` (no Envoy: it writes no access
    log); `traced` says whether its application exports spans."""

    namespace: str
    workload: str
    app: str
    version: str
    ip: str
    port: int = 9080
    role: str = "sidecar"
    traced: bool = True

    @property
    def pod(self) -> str:
        return f"{self.workload}-7d4b9c6f5d-q8xz2"

    @property
    def proxied(self) -> bool:
        return self.role != "none"

    @property
    def service_account(self) -> str:
        return self.app if self.role == "ingress-gateway" else f"bookinfo-{self.app}"

    @property
    def principal(self) -> str:
        return f"spiffe://cluster.local/ns/{self.namespace}/sa/{self.service_account}"

    @property
    def labels(self) -> dict[str, str]:
        if self.role == "ingress-gateway":  # deployed by Istio for a Gateway API Gateway
            return {
                "gateway.networking.k8s.io/gateway-name": self.app.removesuffix("-istio"),
                "service.istio.io/canonical-name": self.app,
                "service.istio.io/canonical-revision": "latest",
                "pod-template-hash": "7d4b9c6f5d",
            }
        labels = {"app": self.app, "pod-template-hash": "7d4b9c6f5d"}
        if self.version:
            labels["version"] = self.version
        if self.proxied:
            labels["security.istio.io/tlsMode"] = "istio"
        return labels

    def kubernetes(self) -> dict[str, object]:
        """The `kubernetes` object a log shipper attaches to this pod's istio-proxy lines."""
        return {
            "pod_name": self.pod,
            "namespace_name": self.namespace,
            "pod_ip": self.ip,
            "labels": self.labels,
            "service_account_name": self.service_account,
            "container_name": "istio-proxy",
            "host": "node-1",
        }


@dataclass(frozen=True)
class Service:
    name: str
    namespace: str
    port: int
    cluster_ip: str

    @property
    def host(self) -> str:
        return f"{self.name}.{self.namespace}.svc.cluster.local"


# The ingress gateway Istio deploys for Bookinfo's Gateway API `Gateway` named bookinfo-gateway.
GATEWAY = Pod(NAMESPACE, "bookinfo-gateway-istio", "bookinfo-gateway-istio", "", "10.0.0.5", 80, "ingress-gateway")
PRODUCTPAGE = Pod(NAMESPACE, "productpage-v1", "productpage", "v1", "10.0.1.10")
DETAILS = Pod(NAMESPACE, "details-v1", "details", "v1", "10.0.1.20")
REVIEWS_STABLE = Pod(NAMESPACE, "reviews-v2", "reviews", "v2", "10.0.1.31")
REVIEWS_CANARY = Pod(NAMESPACE, "reviews-v3", "reviews", "v3", "10.0.1.32")
RATINGS = Pod(NAMESPACE, "ratings-v1", "ratings", "v1", "10.0.1.40")
MONGODB = Pod(NAMESPACE, "mongodb-v1", "mongodb", "v1", "10.0.1.50", 27017, traced=False)
# An older service deployed before sidecar injection was enabled: no proxy, no instrumentation.
ISBN = Pod(NAMESPACE, "isbn-v1", "isbn", "v1", "10.0.1.60", 8080, role="none", traced=False)

PRODUCTPAGE_SERVICE = Service("productpage", NAMESPACE, 9080, "10.96.1.10")
DETAILS_SERVICE = Service("details", NAMESPACE, 9080, "10.96.1.20")
REVIEWS_SERVICE = Service("reviews", NAMESPACE, 9080, "10.96.1.30")
RATINGS_SERVICE = Service("ratings", NAMESPACE, 9080, "10.96.1.40")
MONGODB_SERVICE = Service("mongodb", NAMESPACE, 27017, "10.96.1.50")
ISBN_SERVICE = Service("isbn", NAMESPACE, 8080, "10.96.1.60")

CANARY_SHARE = 0.10  # reviews: 90% to the stable v2, 10% to the v3 canary (a VirtualService split)
PROXIED_PODS = (GATEWAY, PRODUCTPAGE, DETAILS, REVIEWS_STABLE, REVIEWS_CANARY, RATINGS, MONGODB)
PROBED_PODS = (PRODUCTPAGE, DETAILS, REVIEWS_STABLE, REVIEWS_CANARY, RATINGS)
SCRAPED_PODS = (PRODUCTPAGE, REVIEWS_STABLE, REVIEWS_CANARY)
