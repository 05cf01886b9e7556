"""Kiali's graph JSON from the engine's graph: rates, response shares, response times, health.

Rates are per second over the window and written as Kiali writes them: strings, only when
non-zero. Beside Kiali's fields, edges carry ``responseTimes`` (avg, p50, p95, p99 in ms) and
``telemetry`` (the sources that saw the edge), and traffic from the unknown source carries
``unknownReason``: requests per second by reason (nodeport, probe, scrape, no-peer-identity),
on its edges and summed on the unknown node.
"""

import math
from collections.abc import Iterable, Sequence
from operator import add, itemgetter
from typing import Any

import networkx as nx

from meshview.graph.engine import EdgeTraffic, GraphOptions, build_graph, paused_gc, traffic_edges
from meshview.graph.samples import Endpoint, TrafficSample
from meshview.mesh.latency import quantiles

HEALTHY, DEGRADED, FAILURE, NA = "Healthy", "Degraded", "Failure", "NA"
_SEVERITY = {NA: 0, HEALTHY: 1, DEGRADED: 2, FAILURE: 3}

# Per protocol, the counts every edge and node direction is reduced to: the total first, then
# the classes Kiali reports. HTTP 2xx (and 1xx) is the rest of the total; gRPC status 0 too.
_EDGE_KEYS = {
    "http": ("http", "http3xx", "http4xx", "http5xx", "httpNoResponse"),
    "grpc": ("grpc", "grpcErr", "grpcNoResponse"),
    "tcp": ("tcp",),
}
_NODE_IN_KEYS = {
    "http": ("httpIn", "httpIn3xx", "httpIn4xx", "httpIn5xx", "httpInNoResponse"),
    "grpc": ("grpcIn", "grpcInErr", "grpcInNoResponse"),
    "tcp": ("tcpIn",),
}
_HTTP_CLASS = {"3": 1, "4": 2, "5": 3, "-": 4}
_GRPC_CLASS = {"0": 0, "-": 2}  # any other status is an error (1)
_NO_CLASSES = {protocol: (0.0,) * (len(keys) - 1) for protocol, keys in _EDGE_KEYS.items()}
# The classes that count as errors in ``<protocol>PercentErr``: this one and those after it.
_FIRST_ERROR_CLASS = {"http": 2, "grpc": 1}
# Kiali's default health tolerances as (class, degraded at %, failure at %): degraded is a
# non-zero share at or above its threshold, failure a share at or above its own.
_TOLERANCES = {
    "http": ((3, 0.0, 10.0), (2, 10.0, 20.0), (4, 0.0, 10.0)),  # 5xx, 4xx, no response
    "grpc": ((1, 0.0, 10.0), (2, 0.0, 10.0)),  # status 1-16, no response
}
_RESPONSE_TIME_KEYS = {"avg": "avg", "50": "p50", "95": "p95", "99": "p99"}


def format_rate(value: float) -> str:
    """Return a rate as Kiali writes it: ``%.2f`` from 1 up, ``%.3f`` below, and as many
    decimals as it takes for a non-zero rate not to read as zero."""
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}" if value >= 0.0005 or not value else _first_digit(value)


def format_percent(value: float) -> str:
    """Return a percentage as Kiali writes it (``%.1f``), a non-zero share never as 0.0."""
    return f"{value:.1f}" if value >= 0.05 or not value else _first_digit(value)


def _first_digit(value: float) -> str:
    # As many decimals as reach the first significant digit: 0.0004 -> "0.0004".
    return f"{value:.{-math.floor(math.log10(value))}f}"


def health_status(protocol: str, counts: Sequence[float]) -> str:
    """Return the health of one direction and protocol of a node under Kiali's default
    tolerances: Healthy, Degraded or Failure; NA without requests (and for TCP, which has no
    request outcome)."""
    tolerances = _TOLERANCES.get(protocol)
    total = counts[0]
    if not tolerances or not total:
        return NA
    status = HEALTHY
    for index, degraded, failure in tolerances:
        if not counts[index]:
            continue  # a class without responses is within every tolerance
        share = 100.0 * counts[index] / total
        if share >= failure:
            return FAILURE
        if share >= degraded:
            status = DEGRADED
    return status


def _worst(statuses: Iterable[str]) -> str:
    return max(statuses, key=_SEVERITY.__getitem__, default=NA)


def _counts(traffic: EdgeTraffic) -> list[float]:
    """Reduce an edge to its protocol's counts (see ``_EDGE_KEYS``), by response weight: the
    total, then the HTTP classes by the code's first digit, or gRPC errors (status 1 to 16) and
    no response ("-"). gRPC messages have no outcome: only their total counts."""
    protocol = traffic.protocol
    codes = traffic.codes
    if protocol == "tcp" or traffic.messages:
        return [sum(codes.values(), 0.0), *_NO_CLASSES[protocol]]
    counts = [0.0] * len(_EDGE_KEYS[protocol])
    for code, weight in codes.items():
        counts[0] += weight
        index = _HTTP_CLASS.get(code[0], 0) if protocol == "http" else _GRPC_CLASS.get(code, 1)
        if index:
            counts[index] += weight
    return counts


