"""A simulated Bookinfo mesh whose traffic the tests feed through every ingest path.

Each request is a `Call`; `envoy_lines` renders the access-log records the proxies on both
sides would write (Istio's default TEXT layout since 1.24), with Kubernetes envelopes as Fluent
Bit sends them. The same calls can be rendered as spans and as Istio metrics, so the graph built
from each telemetry source can be compared.
"""

import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

NODE_IP = "10.128.0.9"  # a Kubernetes node: NodePort traffic and kubelet probes come from here
NODEPORT = 30080


@dataclass(frozen=True)
class Pod:
    namespace: str
    workload: str
    app: str
    version: str
    ip: str
    port: int = 9080
    role: str = "sidecar"

    @property
    def pod(self) -> str:
        return f"{self.workload}-5f7d8c9b6d-x2k4q"

    @property
    def labels(self) -> dict[str, str]:
        labels = {"app": self.app, "version": self.version, "pod-template-hash": "5f7d8c9b6d"}
        if self.role == "ingress-gateway":
            labels["istio"] = "ingressgateway"
        return labels

    def kubernetes(self, with_ip: bool = True) -> dict:
        meta = {
            "pod_name": self.pod,
            "namespace_name": self.namespace,
            "labels": self.labels,
            "container_name": "istio-proxy",
            "host": "node-1",
        }
        return {**meta, "pod_ip": self.ip} if with_ip else meta


@dataclass(frozen=True)
class Service:
    name: str
    namespace: str
    port: int = 9080
    cluster_ip: str = "10.96.0.10"

    @property
    def host(self) -> str:
        return f"{self.name}.{self.namespace}.svc.cluster.local"


@dataclass
class Call:
    """One request. `source` None means a caller outside the mesh (its address `remote_ip`)."""

    source: Pod | None
    service: Service
    destination: Pod | None  # None: the request never reached a workload
    code: int = 200
    flags: str = "-"
    protocol: str = "http"
    duration_ms: int = 12
    bytes_received: int = 0
    bytes_sent: int = 295
    mtls: bool = True
    user_agent: str = "python-requests/2.31"
    authority: str = ""
    remote_ip: str = ""
    path: str = "/"
    # A second ago: a proxy logs a request when it ends, and it counts then (by now).
    start: datetime = field(default_factory=lambda: datetime.now(UTC) - timedelta(seconds=1))
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    subset: str = ""


NS = "bookinfo"
GATEWAY = Pod("istio-system", "istio-ingressgateway", "istio-ingressgateway", "", "10.0.0.5", 8080, "ingress-gateway")
PRODUCTPAGE = Pod(NS, "productpage-v1", "productpage", "v1", "10.0.1.10")
REVIEWS = {v: Pod(NS, f"reviews-{v}", "reviews", v, f"10.0.1.2{i}") for i, v in enumerate(("v1", "v2", "v3"))}
RATINGS = Pod(NS, "ratings-v1", "ratings", "v1", "10.0.1.30")
DETAILS = Pod(NS, "details-v1", "details", "v1", "10.0.1.40")
MONGODB = Pod(NS, "mongodb-v1", "mongodb", "v1", "10.0.1.50", 27017)
SERVICES = {
    name: Service(name, NS, 27017 if name == "mongodb" else 9080, f"10.96.1.{i}")
    for i, name in enumerate(("productpage", "reviews", "ratings", "details", "mongodb", "ratings-canary"))
}


def _time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _port(call: Call, salt: int) -> int:
    return 40000 + (hash((call.request_id, salt)) % 20000)


def _request_part(call: Call) -> str:
    if call.protocol == "tcp":
        return '"- - -"'
    version = "HTTP/2" if call.protocol == "grpc" else "HTTP/1.1"
    return f'"GET {call.path} {version}"'


def _line(
    call: Call,
    *,
    cluster: str,
    upstream_host: str,
    upstream_local: str,
    downstream_local: str,
    downstream_remote: str,
    sni: str,
    code: int,
    flags: str,
    details: str,
    request: bool = True,
) -> str:
    tcp = call.protocol == "tcp"

    def quoted(value: str) -> str:
        return f'"{value}"'

    return " ".join(
        [
            f"[{_time(call.start)}]",
            _request_part(call),
            str(0 if tcp else code),
            flags,
            "-" if tcp else details,
            "-",
            '"-"',
            str(call.bytes_received),
            str(call.bytes_sent),
            str(call.duration_ms),
            "-" if tcp or code in (0, 503, 404) else str(max(call.duration_ms - 1, 0)),
            '"-"',
            quoted("-" if tcp else call.user_agent),
            quoted("-" if tcp or not request else call.request_id),
            quoted("-" if tcp else (call.authority or f"{call.service.name}:{call.service.port}")),
            quoted(upstream_host),
            cluster,
            upstream_local,
            downstream_local,
            downstream_remote,
            sni,
            "-" if tcp else "default",
        ]
    )


