"""The `spans` telemetry source: requests between workloads, read from the span store.

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
  service node named by the span's peer attributes (below). A client span whose child is
  another client span of the same workload (an HTTP library span inside a framework's span)
  leaves the request to that child;
- a **request from an unknown caller**: a SERVER span that is the root of its trace, so no
  traced caller sent it (a client outside the mesh, a kubelet probe, a Prometheus scrape). The
  source is ``unknown`` and ``unknown_reason`` says why, as the access-log source does: the user
  agent ``kube-probe/...`` is ``probe``, ``Prometheus/...`` is ``scrape``, a server port in the
  NodePort range (30000-32767, from ``server.port``, ``net.host.port``, ``url.port`` or the
  ``http.host`` header) is ``nodeport``, anything else ``no-peer-identity``. The ingress
  gateway's root spans are not counted: traffic enters the mesh there and is never unknown. A
  server span whose parent id names a span that is not in the store is not counted either: its
  caller was traced but that span was not sampled, kept or received, so nothing says who it was.

**Which window counts a request.** A request belongs to the window in which its caller's span
started (the callee's span for a request from an unknown caller), so windows that tile time
count each request exactly once even when the callee's span starts on the other side of a
boundary, or, with clocks ``CLOCK_SKEW_NS`` apart, before its caller's.

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
- cluster: ``k8s.cluster.name``, else the window's cluster;
- gateways: a workload (or app) named ``istio-ingressgateway`` or ``istio-egressgateway``, or a
  pod labelled ``istio: ingressgateway`` / ``istio: egressgateway``. Resources carry no pod
  labels unless a collector adds them, so Istio's default gateway names are what usually tells.

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
its port), None when the spans name none.

**Cost.** One range scan of ``traces_span`` on the ``start_ns`` index (only the day partitions
the window touches on PostgreSQL) reading nine columns, never the tags, events or links; one
query for the resources those spans name; one more, by ``trace_id``, for the children of the
spans within ``CLOCK_SKEW_NS`` of the window's edges (the only ones whose children can start
outside it), in chunks of ``LOOKUP_CHUNK``. Then one pass in Python, linear in the window's
spans, which are held in memory together (any of them may be another's parent). With the
simulated Bookinfo's HTTP attributes, 80,000 spans take about 1.3 s (half of it reading and
decoding the rows) and 170 MB at the peak, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final, NamedTuple
from urllib.parse import urlsplit

from meshview.graph.samples import UNKNOWN_SOURCE, Endpoint, Protocol, TrafficSample
from meshview.graph.sources import Window
from meshview.mesh.clusters import PASSTHROUGH_CLUSTER
from meshview.mesh.gateways import gateway_kind, role_from_names
from meshview.mesh.identity import service_from_host, split_address, workload_from_pod
from meshview.mesh.latency import LATENCY_BUCKETS_MS, bucket_index
from meshview.mesh.unknown import UNKNOWN, UnknownReason
from meshview.mesh.unknown import unknown_reason as reason_of
from meshview.traces.model import (
    SPAN_KIND_CLIENT,
    SPAN_KIND_CONSUMER,
    SPAN_KIND_PRODUCER,
    SPAN_KIND_SERVER,
    STATUS_ERROR,
    Resource,
)
from meshview.traces.models import Resource as ResourceRow
from meshview.traces.models import Span as SpanRow

NAME: Final = "spans"
# How far apart two hosts' clocks may be: a callee's span may start this long before its
# caller's, or after the caller's span ended.
CLOCK_SKEW_NS = 10**9
# Spans whose children are looked up per query (two IN lists of at most this many values).
LOOKUP_CHUNK = 500

_CALLER_KINDS = frozenset({SPAN_KIND_CLIENT, SPAN_KIND_PRODUCER})
_CALLEE_KINDS = frozenset({SPAN_KIND_SERVER, SPAN_KIND_CONSUMER})
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
_COLUMNS = ("trace_id", "span_id", "parent_span_id", "kind", "start_ns", "duration_ns", "status_code",
            "resource_key", "attributes")


class _Span(NamedTuple):
    trace_id: str
    span_id: str
    parent_span_id: str
    kind: int
    start_ns: int
    duration_ns: int
    status_code: int
    resource_key: str
    attributes: dict[str, Any]


@dataclass(slots=True)
class _Tally:
    requests: int = 0
    latency: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS_MS) + 1))
    duration_sum_ms: float = 0.0
    bytes_sent: float = 0.0
    bytes_received: float = 0.0


_SampleKey = tuple[Endpoint, Endpoint, Protocol, int, "str | None", bool, "str | None", "UnknownReason | None"]


def collect(window: Window) -> list[TrafficSample]:
    """Return the samples of the requests whose caller's span started in `window` (see the
    module's docstring), one per source, destination, protocol, response code, gRPC status,
    mTLS, addressed host and unknown reason; only edges with an end in ``window.namespaces``
    when it is not empty. Raises django.db.DatabaseError when the span store cannot be read."""
    start_ns, end_ns = window.start * 10**9, window.end * 10**9
    spans = [_Span(*row) for row in SpanRow.objects.filter(start_ns__gte=start_ns, start_ns__lt=end_ns)
             .values_list(*_COLUMNS).iterator(chunk_size=5000)]
    identities = _Identities(window.cluster)
    identities.load({s.resource_key for s in spans})

    by_id = {(s.trace_id, s.span_id): s for s in spans}
    children: dict[tuple[str, str], list[_Span]] = {}
    for span in spans:
        if span.parent_span_id:
            children.setdefault((span.trace_id, span.parent_span_id), []).append(span)
    # Children that started outside the window, of the spans close enough to its edges to have them.
    outside = _children_between([s for s in spans if s.start_ns < start_ns + CLOCK_SKEW_NS],
                                start_ns - CLOCK_SKEW_NS, start_ns)
    near_end = [s for s in spans if s.start_ns + s.duration_ns + CLOCK_SKEW_NS >= end_ns]
    if near_end:
        latest = max(s.start_ns + s.duration_ns for s in near_end) + CLOCK_SKEW_NS
        outside += _children_between(near_end, end_ns, latest + 1)
    identities.load({s.resource_key for s in outside} - identities.known)
    for span in outside:
        children.setdefault((span.trace_id, span.parent_span_id), []).append(span)

    tally: dict[_SampleKey, _Tally] = {}
    for span in spans:
        if span.parent_span_id:
            parent = by_id.get((span.trace_id, span.parent_span_id))
            if parent is not None and _is_request(parent, span, identities):
                _count_pair(tally, parent, span, identities)
        elif span.kind == SPAN_KIND_SERVER:
            _count_from_unknown(tally, span, identities)
        kids = children.get((span.trace_id, span.span_id), ())
        for child in kids:
            # children in the window were counted above, as spans with a parent in it
            if (child.start_ns < start_ns or child.start_ns >= end_ns) and _is_request(span, child, identities):
                _count_pair(tally, span, child, identities)
        if span.kind in _CALLER_KINDS and not any(
            _is_request(span, c, identities) or _delegates(span, c, identities) for c in kids
        ):
            _count_unreached(tally, span, identities)

    namespaces = window.namespaces
    return [
        _sample(key, counts)
        for key, counts in tally.items()
        if not namespaces or key[0].namespace in namespaces or key[1].namespace in namespaces
    ]


def _children_between(parents: list[_Span], low_ns: int, high_ns: int) -> list[_Span]:
    """The children of `parents` that started in [low_ns, high_ns)."""
    found: list[_Span] = []
    for i in range(0, len(parents), LOOKUP_CHUNK):
        wanted = {(s.trace_id, s.span_id) for s in parents[i : i + LOOKUP_CHUNK]}
        rows = SpanRow.objects.filter(
            start_ns__gte=low_ns,
            start_ns__lt=high_ns,
            trace_id__in={t for t, _ in wanted},
            parent_span_id__in={p for _, p in wanted},
        ).values_list(*_COLUMNS)
        found += [_Span(*row) for row in rows if (row[0], row[2]) in wanted]
    return found


class _Identities:
    """Resource keys to the workload identities they describe, each worked out once."""

    def __init__(self, cluster: str) -> None:
        self.cluster = cluster
        self.endpoints: dict[str, Endpoint] = {}
        self.known: set[str] = set()
        self._through: dict[tuple[Endpoint, str], Endpoint] = {}

    def load(self, keys: set[str]) -> None:
        if not keys:
            return
        self.known |= keys
        wanted = list(keys)
        for i in range(0, len(wanted), 5000):
            for key, attributes in ResourceRow.objects.filter(key__in=wanted[i : i + 5000]).values_list(
                "key", "attributes"
            ):
                self.endpoints[key] = endpoint_of(attributes, self.cluster)

    def through(self, endpoint: Endpoint, service: str) -> Endpoint:
        """The destination `endpoint` reached through `service` (shared, as the engine caches by it)."""
        found = self._through.get((endpoint, service))
        if found is None:
            found = self._through[endpoint, service] = replace(endpoint, service=service)
        return found

    def __call__(self, key: str) -> Endpoint:
        endpoint = self.endpoints.get(key)
        if endpoint is None:  # a resource row that is missing says as much as one without attributes
            endpoint = self.endpoints[key] = endpoint_of({}, self.cluster)
        return endpoint


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


def endpoint_of(attributes: Mapping[str, Any], cluster: str) -> Endpoint:
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
    istio = _label(attributes, ("istio",))
    gateway = gateway_kind(role_from_names(istio, workload, app))
    return Endpoint(
        _text(attributes, "k8s.cluster.name") or cluster, namespace, workload, app or UNKNOWN, version,
        gateway=gateway,
    )


def _same_workload(a: Endpoint, b: Endpoint) -> bool:
    return a.cluster == b.cluster and a.namespace == b.namespace and a.workload == b.workload


def _is_request(parent: _Span, child: _Span, identities: _Identities) -> bool:
    """Whether `parent` and `child` are the two sides of one request."""
    if parent.kind in _CALLER_KINDS and child.kind in _CALLEE_KINDS:
        return True
    return not _same_workload(identities(parent.resource_key), identities(child.resource_key))


def _delegates(parent: _Span, child: _Span, identities: _Identities) -> bool:
    """Whether a caller span left its request to a nested caller span of the same workload."""
    return child.kind in _CALLER_KINDS and _same_workload(
        identities(parent.resource_key), identities(child.resource_key)
    )


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


def _first_int(spans: Iterable[_Span], *keys: str) -> int | None:
    for span in spans:
        attributes = span.attributes
        for key in keys:
            value = attributes.get(key)
            if value is not None:
                number = _int(value)
                if number is not None:
                    return number
    return None


def _protocol(spans: list[_Span]) -> Protocol:
    if any(_GRPC_STATUS_KEYS[0] in s.attributes or _GRPC_STATUS_KEYS[1] in s.attributes
           or s.attributes.get("rpc.system") == "grpc" for s in spans):
        return "grpc"
    tcp = False
    for span in spans:
        attributes = span.attributes
        if any(key.startswith(("http.", "url.", "rpc.")) for key in attributes):
            return "http"
        tcp = tcp or attributes.get("network.transport", attributes.get("net.transport")) in ("tcp", "ip_tcp")
    return "tcp" if tcp else "http"


def _mtls(spans: Iterable[_Span]) -> bool:
    for span in spans:
        attributes = span.attributes
        if attributes.get("tls.established") is True and any(
            attributes.get(key) for key in ("tls.client.subject", "tls.client.certificate", "tls.client.hash.sha256")
        ):
            return True
    return False


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


def _addressed(attributes: Mapping[str, Any], namespace: str, server_side: bool = False) -> tuple[str, str, str | None]:
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


# --- counting -------------------------------------------------------------------------------


def _count(
    tally: dict[_SampleKey, _Tally],
    source: Endpoint,
    destination: Endpoint,
    describing: list[_Span],
    *,
    host: str | None,
    reason: UnknownReason | None = None,
) -> None:
    """Count one request whose measures the `describing` spans hold, the callee's first."""
    protocol = _protocol(describing)
    grpc = _first_int(describing, *_GRPC_STATUS_KEYS)
    code = _first_int(describing, "http.response.status_code", "http.status_code")
    if protocol == "tcp":
        code = 0
    elif code is None:
        code = 200 if grpc is not None or all(s.status_code != STATUS_ERROR for s in describing) else 0
    key: _SampleKey = (source, destination, protocol, code, None if grpc is None else str(grpc),
                       _mtls(describing), host, reason)
    counts = tally.get(key)
    if counts is None:
        counts = tally[key] = _Tally()
    counts.requests += 1
    measured = describing[0]
    if protocol == "tcp":
        received = _first_int([measured], "network.io.receive") or 0
        sent = _first_int([measured], "network.io.transmit") or 0
        if measured.kind in _CALLER_KINDS:  # the caller's side: what it sent, the destination received
            received, sent = sent, received
        counts.bytes_received += received
        counts.bytes_sent += sent
        return
    duration_ms = measured.duration_ns / 1e6
    counts.latency[bucket_index(duration_ms)] += 1
    counts.duration_sum_ms += duration_ms
    counts.bytes_received += _first_int(describing, "http.request.body.size", "http.request_content_length") or 0
    counts.bytes_sent += _first_int(describing, "http.response.body.size", "http.response_content_length") or 0


