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
_MILLIS = re.compile(r"\d\.\d{3}", re.ASCII)

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


def unproxied_workload(service: ServiceRef) -> Peer:
    """The workload behind an endpoint of `service` that mesh traffic reached but that never
    wrote a record (it runs without a sidecar): named by its service, as /api/v1/workloads lists
    it (the address inventory keeps the service as its app), its version unknown."""
    return Peer(service.namespace, service.name, service.name, UNKNOWN)
NO_SERVICE = ServiceRef(host="", name="", namespace="")


@dataclass(slots=True)
class Observation:
    """What one record says about one request (or TCP connection)."""

    side: str  # CLIENT or SERVER
    reporter: Reporter
    bucket: int  # start of the 10 s bucket in which the request ended, unix seconds
    request_id: str
    local_ip: str  # the reporter's pod IP as this record shows it
    remote_ip: str  # server side: the caller's address ("" on the client side)
    upstream_ip: str  # client side: the pod the request went to ("" on the server side)
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
    """Return what canonical `record` (every key of `RECORD_KEYS` present, as the parsers
    return it), written by `reporter`, says; `received_ms` dates a record without a start time.
    Raises ValueError for a record that names no side of a request."""
    authority = record["authority"] or ""
    side, service = _side_and_service(record["upstream_cluster"], reporter.is_gateway, authority, reporter.namespace)
    # A request counts in the bucket in which it ended, as Istio's metrics count it when it
    # completes: Envoy writes the record then, so a long one (a TCP connection, a stream) is not
    # late for the bucket it counts in. A record without a start time was received about then.
    start, duration = record["start_time"], record["duration"] or 0
    # A canonical start time (YYYY-MM-DDTHH:MM:SS.mmmZ) names its 10 s bucket in its first 18
    # characters; a stream has few of them, so each is read once, as is each "S.mmm" after them.
    began = (_ten_seconds(start[:18]) if start is not None and len(start) == 24 and start[23] == "Z" else None)
    offset = _millis(start[18:23]) if began is not None else None
    if began is not None and offset is not None:
        bucket = _bucket(began * 1000 + offset + duration)
    else:
        start_ms = start_time_epoch_ms(record)
        bucket = _bucket(received_ms if start_ms is None else start_ms + duration)
    if side == SERVER:
        local_ip = address_ip(record["downstream_local_address"])
        remote_ip = address_ip(record["downstream_remote_address"])
        upstream_ip = ""
    else:
        local_ip = address_ip(record["upstream_local_address"])
        remote_ip = ""
        upstream_ip = address_ip(record["upstream_host"])
    if "extra" in record:
        principal, grpc_status = principal_of(record), _grpc_status(record)
    else:
        principal = grpc_status = ""
    if record["method"] is None and record["protocol"] is None:
        protocol = "tcp"  # TCP records print "- - -"
    elif grpc_status or record["protocol"] == "HTTP/2":
        protocol = protocol_of(record, grpc_status)
    else:
        protocol = "http"
    flags = record["response_flags"]
    sni = record["requested_server_name"]
    return Observation(
        side,
        reporter,
        bucket,
        record["request_id"] or "",
        local_ip,
        remote_ip,
        upstream_ip,
        service,
        protocol,
        record["response_code"] or 0,
        grpc_status,
        (flags[0] if len(flags) == 1 else ",".join(flags)) if flags else "-",
        # Istio's mTLS shows on the server side as an `outbound_.PORT_._.HOST` SNI or a principal.
        bool(principal) or (sni is not None and sni.startswith("outbound_.")),
        principal,
        record["duration"] or 0,
        record["bytes_received"] or 0,
        record["bytes_sent"] or 0,
        record["user_agent"] or "",
        authority,
    )


def _bucket(epoch_ms: int) -> int:
    return epoch_ms // 1000 // BUCKET_SECONDS * BUCKET_SECONDS


@lru_cache(maxsize=4096)
def _ten_seconds(prefix: str) -> int | None:
    """The bucket of every canonical start time beginning with `prefix` (`YYYY-MM-DDTHH:MM:S`),
    None when it begins none."""
    epoch_ms = start_time_epoch_ms({"start_time": f"{prefix}0.000Z"})
    return None if epoch_ms is None else _bucket(epoch_ms)


@lru_cache(maxsize=16384)
def _millis(second_and_millis: str) -> int | None:
    """The milliseconds `S.mmm` (the end of a canonical start time) name, None when it names none."""
    if _MILLIS.fullmatch(second_and_millis) is None:
        return None
    return int(second_and_millis[0]) * 1000 + int(second_and_millis[2:])


@lru_cache(maxsize=8192)
def _side_and_service(cluster: str | None, is_gateway: bool, authority: str, namespace: str) -> tuple[str, ServiceRef]:
    """The side (CLIENT or SERVER) and destination service of a record with upstream cluster
    `cluster` and `authority`, written by a gateway or not in `namespace`. A mesh has few of
    them, so the answers are cached. Raises ValueError for a cluster that names no direction."""
    direction, service = parse_cluster(cluster)
    if not direction and cluster:
        raise ValueError(f"upstream_cluster {cluster!r} names no direction")
    if direction == "outbound" or is_gateway:
        side = CLIENT
    elif direction == "inbound":
        side = SERVER
    else:
        # No cluster (no route, or a listener-level failure): a request for a named service
        # was the client side of an outbound call; anything else failed on the way in.
        service = _service_from_authority(authority, namespace)
        side = CLIENT if service is not None else SERVER
    if service is None:
        service = _service_from_authority(authority, namespace)
    return side, service or NO_SERVICE


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
    return _reason(observation.user_agent, observation.authority)


@lru_cache(maxsize=4096)
def _reason(user_agent: str, authority: str) -> UnknownReason:
    # Records of one caller repeat their user agent and authority: each pair is read once.
    return reason_of(user_agent, split_address(authority)[1])
