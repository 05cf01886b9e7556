"""The graph engine: traffic samples to a networkx multigraph in Kiali's node and edge model.

``build_graph`` takes the ``TrafficSample``s of one window (from any mix of telemetry sources)
and returns a ``networkx.MultiDiGraph``: nodes are keyed by a readable, stable id and carry
Kiali's node fields; edges are keyed by protocol and carry the raw counts of the window as an
``EdgeTraffic`` under the ``traffic`` attribute. ``meshview.graph.kiali`` derives rates, health
and the JSON from it (which the DOT export reads); the node-detail view reuses the builder with
``GraphOptions.node_focus``.

Node ids: ``workload:<cluster>:<namespace>:<workload>``, ``app:<cluster>:<namespace>:<app>``
(``...:<app>:<version>`` in versionedApp graphs), ``service:<cluster>:<namespace>:<service>``,
``unknown`` (the unknown source), and ``box:<kind>:...`` for boxes. Kiali's two unknowns stay
apart: a request from a caller no proxy identified leaves the ``unknown`` node (a root), a
request whose destination is unknown (Istio's ``destination_service_name="unknown"``, a 404 NR
with no route, a client-side record with no upstream host) reaches the service node ``unknown``
of namespace ``unknown`` (``service:unknown:unknown:unknown``). A node in a namespace the user
may not read keeps its identity and is flagged ``isInaccessible``, as in Kiali.
"""

import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import pairwise
from operator import add
from typing import Any, Literal

import networkx as nx

from meshview.graph.samples import (
    PROTOCOLS,
    TELEMETRY_PREFERENCE,
    UNKNOWN,
    Endpoint,
    TrafficSample,
    known,
)
from meshview.mesh.clusters import PASSTHROUGH_SERVICES

GraphType = Literal["workload", "app", "versionedApp", "service"]

GRAPH_TYPES = frozenset({"workload", "app", "versionedApp", "service"})
APPENDERS = frozenset(
    {"deadNode", "health", "idleNode", "responseTime", "securityPolicy", "serviceEntry", "throughput"}
)
BOX_KINDS = frozenset({"app", "namespace", "cluster"})
RESPONSE_TIMES = frozenset({"avg", "50", "95", "99"})
THROUGHPUT_TYPES = frozenset({"request", "response"})
# Kiali's graph/options.go: rateHttp, rateGrpc and rateTcp. gRPC "sent" counts request messages,
# "received" response messages, "total" both; TCP counts bytes the same way.
RATES: dict[str, frozenset[str]] = {
    "http": frozenset({"none", "requests"}),
    "grpc": frozenset({"none", "requests", "sent", "received", "total"}),
    "tcp": frozenset({"none", "sent", "received", "total"}),
}
UNKNOWN_NODE = "unknown"
UNKNOWN_DESTINATION_NODE = f"service:{UNKNOWN}:{UNKNOWN}:{UNKNOWN}"

