"""From one parsed access-log record and its reporter to one traffic observation (pure Python).

An `inbound|` record is the server side of a request into the reporter's workload; a record
from a gateway or with an `outbound|` cluster is the client side. The server side's source is
decided later (`meshview.mesh.actions`), in DESIGN.md's order: peer identity, the client-side
twin with the same x-request-id that went to this pod, the owner of the caller's address, and
otherwise `unknown` with the reason `unknown_reason` gives.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from meshview.envoy.record import start_time_epoch_ms
from meshview.mesh.identity import (
    Reporter,
    ServiceRef,
    address_ip,
    parse_cluster,
    service_from_host,
    split_address,
)
from meshview.mesh.unknown import UNKNOWN, UnknownReason
from meshview.mesh.unknown import unknown_reason as reason_of

BUCKET_SECONDS = 10  # traffic rollups are kept per 10-second bucket
_GRPC_PATH = re.compile(r"^/[A-Za-z_][\w.]*\.[A-Za-z_]\w*/[A-Za-z_]\w*$")
_SPIFFE = re.compile(r"^spiffe://[^/]+/ns/([^/]+)/sa/([^/]+)$")

CLIENT, SERVER = "client", "server"


@dataclass(frozen=True, slots=True)
class Peer:
    """One side of an edge: a workload, or the unknown source."""

    namespace: str
    workload: str
    app: str
    version: str
    role: str = ""

    @classmethod
    def of(cls, reporter: Reporter) -> "Peer":
        return cls(reporter.namespace, reporter.workload, reporter.app, reporter.version, reporter.role)


UNKNOWN_PEER = Peer(UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN)
NO_SERVICE = ServiceRef(host="", name="", namespace="")


@dataclass(slots=True)
class Observation:
    """What one record says about one request (or TCP connection)."""

    side: str  # CLIENT or SERVER
    reporter: Reporter
    bucket: int  # start of the 10 s bucket, unix seconds
    request_id: str
    local_ip: str  # the reporter's pod IP as this record shows it
    remote_ip: str  # server side: the caller's address
    upstream_ip: str  # client side: the pod the request went to
    service: ServiceRef
    protocol: str
    response_code: int
    grpc_status: str
    response_flags: str
    mtls: bool
    principal: str
    duration_ms: int
    bytes_received: int
    bytes_sent: int
    user_agent: str
    authority: str

    @property
    def pod_address(self) -> str:
        """The reporter's pod IP as this record shows it, "" when it shows none (or only the
        sidecar's loopback side)."""
        return "" if self.local_ip.startswith("127.") else self.local_ip


def protocol_of(record: Mapping[str, Any], grpc_status: str) -> str:
    """Return `tcp`, `grpc` or `http` for a record whose format logged `grpc_status` ("" if not).

    TCP records print `"- - -"`. gRPC is HTTP/2 whose path names a service method
    (`/package.Service/Method`), or a record whose format logged a gRPC status.
    """
    if record.get("method") is None and record.get("protocol") is None:
        return "tcp"
    if grpc_status or (
        record.get("protocol") == "HTTP/2" and _GRPC_PATH.match(record.get("path") or "") is not None
    ):
        return "grpc"
    return "http"


def _grpc_status(record: Mapping[str, Any]) -> str:
    for key, value in (record.get("extra") or {}).items():
        if "GRPC_STATUS" in key.upper() and value not in (None, ""):
            return str(value)
    return ""


def principal_of(record: Mapping[str, Any]) -> str:
    """Return the caller's SPIFFE principal when the format logged it, else ""."""
    for key, value in (record.get("extra") or {}).items():
        if "PEER_URI_SAN" in key.upper() and isinstance(value, str) and value.startswith("spiffe://"):
            return value
    return ""


def peer_from_principal(principal: str) -> tuple[str, str] | None:
    """Return (namespace, service account) of a SPIFFE principal, None when it is not one."""
    match = _SPIFFE.match(principal)
    return (match.group(1), match.group(2)) if match else None


def observe(record: Mapping[str, Any], reporter: Reporter, received_ms: int) -> Observation:
    """Return what `record`, written by `reporter`, says; `received_ms` dates a record without
    a start time. Raises ValueError for a record that names no side of a request."""
    direction, service = parse_cluster(record.get("upstream_cluster"))
    authority = record.get("authority") or ""
    if not direction and record.get("upstream_cluster"):
        raise ValueError(f"upstream_cluster {record['upstream_cluster']!r} names no direction")
    if direction == "outbound" or reporter.is_gateway:
        side = CLIENT
    elif direction == "inbound":
        side = SERVER
    else:
        # No cluster (no route, or a listener-level failure): a request for a named service
        # was the client side of an outbound call; anything else failed on the way in.
        service = _service_from_authority(authority, reporter.namespace)
        side = CLIENT if service is not None else SERVER
    if service is None:
        service = _service_from_authority(authority, reporter.namespace)
    started_ms = start_time_epoch_ms(record) or received_ms
    local = record.get("downstream_local_address") if side == SERVER else record.get("upstream_local_address")
    principal = principal_of(record)
    sni = record.get("requested_server_name") or ""
    code = record.get("response_code") or 0
    grpc_status = _grpc_status(record)
    return Observation(
        side=side,
        reporter=reporter,
        bucket=started_ms // 1000 // BUCKET_SECONDS * BUCKET_SECONDS,
        request_id=record.get("request_id") or "",
        local_ip=address_ip(local),
        remote_ip=address_ip(record.get("downstream_remote_address")),
        upstream_ip=address_ip(record.get("upstream_host")) if side == CLIENT else "",
        service=service or NO_SERVICE,
        protocol=protocol_of(record, grpc_status),
        response_code=code,
        grpc_status=grpc_status,
        response_flags=",".join(record.get("response_flags") or []) or "-",
        # Istio's mTLS shows on the server side as an `outbound_.PORT_._.HOST` SNI or a principal.
        mtls=bool(principal) or sni.startswith("outbound_."),
        principal=principal,
        duration_ms=record.get("duration") or 0,
        bytes_received=record.get("bytes_received") or 0,
        bytes_sent=record.get("bytes_sent") or 0,
        user_agent=record.get("user_agent") or "",
        authority=authority,
    )


@lru_cache(maxsize=8192)
def _service_from_authority(authority: str, namespace: str) -> ServiceRef | None:
    """The service an authority names (`reviews:9080` in `namespace`, or an FQDN), if any."""
    host, port = split_address(authority)
    if not host or host[0].isdigit() or ":" in host:
        return None  # an IP address names no service
    if "." not in host:
        return ServiceRef(host=f"{host}.{namespace}.svc.cluster.local", name=host, namespace=namespace, port=port)
    service = service_from_host(host, port)
    return service if service.namespace else None


def unknown_reason(observation: Observation) -> UnknownReason:
    """Why a server-side request came from no mesh proxy (`meshview.mesh.unknown`), from its
    user agent and the port of its authority."""
    return reason_of(observation.user_agent, split_address(observation.authority)[1])