def client_line(call: Call) -> str | None:
    """The record the caller's proxy writes (None for a caller with no proxy)."""
    if call.source is None:
        return None
    service = call.service
    reached = call.destination is not None
    cluster = "-" if "NR" in call.flags else f"outbound|{service.port}|{call.subset}|{service.host}"
    return _line(
        call,
        cluster=cluster,
        upstream_host=f"{call.destination.ip}:{call.destination.port}" if reached else "-",
        upstream_local=f"{call.source.ip}:{_port(call, 1)}" if reached else "-",
        downstream_local=f"{service.cluster_ip}:{service.port}"
        if call.source.role == "sidecar"
        else f"{call.source.ip}:{call.source.port}",
        downstream_remote=f"{call.source.ip}:{_port(call, 2)}"
        if call.source.role == "sidecar"
        else f"203.0.113.7:{_port(call, 2)}",
        sni="-",
        code=call.code,
        flags=call.flags,
        details="via_upstream"
        if reached
        else ("route_not_found" if "NR" in call.flags else "upstream_reset_before_response_started{overflow}"),
    )


def server_line(call: Call) -> str | None:
    """The record the destination's sidecar writes (None when the request never arrived)."""
    if call.destination is None:
        return None
    pod = call.destination
    caller = f"{call.source.ip}:{_port(call, 1)}" if call.source else f"{call.remote_ip or NODE_IP}:{_port(call, 3)}"
    sni = f"outbound_.{call.service.port}_._.{call.service.host}" if call.mtls and call.source else "-"
    return _line(
        call,
        cluster=f"inbound|{pod.port}||",
        upstream_host=f"{pod.ip}:{pod.port}",
        upstream_local=f"127.0.0.6:{_port(call, 4)}",
        downstream_local=f"{pod.ip}:{pod.port}",
        downstream_remote=caller,
        sni=sni,
        code=call.code,
        flags=call.flags,
        details="via_upstream",
    )


def envoy_envelopes(calls: Iterable[Call], sides: str = "both", with_ip: bool = True) -> Iterator[str]:
    """NDJSON envelopes as Fluent Bit's kubernetes filter sends them; `sides` is `both`,
    `client` or `server`; `with_ip` adds the pod IP (as Vector does; Fluent Bit does not)."""
    for call in calls:
        for side, pod, line in (
            ("client", call.source, client_line(call)),
            ("server", call.destination, server_line(call)),
        ):
            if line is not None and pod is not None and sides in ("both", side):
                yield json.dumps({"log": line + "\n", "stream": "stdout", "kubernetes": pod.kubernetes(with_ip)})


def bookinfo_calls(start: datetime, scale: int = 1) -> list[Call]:
    """A Bookinfo minute: gateway → productpage → reviews v1/v2/v3 (90/5/5) → ratings, details;
    an external client via NodePort, kubelet probes, a circuit-broken 503 UO, a 404 NR to a
    service without workloads, TCP to mongodb, half the reviews → ratings calls without mTLS."""
    calls: list[Call] = []
    s = SERVICES
    for i in range(20 * scale):
        version = "v1" if i % 20 < 18 else ("v2" if i % 20 == 18 else "v3")
        calls.append(Call(GATEWAY, s["productpage"], PRODUCTPAGE, start=start, path="/productpage", mtls=True))
        calls.append(Call(PRODUCTPAGE, s["details"], DETAILS, start=start, path="/details/0"))
        calls.append(
            Call(
                PRODUCTPAGE,
                s["reviews"],
                REVIEWS[version],
                start=start,
                path="/reviews/0",
                duration_ms=40 if version == "v1" else 80,
            )
        )
        if version != "v1":
            calls.append(Call(REVIEWS[version], s["ratings"], RATINGS, start=start, path="/ratings/0", mtls=i % 2 == 0))
    for _ in range(4 * scale):
        calls.append(
            Call(
                None,
                s["productpage"],
                PRODUCTPAGE,
                start=start,
                path="/productpage",
                mtls=False,
                authority=f"{NODE_IP}:{NODEPORT}",
                remote_ip="198.51.100.23",
            )
        )
    for _ in range(3 * scale):
        calls.append(
            Call(
                None,
                s["details"],
                DETAILS,
                start=start,
                path="/healthz",
                mtls=False,
                user_agent="kube-probe/1.29",
                authority=f"{DETAILS.ip}:9080",
                remote_ip=NODE_IP,
            )
        )
    for _ in range(2 * scale):
        calls.append(
            Call(PRODUCTPAGE, s["reviews"], None, code=503, flags="UO", start=start, duration_ms=0, bytes_sent=81)
        )
    calls.append(
        Call(PRODUCTPAGE, s["ratings-canary"], None, code=404, flags="NR", start=start, duration_ms=0, bytes_sent=0)
    )
    calls.append(
        Call(
            RATINGS,
            s["mongodb"],
            MONGODB,
            protocol="tcp",
            start=start,
            bytes_received=512,
            bytes_sent=2048,
            duration_ms=300,
        )
    )
    return calls