# HTTP status to gRPC status, per gRPC's "HTTP to gRPC status code mapping", for gRPC requests
# whose telemetry has no grpc-status (a proxy answered before the server did, e.g. 503 UO).
_GRPC_STATUS_OF_HTTP = {
    200: "0", 400: "13", 401: "16", 403: "7", 404: "12", 429: "14", 502: "14", 503: "14", 504: "14",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class GraphOptions:
    """What to draw, with Kiali's graph parameters. Raises ValueError on an unknown value.

    Defaults are Kiali's (graph/options.go). ``appenders`` None enables every appender, an
    empty set none. ``accessible_namespaces`` None means every namespace is readable.
    ``node_focus`` asks for a node-detail graph: the requests into that node and out of it,
    drawn by the graph type's rules; a focus with a workload is that workload, with an app (and
    maybe a version) that app's workloads, with only a service the requests to that service.
    A graph of type ``service`` always injects service nodes, as Kiali's does.
    """

    namespaces: frozenset[str]
    query_time: int
    graph_type: GraphType = "workload"
    duration_s: int = 600
    inject_service_nodes: bool = False
    include_idle_edges: bool = False
    box_by: frozenset[str] = frozenset()
    appenders: frozenset[str] | None = None
    response_time: Literal["avg", "50", "95", "99"] = "95"
    throughput_type: Literal["request", "response"] = "response"
    rate_http: Literal["none", "requests"] = "requests"
    rate_grpc: Literal["none", "requests", "sent", "received", "total"] = "requests"
    rate_tcp: Literal["none", "sent", "received", "total"] = "sent"
    accessible_namespaces: frozenset[str] | None = None
    cluster_name: str = "Kubernetes"
    node_focus: Endpoint | None = None

    def __post_init__(self) -> None:
        checks = (
            ("graph_type", {self.graph_type}, GRAPH_TYPES),
            ("box_by", self.box_by, BOX_KINDS),
            ("appenders", self.appenders or frozenset(), APPENDERS),
            ("response_time", {self.response_time}, RESPONSE_TIMES),
            ("throughput_type", {self.throughput_type}, THROUGHPUT_TYPES),
            ("rate_http", {self.rate_http}, RATES["http"]),
            ("rate_grpc", {self.rate_grpc}, RATES["grpc"]),
            ("rate_tcp", {self.rate_tcp}, RATES["tcp"]),
        )
        for name, values, allowed in checks:
            wrong = set(values) - allowed
            if wrong:
                raise ValueError(f"{name}: {', '.join(sorted(wrong))} is not one of {', '.join(sorted(allowed))}")
        if self.duration_s <= 0:
            raise ValueError("duration_s must be positive")

    def appender(self, name: str) -> bool:
        """Return whether the named Kiali appender is enabled."""
        return self.appenders is None or name in self.appenders


@dataclass(slots=True, init=False)
class EdgeTraffic:
    """The raw counts of one edge within the window; ``meshview.graph.kiali`` derives rates.

    Responses are weighted by requests for HTTP and gRPC and by the bytes ``rate_tcp`` counts
    for TCP. Response codes are strings: the HTTP code, the gRPC status for gRPC, "-" for no
    response and for TCP. A gRPC edge drawn by its stream messages (``messages``) files them
    all under "-" with their hosts and no flags, and has no response classes, as in Kiali.
    Edges that carry the same single flow (caller -> injected service -> workload) share one
    EdgeTraffic: treat a built graph's traffic as read-only.
    """

    protocol: str
    messages: bool
    requests: float
    bytes_sent: float
    bytes_received: float
    duration_sum_ms: float
    mtls: float
    # response code -> weight; response code -> Envoy flags -> weight, and -> upstream host -> weight
    codes: dict[str, float]
    flags: dict[str, dict[str, float]]
    hosts: dict[str, dict[str, float]]
    # latency histograms as samples bring them, summed by latency_counts()
    histograms: list[tuple[int, ...]]
    telemetry: set[str]
    unknown_reasons: dict[str, float]
    source_principals: dict[str, float]
    dest_principals: dict[str, float]

    def __init__(self, protocol: str, messages: bool = False) -> None:
        # Written out rather than generated: one is made per flow, and the generated __init__
        # tests every field for a default.
        self.protocol = protocol
        self.messages = messages
        self.requests = self.bytes_sent = self.bytes_received = self.duration_sum_ms = self.mtls = 0.0
        self.codes, self.flags, self.hosts = {}, {}, {}
        self.histograms = []
        self.telemetry = set()
        self.unknown_reasons, self.source_principals, self.dest_principals = {}, {}, {}

    @property
    def idle(self) -> bool:
        """Whether the edge saw nothing in the window (Kiali's idle edge)."""
        return not (self.requests or self.bytes_sent or self.bytes_received)

    def add(self, s: TrafficSample, weight: float) -> None:
        """Add one sample, whose responses weigh ``weight``."""
        code = "-" if self.messages else response_code(s)
        codes = self.codes
        codes[code] = codes.get(code, 0.0) + weight
        if not self.messages:
            flag = s.response_flags
            by_flag = self.flags.get(code)
            if by_flag is None:
                self.flags[code] = {flag: weight}
            else:
                by_flag[flag] = by_flag.get(flag, 0.0) + weight
        host = s.upstream_host
        if host:
            by_host = self.hosts.get(code)
            if by_host is None:
                self.hosts[code] = {host: weight}
            else:
                by_host[host] = by_host.get(host, 0.0) + weight
        self.requests += s.requests
        self.bytes_sent += s.bytes_sent
        self.bytes_received += s.bytes_received
        if s.latency_counts is not None:
            self.histograms.append(s.latency_counts)
            self.duration_sum_ms += s.duration_sum_ms
        if s.mtls:
            self.mtls += weight
        if s.unknown_reason:
            self.unknown_reasons[s.unknown_reason] = self.unknown_reasons.get(s.unknown_reason, 0.0) + s.requests

    def latency_counts(self) -> tuple[int, ...] | None:
        """Return the edge's latency histogram (its samples' summed), None without any."""
        histograms = self.histograms
        if len(histograms) > 1:
            # Summed once and kept: same counts, and a merge then adds one tuple, not many.
            summed = histograms[0]
            for histogram in histograms[1:]:
                summed = tuple(map(add, summed, histogram))
            self.histograms = [summed]
        return self.histograms[0] if self.histograms else None

    def merge(self, other: "EdgeTraffic") -> None:
        """Add another edge's counts to this one."""
        self.requests += other.requests
        self.bytes_sent += other.bytes_sent
        self.bytes_received += other.bytes_received
        self.duration_sum_ms += other.duration_sum_ms
        self.mtls += other.mtls
        _add_all(self.codes, other.codes)
        for mine, theirs in ((self.flags, other.flags), (self.hosts, other.hosts)):
            for code, weights in theirs.items():
                into = mine.get(code)
                if into is None:
                    mine[code] = dict(weights)
                else:
                    _add_all(into, weights)
        self.histograms += other.histograms
        self.telemetry |= other.telemetry
        for into, weights in ((self.unknown_reasons, other.unknown_reasons),
                              (self.source_principals, other.source_principals),
                              (self.dest_principals, other.dest_principals)):
            if weights:
                _add_all(into, weights)


def _add_all(into: dict[str, float], weights: dict[str, float]) -> None:
    for key, weight in weights.items():
        into[key] = into.get(key, 0.0) + weight


def response_code(sample: TrafficSample) -> str:
    """Return the response code under which Kiali files a sample: the HTTP code, the gRPC
    status for gRPC, "-" for no response and for TCP."""
    protocol, code = sample.protocol, sample.response_code
    if protocol == "http":
        return str(code) if code else "-"
    if protocol == "tcp":
        return "-"
    if sample.grpc_status is not None:
        return sample.grpc_status
    return _GRPC_STATUS_OF_HTTP.get(code, "2") if code else "-"


class _Nodes:
    """Maps endpoints to the nodes of one graph type and keeps their Kiali attributes."""

    def __init__(self, options: GraphOptions) -> None:
        self.options = options
        self.attrs: dict[str, dict[str, Any]] = {}
        # service node id -> (cluster, namespace, service) of the services in the mesh (not
        # external hosts nor Envoy's passthrough clusters): those the deadNode appender judges
        self.mesh_services: dict[str, tuple[str, str, str]] = {}
        # Endpoints are mostly shared objects: caching by identity skips rebuilding attributes
        # and hashing every field. Each entry keeps its endpoint, so no id is reused meanwhile; an
        # equal endpoint that is another object maps to the same node again.
        self._workload_ids: dict[int, tuple[Endpoint, str]] = {}
        self._service_ids: dict[tuple[int, str], tuple[Endpoint, str]] = {}

    def _node(self, node_id: str, attrs: dict[str, Any]) -> str:
        if node_id in self.attrs:
            return node_id
        # Kiali's outsider finalizer: the unknown source, a service in no known namespace and
        # Envoy's passthrough clusters are inaccessible; any other node is when its namespace is
        # not one the user may read. Such a node keeps its identity.
        accessible = self.options.accessible_namespaces
        namespace = attrs["namespace"]
        if (attrs["nodeType"] == "unknown" or namespace == UNKNOWN
                or (attrs["nodeType"] == "service" and attrs["service"] in PASSTHROUGH_SERVICES)
                or (accessible is not None and namespace not in accessible)):
            attrs["isInaccessible"] = True
        self.attrs[node_id] = attrs
        return node_id

    def unknown(self) -> str:
        """The unknown source: the caller no proxy identified."""
        return self._node(UNKNOWN_NODE, {
            "nodeType": "unknown", "cluster": UNKNOWN, "namespace": UNKNOWN, "workload": UNKNOWN,
            "app": UNKNOWN, "version": UNKNOWN,
        })

    def unknown_destination(self, ep: Endpoint) -> str:
        """Kiali's unknown destination: the service node ``unknown``, one per namespace the
        telemetry names (Istio names none for a request with no route: namespace ``unknown``).
        Its cluster is unknown when its namespace is."""
        namespace = ep.namespace if known(ep.namespace) else UNKNOWN
        cluster = (ep.cluster or self.options.cluster_name) if namespace != UNKNOWN else UNKNOWN
        return self._node(f"service:{cluster}:{namespace}:{UNKNOWN}", {
            "nodeType": "service", "cluster": cluster, "namespace": namespace, "service": UNKNOWN,
        })

    def service(self, ep: Endpoint, name: str) -> str:
        cached = self._service_ids.get((id(ep), name))
        if cached is None:
            cached = self._service_ids[id(ep), name] = (ep, self._service(ep, name))
        return cached[1]

    def _service(self, ep: Endpoint, name: str) -> str:
        cluster = ep.cluster or self.options.cluster_name
        attrs: dict[str, Any] = {
            "nodeType": "service", "cluster": cluster, "namespace": ep.namespace, "service": name,
        }
        if ep.service_entry and self.options.appender("serviceEntry"):
            attrs["isServiceEntry"] = {"hosts": [name], "location": ep.service_entry}
        node_id = self._node(f"service:{cluster}:{ep.namespace}:{name}", attrs)
        if not ep.service_entry and name not in PASSTHROUGH_SERVICES:
            self.mesh_services[node_id] = (cluster, ep.namespace, name)
        return node_id

    def workload(self, ep: Endpoint) -> str:
        """The node of a workload: a workload node, or its app (and version) node in app graphs;
        a workload without an app label stays a workload node, as in Kiali."""
        cached = self._workload_ids.get(id(ep))
        if cached is None:
            cached = self._workload_ids[id(ep)] = (ep, self._workload(ep))
        return cached[1]

    def _workload(self, ep: Endpoint) -> str:
        cluster = ep.cluster or self.options.cluster_name
        graph_type = self.options.graph_type
        attrs: dict[str, Any] = {"nodeType": "workload", "cluster": cluster, "namespace": ep.namespace}
        if graph_type in ("app", "versionedApp") and known(ep.app):
            attrs["nodeType"] = "app"
            attrs["app"] = ep.app
            readable_id = f"app:{cluster}:{ep.namespace}:{ep.app}"
            if graph_type == "versionedApp" and known(ep.version):
                attrs["version"] = ep.version
                readable_id += f":{ep.version}"
        else:
            attrs["workload"] = ep.workload
            if known(ep.app):
                attrs["app"] = ep.app
            if known(ep.version):
                attrs["version"] = ep.version
            readable_id = f"workload:{cluster}:{ep.namespace}:{ep.workload}"
        if ep.gateway:
            attrs["isGateway"] = {f"{ep.gateway}Info": {}}
        node_id = self._node(readable_id, attrs)
        if ep.missing_sidecar:
            self.attrs[node_id]["hasMissingSC"] = True
        return node_id

    def add_dest_service(self, node_id: str, ep: Endpoint) -> None:
        self.attrs[node_id].setdefault("destServices", set()).add(
            (ep.cluster or self.options.cluster_name, ep.namespace, ep.service))

    def focus(self, ep: Endpoint) -> str:
        """The node a node-detail graph is about: the service of a service focus, else the
        workload, app or versioned app node."""
        if known(ep.service) and not known(ep.workload) and not known(ep.app):
            return self.service(ep, ep.service)
        return self.workload(ep)


@contextmanager
def paused_gc() -> Iterator[None]:
    """Defer cyclic garbage collection for the duration of one graph build or serialisation.

    Each allocates about 100,000 containers for a mesh of 1,000 workloads, which triggers
    collections that traverse every live sample (and the rest of the process) again and again,
    while nothing they allocate is garbage before they return. In bench/graph.py collections
    took a third of the time. ``graph_json`` pauses them over the whole request, from the
    samples to the JSON's dict: what the pause allocated is then freed as its references go (the
    graph holds no reference cycles), and no collection ever walks it.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def build_graph(
    samples: Iterable[TrafficSample], options: GraphOptions, inventory: Iterable[Endpoint] = ()
) -> nx.MultiDiGraph:
    """Build the traffic graph of one window.

    ``inventory`` lists the workloads (with the service they back, if any) and services known
    to exist, traffic or not: the idleNode appender draws the ones without traffic and the
    deadNode appender trusts it to tell a service without workloads. Returns a MultiDiGraph with
    ``graph.graph["options"]``, node attributes named as Kiali's node data, and per edge (key:
    protocol) an ``EdgeTraffic`` under ``traffic``. Raises ValueError for a sample with an
    unknown protocol or telemetry.
    """
    with paused_gc():
        return _build_graph(samples, options, inventory)


def _build_graph(
    samples: Iterable[TrafficSample], options: GraphOptions, inventory: Iterable[Endpoint]
) -> nx.MultiDiGraph:
    namespaces = options.namespaces
    kept_protocols = {p for p in PROTOCOLS if getattr(options, f"rate_{p}") != "none"}
    include_idle = options.include_idle_edges
    default_cluster = options.cluster_name
    rate_tcp = options.rate_tcp
    # gRPC drawn by stream messages instead of requests (Kiali's rateGrpc=sent|received|total)
    grpc_messages = options.rate_grpc not in ("none", "requests")
    rate_grpc = options.rate_grpc
    unknown_key = ("", UNKNOWN, UNKNOWN)

    # One flow per (source workload, destination service and workload, protocol), summed per
    # telemetry that saw it: the preferred telemetry's sum is counted.
    flows: dict[tuple[Any, ...], dict[str, EdgeTraffic]] = {}
    endpoints: dict[tuple[Any, ...], tuple[Endpoint, Endpoint]] = {}
    for s in samples:
        protocol = s.protocol
        if protocol not in kept_protocols:
            if protocol not in PROTOCOLS:
                raise ValueError(f"unknown protocol {protocol!r}")
            continue
        requests = s.requests
        messages = protocol == "grpc" and grpc_messages
        if messages:
            weight = (s.request_messages if rate_grpc == "sent" else s.response_messages if rate_grpc == "received"
                      else s.request_messages + s.response_messages)
            if not weight and not include_idle:
                continue
        elif not include_idle and not requests and not s.bytes_sent and not s.bytes_received:
            continue
        src, dst = s.source, s.destination
        if src.namespace not in namespaces and dst.namespace not in namespaces:
            continue
        # known() inlined: this loop runs once per sample
        workload = src.workload
        source_key = (
            (src.cluster or default_cluster, src.namespace, workload) if workload and workload != UNKNOWN
            else unknown_key
        )
        service, workload = dst.service, dst.workload
        key = (source_key, dst.cluster or default_cluster, dst.namespace,
               "" if service == UNKNOWN else service, "" if workload == UNKNOWN else workload, protocol)
        by_telemetry = flows.get(key)
        if by_telemetry is None:
            by_telemetry = flows[key] = {}
            endpoints[key] = (src, dst)
        traffic = by_telemetry.get(s.telemetry)
        if traffic is None:
            if s.telemetry not in TELEMETRY_PREFERENCE:
                raise ValueError(f"unknown telemetry {s.telemetry!r}")
            traffic = by_telemetry[s.telemetry] = EdgeTraffic(protocol, messages=messages)
        if messages:
            traffic.add(s, weight)
        elif protocol == "tcp":
            # Kiali's "sent" is what the client sent: what the destination proxy received.
            traffic.add(s, s.bytes_received if rate_tcp == "sent" else s.bytes_sent if rate_tcp == "received"
                        else s.bytes_received + s.bytes_sent)
        else:
            traffic.add(s, requests)

    # The same requests are one call, whichever workloads a telemetry saw them reach: spans end a
    # call at its service when the workload behind it sends none, access logs at the workload.
    # So the preferred telemetry is chosen per call (source, destination service, or workload
    # when no service is named, protocol) and its flows are counted, the others' left out.
    calls: dict[tuple[Any, ...], set[str]] = {}
    call_of: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    for key, by_telemetry in flows.items():
        call = call_of[key] = _call(key)
        seen = calls.get(call)
        if seen is None:
            calls[call] = set(by_telemetry)
        else:
            seen.update(by_telemetry)
    preferred = {call: next(iter(seen)) if len(seen) == 1 else next(t for t in TELEMETRY_PREFERENCE if t in seen)
                 for call, seen in calls.items()}

    # (cluster, namespace, workload) -> service -> requests, to name callers in service graphs
    served_by: dict[tuple[str, str, str], dict[str, float]] = {}
    backed_services: set[tuple[str, str, str]] = set()
    counted = []
    for key, by_telemetry in flows.items():
        call = call_of[key]
        traffic = by_telemetry.get(preferred[call])
        if traffic is None:
            continue
        traffic.telemetry.update(calls[call])
        traffic.latency_counts()  # one histogram per flow to merge, not one per minute and host
        src, dst = endpoints[key]
        if src.principal or dst.principal:
            weight = sum(traffic.codes.values())
            if src.principal:
                traffic.source_principals[src.principal] = weight
            if dst.principal:
                traffic.dest_principals[dst.principal] = weight
        _, cluster, namespace, service, workload, _ = key
        if service and workload:
            backed_services.add((cluster, namespace, service))
            workload_services = served_by.setdefault((cluster, namespace, workload), {})
            workload_services[service] = workload_services.get(service, 0.0) + traffic.requests
        counted.append((src, dst, traffic))

    focus = options.node_focus
    if focus is not None:
        counted = [flow for flow in counted if _touches(focus, flow[0], flow[1], default_cluster)]
    nodes = _Nodes(options)
    # An edge that several flows take (an app's versions, a service's callers in a service
    # graph) gets an EdgeTraffic of its own that sums them.
    edges: dict[tuple[str, str, str], EdgeTraffic] = {}
    merged: set[tuple[str, str, str]] = set()
    for src, dst, traffic in counted:
        for source, target in pairwise(_path(src, dst, options, nodes, served_by)):
            edge_key = (source, target, traffic.protocol)
            edge = edges.get(edge_key)
            if edge is None:
                edges[edge_key] = traffic
                continue
            if edge_key not in merged:
                merged.add(edge_key)
                first, edge = edge, EdgeTraffic(traffic.protocol, messages=traffic.messages)
                edge.merge(first)
                edges[edge_key] = edge
            edge.merge(traffic)

    graph = nx.MultiDiGraph(options=options)
    graph.add_nodes_from(nodes.attrs.items())
    # add_edge, not add_edges_from: the latter looks every edge up again to set its data.
    add_edge = graph.add_edge
    for (u, v, edge_protocol), traffic in edges.items():
        add_edge(u, v, edge_protocol, traffic=traffic)

    inventory = list(inventory)
    if options.appender("idleNode"):
        _add_idle_nodes(graph, nodes, inventory, options)
    if options.appender("deadNode"):
        for ep in inventory:
            if known(ep.workload) and known(ep.service):
                backed_services.add((ep.cluster or default_cluster, ep.namespace, ep.service))
        _mark_dead_services(graph, nodes, backed_services)
    if focus is not None:
        focus_id = nodes.focus(focus)
        if focus_id not in graph:
            graph.add_node(focus_id, **nodes.attrs[focus_id])
    _set_flags(graph, options)
    if options.box_by:
        _add_boxes(graph, options.box_by)
    return graph


def traffic_edges(graph: nx.MultiDiGraph) -> Iterator[tuple[str, str, EdgeTraffic]]:
    """Every edge of a built graph as (source, target, traffic). Read through the adjacency
    dicts, not ``graph.edges``: that view refers back to the graph, which is then freed only
    when the garbage collector finds the cycle (some 45,000 objects for 1,000 workloads)."""
    for u, neighbours in graph.adjacency():
        for v, keyed in neighbours.items():
            for attrs in keyed.values():
                yield u, v, attrs["traffic"]


def _call(flow: tuple[Any, ...]) -> tuple[Any, ...]:
    """The call a flow key belongs to: its source, destination cluster and namespace, the
    destination service (the workload when none is named) and the protocol."""
    source, cluster, namespace, service, workload, protocol = flow
    return (source, cluster, namespace, service or f"workload:{workload}", protocol)


def _path(
    src: Endpoint,
    dst: Endpoint,
    options: GraphOptions,
    nodes: _Nodes,
    served_by: dict[tuple[str, str, str], dict[str, float]],
) -> tuple[str, ...]:
    """The nodes a flow passes in this graph type: caller, [injected service,] destination."""
    if not known(src.workload):
        source = nodes.unknown()
    elif options.graph_type == "service" and src.gateway is None:
        # A caller is drawn as the service it serves: the hint, else the service that carried
        # most of its inbound requests; a caller that serves none (a job) stays a workload.
        name = src.service if known(src.service) else ""
        if not name:
            served = served_by.get((src.cluster or options.cluster_name, src.namespace, src.workload))
            if served:
                name = min(served, key=lambda svc: (-served[svc], svc))
        source = nodes.service(src, name) if name else nodes.workload(src)
    else:
        source = nodes.workload(src)

    has_service = known(dst.service)
    if not known(dst.workload):
        # Reached no workload: a terminal service node, or Kiali's unknown destination.
        return (source, nodes.service(dst, dst.service) if has_service else nodes.unknown_destination(dst))
    if options.graph_type == "service":
        return (source, nodes.service(dst, dst.service) if has_service else nodes.workload(dst))
    target = nodes.workload(dst)
    if not has_service:
        return (source, target)
    nodes.add_dest_service(target, dst)
    # Kiali injects no PassthroughCluster node (kiali/kiali#4488).
    if options.inject_service_nodes and dst.service not in PASSTHROUGH_SERVICES:
        return (source, nodes.service(dst, dst.service), target)
    return (source, target)


def _add_idle_nodes(graph: nx.MultiDiGraph, nodes: _Nodes, inventory: list[Endpoint],
                    options: GraphOptions) -> None:
    """Kiali's idleNode appender: draw what exists in the requested namespaces without traffic."""
    draws_services = options.graph_type == "service" or options.inject_service_nodes
    for ep in inventory:
        if ep.namespace not in options.namespaces:
            continue
        if known(ep.service) and (options.graph_type == "service" or not known(ep.workload)):
            if not draws_services:
                continue
            node_id = nodes.service(ep, ep.service)
        elif known(ep.workload):
            node_id = nodes.workload(ep)
        else:
            continue
        if node_id not in graph:
            graph.add_node(node_id, **nodes.attrs[node_id])


