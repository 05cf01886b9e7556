"""From a graph request (Kiali's parameters) to Kiali's graph JSON: parse and check the
parameters, collect samples from the selected telemetry sources, build, and share the result.

The live graph of a given request is computed at most once per `LIVE_TTL_SECONDS` in the whole
deployment (the cache is Redis when REDIS_URL is set), however many dashboards show it.
"""

import dataclasses
import hashlib
import importlib
import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache

from meshview.core.access import NamespaceAccess
from meshview.graph.engine import GraphOptions, build_graph
from meshview.graph.kiali import to_kiali_json
from meshview.graph.samples import Endpoint, TrafficSample, known
from meshview.graph.sources import SourceError, Window

# Imported when used: the Prometheus client is heavy and unused without MESHVIEW_PROMETHEUS_URL.
SOURCES = ("accesslogs", "spans", "prometheus")
LIVE_TTL_SECONDS = 1
MAX_DURATION_SECONDS = 30 * 86_400
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_BOOLEANS = {"true": True, "false": False, "1": True, "0": False}


class BadGraphRequest(ValueError):
    """A parameter is wrong; the message names it."""


@dataclass(frozen=True)
class GraphRequest:
    options: GraphOptions
    sources: tuple[str, ...]
    live: bool  # no queryTime: the window ends now
    namespaces_requested: frozenset[str] = field(default_factory=frozenset)

    def cache_key(self) -> str:
        """The shared cache's key for this live graph: everything but the moving window end."""
        text = json.dumps([repr(dataclasses.replace(self.options, query_time=0)), self.sources], sort_keys=True)
        return "meshview:graph:" + hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _duration(raw: str) -> int:
    raw = raw.strip()
    number, unit = (raw[:-1], raw[-1]) if raw[-1:] in _DURATION_UNITS else (raw, "s")
    if not number.isdigit() or int(number) == 0:
        raise BadGraphRequest(f"duration must be like 60s, 5m or 1h, got {raw[:20]!r}")
    seconds = int(number) * _DURATION_UNITS[unit]
    if seconds > MAX_DURATION_SECONDS:
        raise BadGraphRequest(f"duration must be at most {MAX_DURATION_SECONDS // 86400} days")
    return seconds


def _boolean(params: Mapping[str, str], name: str, default: bool) -> bool:
    raw = params.get(name, "").strip().lower()
    if not raw:
        return default
    if raw not in _BOOLEANS:
        raise BadGraphRequest(f"{name} must be true or false")
    return _BOOLEANS[raw]


def _names(raw: str) -> frozenset[str]:
    return frozenset(n.strip() for n in raw.split(",") if n.strip())


def default_sources() -> tuple[str, ...]:
    configured = ["accesslogs", "spans"]
    if settings.MESHVIEW_PROMETHEUS_URL:
        configured.insert(0, "prometheus")
    return tuple(configured)


def parse_request(
    params: Mapping[str, str], accessible: frozenset[str] | None, focus: Endpoint | None = None
) -> GraphRequest:
    """Read Kiali's graph parameters; raise BadGraphRequest naming a wrong one."""
    live = not params.get("queryTime")
    if live:
        # Rounded up: the window takes in the traffic of the second that is under way.
        query_time = math.ceil(time.time())
    else:
        raw = params["queryTime"].strip()
        if not raw.isdigit() or len(raw) > 12:
            raise BadGraphRequest("queryTime must be unix seconds")
        query_time = int(raw)
    sources = tuple(sorted(_names(params.get("sources", "")))) or default_sources()
    unknown = set(sources) - set(SOURCES)
    if unknown:
        raise BadGraphRequest(f"sources: {', '.join(sorted(unknown))} is not one of {', '.join(sorted(SOURCES))}")
    namespaces = _names(params.get("namespaces", ""))
    appenders = None if "appenders" not in params else _names(params["appenders"])
    try:
        options = GraphOptions(
            namespaces=namespaces,
            query_time=query_time,
            graph_type=params.get("graphType", "workload"),  # type: ignore[arg-type]
            duration_s=_duration(params.get("duration", "600s")),
            inject_service_nodes=_boolean(params, "injectServiceNodes", True),
            include_idle_edges=_boolean(params, "includeIdleEdges", False),
            box_by=_names(params.get("boxBy", "")),
            appenders=appenders,
            response_time=params.get("responseTime", "95"),  # type: ignore[arg-type]
            throughput_type=params.get("throughputType", "response"),  # type: ignore[arg-type]
            rate_http=params.get("rateHttp", "requests"),  # type: ignore[arg-type]
            rate_grpc=params.get("rateGrpc", "requests"),  # type: ignore[arg-type]
            rate_tcp=params.get("rateTcp", "sent"),  # type: ignore[arg-type]
            accessible_namespaces=accessible,
            cluster_name=settings.MESHVIEW_CLUSTER_NAME,
            node_focus=focus,
        )
    except ValueError as exc:
        raise BadGraphRequest(str(exc)) from None
    return GraphRequest(options=options, sources=sources, live=live, namespaces_requested=namespaces)


