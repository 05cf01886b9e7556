"""Spans into requests between workloads: the rules, as pure functions over `SpanFacts`.

A request is one of:

- a **pair**: a span and its child, where the parent is the caller's side and the child the
  callee's: a CLIENT (or PRODUCER) span and its SERVER (or CONSUMER) child, whichever
  workloads they ran in (a workload calling its own service is a request too), or any parent
  and child in different workloads, whatever their kinds (Jaeger's dependency semantics: spans
  of kind internal or unspecified across a process boundary). The source is the parent's
  workload, the destination the child's;
- a **call that reached no traced workload**: a CLIENT (or PRODUCER) span that is the caller's
  side of no pair (the callee is not instrumented, or the request failed before reaching a
  workload: a 503 from a circuit breaker, a refused connection). The destination is a terminal
  service node named by the span's peer attributes (below); a span that names no host at all
  ends at the unknown destination service: service ``unknown`` in namespace ``unknown``. A
  client span whose child is another client span of the same workload (an HTTP library span
  inside a framework's span) leaves the request to that child;
- a **request from an unknown caller**: a SERVER span that is the root of its trace, so no
  traced caller sent it (a client outside the mesh, a kubelet probe, a Prometheus scrape). The
  source is ``unknown`` and ``unknown_reason`` says why (``meshview.mesh.unknown``): the user
  agent (``user_agent.original`` or ``http.user_agent``) and the server port (``server.port``,
  ``net.host.port``, ``url.port`` or the ``http.host`` header). The ingress gateway's root
  spans are not counted: traffic enters the mesh there and is never unknown. A server span
  whose parent id names a span that is not in the store is not counted either: its caller was
  traced but that span was not sampled, kept or received, so nothing says who it was.

**Which bucket counts a request.** A request belongs to the 10-second bucket in which its
caller's span ended (the callee's span for a request from an unknown caller), as Istio's
metrics count a request when it completes and access logs here do; a span is exported when it
ends, so a long one (a stream) is not late for its bucket. Windows that tile time count each
request exactly once even when the callee's span ends on the other side of a boundary, or after
its caller's when clocks are apart.

**When.** Parents and children arrive in any order, in different exports, at different web
processes (`meshview.traces.pairing`). A pair is counted when its second half is stored. A span
whose parent has not arrived, and a caller span none of whose children has shown it reached a
workload, wait in the pairing store for MESHVIEW_SPAN_PAIR_SECONDS; then the caller is a call
that reached no traced workload, and a child still without a parent is not counted. Until
then the graph shows a waiting caller as a call that reached no traced workload, as it stands.
A child that arrives after its caller was settled so is counted as a pair as well.

**Workload identity** comes from the resource attributes, in OpenTelemetry's semantic
conventions for Kubernetes, or else from pod labels that the OpenTelemetry Collector's
``k8sattributes`` processor copies (``k8s.pod.label.<key>`` or ``k8s.pod.labels.<key>``):

- namespace: ``k8s.namespace.name``, else ``service.namespace``, else ``unknown``;
- workload: ``k8s.deployment.name``, ``k8s.statefulset.name``, ``k8s.daemonset.name``,
  ``k8s.cronjob.name``, ``k8s.job.name``, the workload a ``k8s.pod.name`` belongs to, else the
  service name;
- app: the ``service.istio.io/canonical-name``, ``app.kubernetes.io/name`` or ``app`` label
  (Istio's canonical service), else ``service.name``. Istio's proxies name their service
  ``<app>.<namespace>``, so a ``.<namespace>`` suffix is dropped;
- version: the ``service.istio.io/canonical-revision``, ``app.kubernetes.io/version`` or
  ``version`` label, else ``service.version``, else ``latest`` (Istio's canonical revision when
  nothing names one);
- cluster: ``k8s.cluster.name``, else MESHVIEW_CLUSTER_NAME;
- gateways (``meshview.mesh.gateways``): a pod labelled ``istio: ingressgateway`` /
  ``istio: egressgateway``, or a workload (or app) with Istio's default gateway names. Resources
  carry no pod labels unless a collector adds them, so Istio's default names usually tell.

**The request's measures** are read from the callee's span first, then the caller's, each only
when it describes this request: a callee-side span is SERVER, CONSUMER, INTERNAL or unspecified,
a caller-side span CLIENT, PRODUCER, INTERNAL or unspecified (a SERVER parent's status code
belongs to the request it served, not to the one it made).

- response code: ``http.response.status_code`` or ``http.status_code``; with none, a span with
  status ERROR means no response (code 0), else 200;
- gRPC: ``rpc.grpc.status_code`` (Envoy's tracer: ``grpc.status_code``), or ``rpc.system``
  ``grpc``, makes the protocol ``grpc`` with that status;
- TCP: ``network.transport`` (or the older ``net.transport``) ``tcp``/``ip_tcp`` on a span with no
  ``http.*``, ``url.*`` or ``rpc.*`` attribute. Rare: OpenTelemetry instruments protocols, not
  connections. A TCP request counts a connection; its bytes come from ``network.io.receive``
  and ``network.io.transmit``, the bytes the span's own side received and transmitted
  (meshview's names: OpenTelemetry defines byte counts for spans only per protocol);
- duration: the describing span's (the callee's when it has one), into Istio's latency buckets;
- bytes: ``http.request.body.size`` (or ``http.request_content_length``) is what the destination
  received, ``http.response.body.size`` (or ``http.response_content_length``) what it sent;
- mTLS: spans do not say whether a proxy wrapped the call in mutual TLS, so a request is mTLS
  only when a span reports TLS established (``tls.established``) with a client certificate
  (``tls.client.subject``, ``tls.client.certificate`` or ``tls.client.hash.sha256``);
- response flags: spans carry none of Envoy's, so always ``-``.

**Destination service.** The host a caller addressed comes from its span's peer attributes:
``server.address``, ``net.peer.name``, the host of ``url.full`` or ``http.url``, else
``peer.service``; a root server span says it as ``server.address``, ``net.host.name``, the
host of its URL or ``http.host`` (on a server span the older ``net.peer.*`` is the caller). A
host ``<name>.<namespace>.svc...`` is that Kubernetes service; a name without dots is a service
in the caller's namespace (Kubernetes' DNS search path); another name is an external host; an
IP address names no service. A request that reached a workload is drawn through the Kubernetes
service it addressed, and straight to the workload otherwise (a probe or a NodePort dials a pod
or a node). A request that reached no workload ends at a terminal service node: the Kubernetes
service, the external host (``MESH_EXTERNAL``, in the caller's namespace) or, for an IP
address, ``PassthroughCluster``. ``upstream_host`` is the host as addressed (an IP address with
its port), empty when the spans name none.

**Jaeger's dependencies** count every parent and child span of different services
(``service.name``), whatever their kinds, in the bucket in which the child ended.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from meshview.mesh.clusters import PASSTHROUGH_CLUSTER
from meshview.mesh.gateways import gateway_kind, role_from_names
from meshview.mesh.identity import service_from_host, split_address, workload_from_pod
from meshview.mesh.latency import bucket_index
from meshview.mesh.models import SPAN_ROLLUP_MEASURES
from meshview.mesh.rollups import BUCKET_SECONDS
from meshview.mesh.unknown import UNKNOWN, unknown_reason
from meshview.traces.model import (
    SPAN_KIND_CLIENT,
    SPAN_KIND_CONSUMER,
    SPAN_KIND_PRODUCER,
    SPAN_KIND_SERVER,
    STATUS_ERROR,
    Resource,
    Span,
)

CALLER_KINDS = frozenset({SPAN_KIND_CLIENT, SPAN_KIND_PRODUCER})
CALLEE_KINDS = frozenset({SPAN_KIND_SERVER, SPAN_KIND_CONSUMER})
MESH_EXTERNAL = "MESH_EXTERNAL"
# OpenTelemetry's key, then Envoy's tracer's
_GRPC_STATUS_KEYS = ("rpc.grpc.status_code", "grpc.status_code")
_WORKLOAD_KEYS = ("k8s.deployment.name", "k8s.statefulset.name", "k8s.daemonset.name", "k8s.cronjob.name",
                  "k8s.job.name")
_APP_LABELS = ("service.istio.io/canonical-name", "app.kubernetes.io/name", "app")
_VERSION_LABELS = ("service.istio.io/canonical-revision", "app.kubernetes.io/version", "version")
_LABEL_PREFIXES = ("k8s.pod.label.", "k8s.pod.labels.")
# Istio's canonical revision of a workload whose labels name no version
_LATEST = "latest"
# OpenTelemetry SDKs name a service they were not told about unknown_service[:<process>].
_SDK_DEFAULT_SERVICE = "unknown_service"
_TLS_CLIENT_KEYS = ("tls.client.subject", "tls.client.certificate", "tls.client.hash.sha256")


class Identity(NamedTuple):
    """A workload as the graph names it: cluster, namespace, workload, app, version, and
    `ingress`/`egress` for an Istio gateway ("" for a sidecar)."""

    cluster: str
    namespace: str
    workload: str
    app: str
    version: str
    gateway: str


class Destination(NamedTuple):
    """The callee side of a request: a workload (reached through `service` when a Kubernetes
    service was addressed), or a terminal service node (workload `unknown`)."""

    cluster: str
    namespace: str
    workload: str
    app: str
    version: str
    gateway: str
    service: str
    service_entry: str


UNKNOWN_IDENTITY = Identity(UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN, "")


def _label(attributes: Mapping[str, Any], names: Iterable[str]) -> str:
    for name in names:
        for prefix in _LABEL_PREFIXES:
            value = attributes.get(prefix + name)
            if isinstance(value, str) and value:
                return value
    return ""


def _text(attributes: Mapping[str, Any], *keys: str) -> str:
    for key in keys:
        value = attributes.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def identity_of(attributes: Mapping[str, Any], cluster: str) -> Identity:
    """Return the workload identity that resource `attributes` describe (the rules are in the
    module's docstring); `cluster` is used when the resource names none."""
    namespace = _text(attributes, "k8s.namespace.name", "service.namespace") or UNKNOWN
    service_name = attributes.get("service.name")
    if not isinstance(service_name, str) or service_name.startswith(_SDK_DEFAULT_SERVICE):
        service_name = ""
    service_name = service_name.removesuffix(f".{namespace}")
    workload = _text(attributes, *_WORKLOAD_KEYS)
    if not workload:
        pod = _text(attributes, "k8s.pod.name")
        workload = workload_from_pod(pod) if pod else service_name or Resource(dict(attributes)).service_name
    app = _label(attributes, _APP_LABELS) or service_name
    version = _label(attributes, _VERSION_LABELS) or _text(attributes, "service.version") or _LATEST
    gateway = gateway_kind(role_from_names(_label(attributes, ("istio",)), workload, app)) or ""
    return Identity(_text(attributes, "k8s.cluster.name") or cluster, namespace, workload, app or UNKNOWN, version,
                    gateway)


# --- reading attributes ---------------------------------------------------------------------


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _first_int(attributes: Mapping[str, Any], *keys: str) -> int | None:
    for key in keys:
        value = attributes.get(key)
        if value is not None:
            number = _int(value)
            if number is not None:
                return number
    return None


def _peer_host(attributes: Mapping[str, Any], server_side: bool) -> tuple[str, int | None]:
    """The host (and port) a span's request was addressed to, ("", None) when it names none.
    A server span names it as the server (the older ``net.peer.*`` is its caller there)."""
    if server_side:
        host = _text(attributes, "server.address", "net.host.name")
        port = _int(attributes.get("server.port", attributes.get("net.host.port")))
        fallbacks: tuple[str, ...] = ("http.host",)
    else:
        host = _text(attributes, "server.address", "net.peer.name")
        port = _int(attributes.get("server.port", attributes.get("net.peer.port")))
        fallbacks = ()
    if not host:
        url = _text(attributes, "url.full", "http.url")
        if url:
            try:
                parts = urlsplit(url)
                host, port = parts.hostname or "", parts.port
            except ValueError:
                host = ""
    if not host:
        host = _text(attributes, *fallbacks) if server_side else _text(attributes, "peer.service")
    if host.count(":") == 1 or host.startswith("["):
        host, parsed = split_address(host)
        port = port or parsed
    return host.lower(), port


def _is_ip(host: str) -> bool:
    return ":" in host or (host[:1].isdigit() and host.replace(".", "").isdigit())


def _addressed(attributes: Mapping[str, Any], namespace: str, server_side: bool) -> tuple[str, str, str | None]:
    """(service, service namespace, addressed host) of the host a span names; the service is ""
    for an IP address or no host, the namespace "" for an external host."""
    host, port = _peer_host(attributes, server_side)
    if not host:
        return "", "", None
    if _is_ip(host):
        shown = f"[{host}]" if ":" in host else host
        return "", "", f"{shown}:{port}" if port else shown
    if "." not in host:
        return host, namespace, f"{host}.{namespace}.svc.cluster.local"
    ref = service_from_host(host)
    return ref.name, ref.namespace, host


def _reason(attributes: Mapping[str, Any]) -> str:
    """Why the caller of a root server span with these attributes is unknown."""
    agent = _text(attributes, "user_agent.original", "http.user_agent")
    port = _int(attributes.get("server.port", attributes.get("net.host.port", attributes.get("url.port"))))
    if port is None:
        port = split_address(_text(attributes, "http.host"))[1]
    return unknown_reason(agent, port)


# --- what pairing needs of a span -----------------------------------------------------------


@dataclass(slots=True)
class SpanFacts:
    """What deciding and measuring a span's requests needs of it, read once at ingest; kept as
    JSON in the pairing store (`as_json`, `from_json`)."""

    trace_id: str
    span_id: str
    parent_span_id: str
    kind: int
    start_ns: int
    duration_ns: int
    service_name: str  # Jaeger's service, for dependencies
    identity: Identity
    error: bool  # status ERROR
    grpc_marked: bool  # a gRPC status key or rpc.system grpc
    protocol_keys: bool  # an http.*, url.* or rpc.* attribute
    tcp: bool  # network.transport tcp
    code: int | None
    grpc_status: int | None
    mtls: bool
    request_bytes: int | None
    response_bytes: int | None
    io_receive: int | None
    io_transmit: int | None
    # The service, its namespace and the host the span addressed as a caller; as a server for a root.
    addressed: tuple[str, str, str | None]
    unknown_reason: str  # for a root server span

    @property
    def end_ns(self) -> int:
        return self.start_ns + self.duration_ns

    def as_json(self) -> list[Any]:
        return [getattr(self, name) for name in self.__slots__]

    @classmethod
    def from_json(cls, values: list[Any]) -> SpanFacts:
        facts = cls(*values)
        facts.identity = Identity(*facts.identity)
        facts.addressed = (facts.addressed[0], facts.addressed[1], facts.addressed[2])
        return facts


def facts_of(
    span: Span, attributes: Mapping[str, Any], identity: Identity, memo: dict[tuple, tuple] | None = None
) -> SpanFacts:
    """Read what pairing needs from `span` (whose attributes are `attributes`), run in `identity`.
    What the attributes say is remembered in `memo`, when given, for the other spans of the batch
    that carry the same attributes (an export's spans repeat them: the same calls, the same codes)."""
    root_server = not span.parent_span_id and span.kind == SPAN_KIND_SERVER
    caller = span.kind in CALLER_KINDS
    described = None
    if memo is not None:
        try:
            # The value types too: True == 1, but a status code of True is no status code.
            key: tuple | None = (
                tuple(attributes.items()), tuple(map(type, attributes.values())), identity.namespace, root_server,
                caller,
            )
            described = memo.get(key)  # type: ignore[arg-type]
        except TypeError:  # an array or map value: not hashable, so not remembered
            key = None
    if described is None:
        described = _described(attributes, identity.namespace, root_server, caller)
        if memo is not None and key is not None:
            memo[key] = described
    return SpanFacts(
        span.trace_id,
        span.span_id,
        span.parent_span_id,
        span.kind,
        span.start_ns,
        span.end_ns - span.start_ns,
        span.service_name,
        identity,
        span.status_code == STATUS_ERROR,
        *described,
    )


def _described(attributes: Mapping[str, Any], namespace: str, root_server: bool, caller: bool) -> tuple:
    """The fields of `SpanFacts` after `error` that a span's attributes decide, in order."""
    transport = attributes.get("network.transport", attributes.get("net.transport"))
    return (
        any(key in attributes for key in _GRPC_STATUS_KEYS) or attributes.get("rpc.system") == "grpc",
        any(key.startswith(("http.", "url.", "rpc.")) for key in attributes),
        transport in ("tcp", "ip_tcp"),
        _first_int(attributes, "http.response.status_code", "http.status_code"),
        _first_int(attributes, *_GRPC_STATUS_KEYS),
        attributes.get("tls.established") is True and any(attributes.get(k) for k in _TLS_CLIENT_KEYS),
        _first_int(attributes, "http.request.body.size", "http.request_content_length"),
        _first_int(attributes, "http.response.body.size", "http.response_content_length"),
        _first_int(attributes, "network.io.receive"),
        _first_int(attributes, "network.io.transmit"),
        _addressed(attributes, namespace, server_side=root_server) if root_server or caller else ("", "", None),
        _reason(attributes) if root_server else "",
    )


def _same_workload(a: Identity, b: Identity) -> bool:
    return a.cluster == b.cluster and a.namespace == b.namespace and a.workload == b.workload


def is_request(parent: SpanFacts, child: SpanFacts) -> bool:
    """Whether `parent` and `child` are the two sides of one request."""
    if parent.kind in CALLER_KINDS and child.kind in CALLEE_KINDS:
        return True
    return not _same_workload(parent.identity, child.identity)


def delegates(parent: SpanFacts, child: SpanFacts) -> bool:
    """Whether a caller span left its request to a nested caller span of the same workload."""
    return child.kind in CALLER_KINDS and _same_workload(parent.identity, child.identity)


def settles(parent: SpanFacts, child: SpanFacts) -> bool:
    """Whether `child` shows that its caller span `parent` is no call that reached no workload."""
    return parent.kind in CALLER_KINDS and (is_request(parent, child) or delegates(parent, child))


# --- counting -------------------------------------------------------------------------------


class Tally:
    """The rollup rows of a batch of requests and dependency links, summed per key, ready for
    `meshview.mesh.rollups.write` (SPANS and DEPENDENCIES)."""

    def __init__(self) -> None:
        self.requests: dict[tuple, list[float]] = {}
        self.dependencies: dict[tuple, list[float]] = {}

    def dependency(self, parent: SpanFacts, child: SpanFacts) -> None:
        """Count a Jaeger dependency link when `parent` and `child` are of different services."""
        if parent.service_name != child.service_name:
            key = (_bucket(child.end_ns), parent.identity.namespace, parent.service_name, child.identity.namespace,
                   child.service_name)
            counts = self.dependencies.get(key)
            if counts is None:
                self.dependencies[key] = [1]
            else:
                counts[0] += 1

    def pair(self, parent: SpanFacts, child: SpanFacts) -> None:
        """Count the request `parent` made that `child` served (they are a request)."""
        service, namespace, host = parent.addressed if parent.kind in CALLER_KINDS else ("", "", None)
        # Through the Kubernetes service it addressed, when it addressed one.
        destination = (*child.identity, service if namespace else "", "")
        child_describes, parent_describes = child.kind not in CALLER_KINDS, parent.kind not in CALLEE_KINDS
        if child_describes:
            self._count(parent.end_ns, parent.identity, destination, child, parent if parent_describes else None,
                        host, "")
        else:
            self._count(parent.end_ns, parent.identity, destination, parent if parent_describes else child, None,
                        host, "")

    def unreached(self, span: SpanFacts) -> None:
        """Count the call of caller `span` that reached no traced workload."""
        source = span.identity
        service, namespace, host = span.addressed
        if host is None:  # it names nowhere: the unknown destination service
            destination = Destination(source.cluster, UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN, "", UNKNOWN, "")
        else:
            destination = Destination(
                source.cluster, namespace or source.namespace, UNKNOWN, UNKNOWN, UNKNOWN, "",
                service or PASSTHROUGH_CLUSTER, MESH_EXTERNAL if service and not namespace else "",
            )
        self._count(span.end_ns, source, destination, span, None, host, "")

    def from_unknown(self, span: SpanFacts) -> None:
        """Count the request a root server span served for a caller no trace shows."""
        if span.identity.gateway == "ingress":
            return
        service, namespace, host = span.addressed
        destination = (*span.identity, service if namespace else "", "")
        self._count(span.end_ns, UNKNOWN_IDENTITY, destination, span, None, host, span.unknown_reason)

    def _count(
        self,
        end_ns: int,
        source: Identity,
        destination: tuple[str, ...],
        first: SpanFacts,
        second: SpanFacts | None,
        host: str | None,
        reason: str,
    ) -> None:
        """Count one request whose measures the describing spans hold: `first` (the callee's
        when it describes the request) and `second` (the caller's, when both do)."""
        if first.grpc_marked or (second is not None and second.grpc_marked):
            protocol = "grpc"
        elif first.protocol_keys or (second is not None and second.protocol_keys):
            protocol = "http"
        else:
            protocol = "tcp" if first.tcp or (second is not None and second.tcp) else "http"
        grpc, code = first.grpc_status, first.code
        if second is not None:
            grpc = second.grpc_status if grpc is None else grpc
            code = second.code if code is None else code
        if protocol == "tcp":
            code = 0
        elif code is None:
            failed = first.error or (second is not None and second.error)
            code = 200 if grpc is not None or not failed else 0
        mtls = first.mtls or (second is not None and second.mtls)
        key = (
            _bucket(end_ns), *source, *destination, host or "", protocol, code, "" if grpc is None else str(grpc),
            mtls, reason,
        )
        counts = self.requests.get(key)
        if counts is None:
            counts = self.requests[key] = [0] * len(SPAN_ROLLUP_MEASURES)
        counts[0] += 1
        if protocol == "tcp":
            received, sent = first.io_receive or 0, first.io_transmit or 0
            if first.kind in CALLER_KINDS:  # the caller's side: what it sent, the destination received
                received, sent = sent, received
            counts[2] += received
            counts[3] += sent
            return
        duration_ms = first.duration_ns / 1e6
        counts[4 + bucket_index(duration_ms)] += 1
        counts[1] += duration_ms
        request_bytes, response_bytes = first.request_bytes, first.response_bytes
        if second is not None:
            request_bytes = second.request_bytes if request_bytes is None else request_bytes
            response_bytes = second.response_bytes if response_bytes is None else response_bytes
        counts[2] += request_bytes or 0
        counts[3] += response_bytes or 0


def _bucket(ns: int) -> int:
    return ns // 10**9 // BUCKET_SECONDS * BUCKET_SECONDS