def _mark_dead_services(graph: nx.MultiDiGraph, nodes: _Nodes,
                        backed_services: set[tuple[str, str, str]]) -> None:
    """Kiali's deadNode appender, for mesh service nodes that no workload backs: without
    traffic they are removed, with traffic (404 NR, 503 to a service without endpoints) they are
    ``isDead``."""
    for node_id, identity in nodes.mesh_services.items():
        if node_id not in graph or identity in backed_services:
            continue
        if all(attrs["traffic"].idle for keyed in graph.pred[node_id].values() for attrs in keyed.values()):
            graph.remove_node(node_id)
        else:
            graph.nodes[node_id]["isDead"] = True


def _touches(focus: Endpoint, src: Endpoint, dst: Endpoint, default_cluster: str) -> bool:
    """Whether a flow belongs to the node-detail graph of ``focus`` (Kiali's node graphs: the
    requests into the node, and for a workload or an app the requests out of it). A focus
    without a cluster matches every cluster."""
    def same(ep: Endpoint) -> bool:
        if focus.cluster and (ep.cluster or default_cluster) != focus.cluster:
            return False
        if known(focus.workload):
            return ep.namespace == focus.namespace and ep.workload == focus.workload
        if known(focus.app):
            return (ep.namespace == focus.namespace and ep.app == focus.app
                    and (not known(focus.version) or ep.version == focus.version))
        return False

    if not known(focus.workload) and not known(focus.app):
        return (dst.namespace == focus.namespace and dst.service == focus.service
                and (not focus.cluster or (dst.cluster or default_cluster) == focus.cluster))
    return same(dst) or (known(src.workload) and same(src))