def _count_pair(tally: dict[_SampleKey, _Tally], parent: _Span, child: _Span, identities: _Identities) -> None:
    source = identities(parent.resource_key)
    destination = identities(child.resource_key)
    describing = [s for s, kinds in ((child, _CALLER_KINDS), (parent, _CALLEE_KINDS)) if s.kind not in kinds]
    service, namespace, host = "", "", None
    if parent.kind in _CALLER_KINDS:
        service, namespace, host = _addressed(parent.attributes, source.namespace)
    if namespace:  # a Kubernetes service: the one the workload was reached through
        destination = identities.through(destination, service)
    _count(tally, source, destination, describing or [child], host=host)


def _count_unreached(tally: dict[_SampleKey, _Tally], span: _Span, identities: _Identities) -> None:
    source = identities(span.resource_key)
    service, namespace, host = _addressed(span.attributes, source.namespace)
    if host is None:
        return  # a call to nowhere the span names: nothing to draw
    destination = Endpoint(
        source.cluster, namespace or source.namespace, UNKNOWN, UNKNOWN, UNKNOWN,
        service=service or PASSTHROUGH_CLUSTER,
        service_entry="MESH_EXTERNAL" if service and not namespace else None,
    )
    _count(tally, source, destination, [span], host=host)


def _count_from_unknown(tally: dict[_SampleKey, _Tally], span: _Span, identities: _Identities) -> None:
    destination = identities(span.resource_key)
    if destination.gateway == "ingress":
        return
    attributes = span.attributes
    service, namespace, host = _addressed(attributes, destination.namespace, server_side=True)
    if namespace:
        destination = identities.through(destination, service)
    _count(tally, UNKNOWN_SOURCE, destination, [span], host=host, reason=unknown_reason(attributes))


def unknown_reason(attributes: Mapping[str, Any]) -> UnknownReason:
    """Why the caller of a root server span with these attributes is unknown: ``probe``,
    ``scrape``, ``nodeport`` or ``no-peer-identity`` (see the module's docstring)."""
    agent = _text(attributes, "user_agent.original", "http.user_agent")
    port = _int(attributes.get("server.port", attributes.get("net.host.port", attributes.get("url.port"))))
    if port is None:
        port = split_address(_text(attributes, "http.host"))[1]
    return reason_of(agent, port)


def _sample(key: _SampleKey, counts: _Tally) -> TrafficSample:
    source, destination, protocol, code, grpc, mtls, host, reason = key
    return TrafficSample(
        source=source,
        destination=destination,
        protocol=protocol,
        response_code=code,
        grpc_status=grpc,
        mtls=mtls,
        requests=counts.requests,
        latency_counts=None if protocol == "tcp" else tuple(counts.latency),
        duration_sum_ms=counts.duration_sum_ms,
        bytes_sent=counts.bytes_sent,
        bytes_received=counts.bytes_received,
        upstream_host=host,
        unknown_reason=reason,
        telemetry=NAME,
    )