def collect_samples(request: GraphRequest) -> tuple[list[TrafficSample], list[str]]:
    """Samples from every selected source, and a warning for each source that failed."""
    options = request.options
    window = Window(
        end=options.query_time,
        duration=options.duration_s,
        namespaces=options.namespaces,
        cluster=options.cluster_name,
    )
    samples: list[TrafficSample] = []
    warnings: list[str] = []
    for name in request.sources:
        if name == "prometheus" and not settings.MESHVIEW_PROMETHEUS_URL:
            warnings.append("prometheus: MESHVIEW_PROMETHEUS_URL is not set")
            continue
        try:
            samples += importlib.import_module(f"meshview.graph.sources.{name}").collect(window)
        except SourceError as exc:
            warnings.append(f"{name}: {exc}")
    return with_destination_services(samples), warnings


def with_destination_services(samples: list[TrafficSample]) -> list[TrafficSample]:
    """Name the service of requests whose telemetry named none (TCP, a NodePort or pod-IP
    authority, a server span without peer attributes) when every other request to the same
    workload went through one service: so the same traffic seen by two telemetry sources takes
    the same path through the graph, and is counted once."""
    served: dict[tuple[str, str, str], set[str]] = {}
    for sample in samples:
        d = sample.destination
        if d.service and known(d.workload):
            served.setdefault((d.cluster, d.namespace, d.workload), set()).add(d.service)
    filled = []
    for sample in samples:
        d = sample.destination
        services = served.get((d.cluster, d.namespace, d.workload), set()) if not d.service else set()
        if len(services) == 1:
            sample = dataclasses.replace(sample, destination=dataclasses.replace(d, service=next(iter(services))))
        filled.append(sample)
    return filled


def graph_json(request: GraphRequest, changed_at: float = 0.0) -> dict[str, Any]:
    """Kiali's graph JSON plus `warnings`. A live graph comes from the shared cache when it was
    computed after `changed_at` (the last change a live viewer heard of) and is still fresh."""
    if request.live:
        cached = cache.get(request.cache_key())
        if cached is not None and cached[0] >= changed_at:
            return cached[1]
    computed_at = time.time()
    samples, warnings = collect_samples(request)
    graph = to_kiali_json(build_graph(samples, request.options))
    _hide_hosts(graph, NamespaceAccess(request.options.accessible_namespaces))
    graph["warnings"] = warnings
    if request.live:
        cache.set(request.cache_key(), (computed_at, graph), LIVE_TTL_SECONDS)
    return graph



def _hide_hosts(graph: dict[str, Any], access: NamespaceAccess) -> None:
    """Leave out of the edges' `responses.hosts` the upstream hosts the caller may not see: every
    host of an edge into an inaccessible node (pod addresses included) and service hosts of
    hidden namespaces."""
    if not access.restricted:
        return
    hidden = {n["data"]["id"] for n in graph["elements"]["nodes"] if n["data"].get("isInaccessible")}
    for edge in graph["elements"]["edges"]:
        data = edge["data"]
        for answer in data.get("traffic", {}).get("responses", {}).values():
            answer["hosts"] = {
                host: share
                for host, share in answer.get("hosts", {}).items()
                if data["target"] not in hidden and access.allows_host(host)
            }