def _set_flags(graph: nx.MultiDiGraph, options: GraphOptions) -> None:
    """Set the node flags that depend on the whole graph: isRoot, isOutside, isIdle."""
    callers, called, busy = set(), set(), set()
    for u, v, traffic in traffic_edges(graph):
        callers.add(u)
        called.add(v)
        if not traffic.idle:
            busy.add(u)
            busy.add(v)
    for node_id, attrs in graph.nodes(data=True):
        # The ingress gateway is where traffic enters the mesh, whatever else reaches it.
        if "ingressInfo" in attrs.get("isGateway", ()) or (node_id in callers and node_id not in called):
            attrs["isRoot"] = True
        # Kiali's outsider finalizer: a node of namespace "unknown" is never outside.
        if attrs["namespace"] != UNKNOWN and attrs["namespace"] not in options.namespaces:
            attrs["isOutside"] = True
        if node_id not in busy:
            attrs["isIdle"] = True


def _add_boxes(graph: nx.MultiDiGraph, box_by: frozenset[str]) -> None:
    """Add Kiali's box (compound) nodes and set each member's ``parent``: cluster, then
    namespace, then app. An app box holds an app's workload or version nodes and its service
    node, and is drawn only when it groups two or more nodes."""
    app_members: dict[tuple[str, str, str], list[str]] = {}
    if "app" in box_by:
        for node_id, attrs in graph.nodes(data=True):
            app = attrs.get("app") if attrs["nodeType"] in ("app", "workload") else attrs.get("service")
            if app and attrs["nodeType"] != "unknown":
                app_members.setdefault((attrs["cluster"], attrs["namespace"], app), []).append(node_id)
    app_of = {n: key for key, members in app_members.items() if len(members) > 1 for n in members}

    def box(box_id: str, attrs: dict[str, Any]) -> str:
        if box_id not in graph:
            graph.add_node(box_id, nodeType="box", **attrs)
        return box_id

    for node_id, attrs in list(graph.nodes(data=True)):
        if attrs["nodeType"] in ("unknown", "box"):
            continue
        cluster, namespace = attrs["cluster"], attrs["namespace"]
        parent = None
        if "cluster" in box_by:
            parent = box(f"box:cluster:{cluster}", {"isBox": "cluster", "cluster": cluster})
        if "namespace" in box_by:
            box_attrs = {"isBox": "namespace", "cluster": cluster, "namespace": namespace}
            if parent:
                box_attrs["parent"] = parent
            parent = box(f"box:namespace:{cluster}:{namespace}", box_attrs)
        if node_id in app_of:
            app = app_of[node_id][2]
            box_attrs = {"isBox": "app", "cluster": cluster, "namespace": namespace, "app": app}
            if parent:
                box_attrs["parent"] = parent
            parent = box(f"box:app:{cluster}:{namespace}:{app}", box_attrs)
        if parent:
            attrs["parent"] = parent