def _add_counts(into: dict[str, list[float]], protocol: str, counts: list[float]) -> None:
    mine = into.get(protocol)
    into[protocol] = counts if mine is None else list(map(add, mine, counts))


def _top(weights: dict[str, float]) -> str:
    """The key with the most weight (the first by name among equals)."""
    if len(weights) == 1:
        return next(iter(weights))
    return min(weights, key=lambda k: (-weights[k], k))


def to_kiali_json(graph: nx.MultiDiGraph) -> dict[str, Any]:
    """Return Kiali's graph JSON for a graph from ``build_graph`` (with the options it was
    built with): ``{timestamp, duration, graphType, elements: {nodes, edges}}``, nodes and edges
    sorted by id."""
    options: GraphOptions = graph.graph["options"]
    with paused_gc():
        return _to_kiali_json(graph, options)


def _to_kiali_json(graph: nx.MultiDiGraph, options: GraphOptions) -> dict[str, Any]:
    per_second = 1.0 / options.duration_s
    health = options.appender("health")
    security = options.appender("securityPolicy")
    response_time = options.appender("responseTime")
    response_time_key = _RESPONSE_TIME_KEYS[options.response_time]
    throughput = options.appender("throughput")
    request_throughput = options.throughput_type == "request"
    # An edge's flags and hosts mostly have the share of their response code: each share is
    # formatted once.
    percents: dict[float, str] = {}
    nodes_attrs = dict(graph.nodes(data=True))

    # First pass: every edge's counts, and the totals per node, direction and protocol. Health
    # reads the same totals but those of gRPC drawn by its messages, which have no outcome
    # (rateGrpc draws every gRPC edge by its messages, or none).
    edges = []
    inbound: dict[str, dict[str, list[float]]] = {n: {} for n in nodes_attrs}
    outbound: dict[str, dict[str, list[float]]] = {n: {} for n in nodes_attrs}
    unknown_reasons: dict[str, dict[str, float]] = {}
    without_outcome: set[str] = set()
    for u, v, traffic in traffic_edges(graph):
        protocol = traffic.protocol
        counts = _counts(traffic)
        edges.append((u, v, traffic, counts))
        _add_counts(outbound[u], protocol, counts)
        _add_counts(inbound[v], protocol, counts)
        if traffic.messages:
            without_outcome.add(protocol)
        # Why a source is unknown is said where the unknown source's traffic leaves it.
        if traffic.unknown_reasons and nodes_attrs[u]["nodeType"] == "unknown":
            reasons = unknown_reasons.setdefault(u, {})
            for reason, requests in traffic.unknown_reasons.items():
                reasons[reason] = reasons.get(reason, 0.0) + requests

    edge_data = []
    for u, v, traffic, counts in edges:
        protocol = traffic.protocol
        edge_id = f"{u}->{v}:{protocol}"
        data: dict[str, Any] = {
            "id": edge_id, "source": u, "target": v,
            "traffic": _edge_traffic(traffic, counts, outbound[u][protocol][0], per_second, percents),
        }
        total = counts[0]
        if protocol != "tcp" and total:
            times = _response_times(traffic) if response_time else None
            if times:
                data["responseTimes"] = times
                data["responseTime"] = times[response_time_key]
            sent = traffic.bytes_received if request_throughput else traffic.bytes_sent
            if throughput and sent:
                data["throughput"] = format_rate(sent * per_second)
        if security:
            if traffic.mtls and total:
                data["isMTLS"] = format_percent(100.0 * traffic.mtls / total)
            if traffic.source_principals:
                data["sourcePrincipal"] = _top(traffic.source_principals)
            if traffic.dest_principals:
                data["destPrincipal"] = _top(traffic.dest_principals)
        if health:
            # Kiali rates an edge by its own responses, against its source's outbound and its
            # target's inbound tolerances (the defaults for both here).
            data["healthStatus"] = NA if traffic.messages else health_status(protocol, counts)
        if u in unknown_reasons:
            data["unknownReason"] = _reason_rates(traffic.unknown_reasons, per_second)
        data["telemetry"] = sorted(traffic.telemetry)
        edge_data.append((edge_id, {"data": data}))

    node_data = []
    for node_id, attrs in nodes_attrs.items():
        data = {"id": node_id, **attrs}
        if "destServices" in attrs:
            data["destServices"] = [{"cluster": c, "namespace": ns, "name": name}
                                    for c, ns, name in sorted(attrs["destServices"])]
        if attrs["nodeType"] != "box":
            traffic_list = _node_traffic(inbound[node_id], outbound[node_id], per_second)
            if traffic_list:
                data["traffic"] = traffic_list
            # Kiali's health appender skips inaccessible nodes.
            if health and not attrs.get("isInaccessible"):
                by_direction = {}
                for direction, totals in (("inbound", inbound[node_id]), ("outbound", outbound[node_id])):
                    statuses = {p: health_status(p, c) for p, c in totals.items() if p not in without_outcome}
                    statuses = {p: s for p, s in statuses.items() if s != NA}
                    if statuses:
                        by_direction[direction] = statuses
                data["healthStatus"] = _worst(s for d in by_direction.values() for s in d.values())
                data["healthData"] = by_direction
        if node_id in unknown_reasons:
            data["unknownReason"] = _reason_rates(unknown_reasons[node_id], per_second)
        node_data.append((node_id, {"data": data}))

    node_data.sort(key=itemgetter(0))
    edge_data.sort(key=itemgetter(0))
    return {
        "timestamp": options.query_time,
        "duration": options.duration_s,
        "graphType": options.graph_type,
        "elements": {"nodes": [node for _, node in node_data], "edges": [edge for _, edge in edge_data]},
    }


def kiali_graph(
    samples: Iterable[TrafficSample], options: GraphOptions, inventory: Iterable[Endpoint] = ()
) -> dict[str, Any]:
    """Return Kiali's graph JSON for the samples of one window; raises what ``build_graph``
    raises."""
    return to_kiali_json(build_graph(samples, options, inventory))


def _edge_traffic(traffic: EdgeTraffic, counts: list[float], source_total: float, per_second: float,
                  percents: dict[float, str]) -> dict[str, Any]:
    protocol = traffic.protocol
    rates = {key: format_rate(count * per_second)
             for key, count in zip(_EDGE_KEYS[protocol], counts, strict=True) if count}
    total = counts[0]
    responses: dict[str, Any] = {}
    if total:
        if protocol != "tcp":
            errors = 0.0 if traffic.messages else sum(counts[_FIRST_ERROR_CLASS[protocol]:])
            if errors:
                rates[f"{protocol}PercentErr"] = format_percent(100.0 * errors / total)
            rates[f"{protocol}PercentReq"] = format_percent(100.0 * total / source_total)
        share = 100.0 / total
        codes, flags, hosts = traffic.codes, traffic.flags, traffic.hosts
        # Sorted, so that the same traffic gives the same JSON whatever order samples came in.
        for code in codes if len(codes) == 1 else sorted(codes):
            answer = {} if traffic.messages else {"flags": _shares(flags.get(code), share, percents)}
            answer["hosts"] = _shares(hosts.get(code), share, percents)
            responses[code] = answer
    return {"protocol": protocol, "rates": rates, "responses": responses}


def _shares(weights: dict[str, float] | None, share: float, percents: dict[float, str]) -> dict[str, str]:
    """Each key's share (``share`` percent per unit of weight) as ``format_percent`` writes it,
    by key; ``percents`` keeps the shares formatted so far."""
    if not weights:
        return {}
    if len(weights) == 1:  # most codes have one flag and one host: no sort, no loop
        [(key, weight)] = weights.items()
        if not weight:
            return {}
        value = weight * share
        text = percents.get(value)
        if text is None:
            text = percents[value] = format_percent(value)
        return {key: text}
    shares: dict[str, str] = {}
    for key, weight in sorted(weights.items()):
        if weight:
            value = weight * share
            text = percents.get(value)
            if text is None:
                text = percents[value] = format_percent(value)
            shares[key] = text
    return shares


def _response_times(traffic: EdgeTraffic) -> dict[str, str] | None:
    """Average and percentiles (ms) of an edge's latency histograms, None without any."""
    histogram = traffic.latency_counts()
    if histogram is None:
        return None
    count = sum(histogram)
    if not count:
        return None
    p50, p95, p99 = quantiles(histogram, (0.5, 0.95, 0.99))
    # quantiles() are None only for an empty histogram, so "or 0.0" never applies
    return {"avg": format_rate(traffic.duration_sum_ms / count), "p50": format_rate(p50 or 0.0),
            "p95": format_rate(p95 or 0.0), "p99": format_rate(p99 or 0.0)}


def _node_traffic(inbound: dict[str, list[float]], outbound: dict[str, list[float]],
                  per_second: float) -> list[dict[str, Any]]:
    traffic = []
    for protocol in _EDGE_KEYS:
        rates = {}
        for key, count in zip(_NODE_IN_KEYS[protocol], inbound.get(protocol, ()), strict=False):
            if count:
                rates[key] = format_rate(count * per_second)
        out_total = outbound[protocol][0] if protocol in outbound else 0.0
        if out_total:
            rates[f"{protocol}Out"] = format_rate(out_total * per_second)
        if rates:
            traffic.append({"protocol": protocol, "rates": rates})
    return traffic


def _reason_rates(reasons: dict[str, float], per_second: float) -> dict[str, str]:
    return {reason: format_rate(requests * per_second) for reason, requests in sorted(reasons.items())}
