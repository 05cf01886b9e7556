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
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache

from meshview.core.access import NamespaceAccess
from meshview.graph.engine import BOX_KINDS, GRAPH_TYPES, RATES, GraphOptions, build_graph, paused_gc
from meshview.graph.kiali import to_kiali_json
from meshview.graph.samples import Endpoint, TrafficSample, known
from meshview.graph.sources import SourceError, Window

# Imported when used: the Prometheus client is heavy and unused without MESHVIEW_PROMETHEUS_URL.
SOURCES = ("accesslogs", "spans", "prometheus")
LIVE_TTL_SECONDS = 1
MAX_DURATION_SECONDS = 30 * 86_400
# Prometheus durations, as Kiali reads `duration` (model.ParseDuration): units largest first.
_DURATION_UNITS = {"y": 365 * 86400, "w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1, "ms": 0.001}
_DURATION = re.compile(r"(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?")
# strconv.ParseBool, as Kiali reads booleans
_BOOLEANS = {"1": True, "t": True, "T": True, "TRUE": True, "true": True, "True": True,
             "0": False, "f": False, "F": False, "FALSE": False, "false": False, "False": False}
# Kiali's names of the rates in its messages (graph/options.go)
_RATE_NAMES = {"rateHttp": "HTTP Rate", "rateGrpc": "gRPC Rate", "rateTcp": "TCP Rate"}


class BadGraphRequest(ValueError):
    """A parameter is wrong: ``str()`` is meshview's message naming it, ``kiali`` Kiali's own
    message for it, and ``status`` the HTTP status Kiali answers (400, or 403 for a namespace
    the user may not read)."""

    def __init__(self, message: str, kiali: str = "", status: int = 400) -> None:
        super().__init__(message)
        self.kiali = kiali or message
        self.status = status


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
    """Seconds of a duration: a Prometheus duration (``10m``, ``1h30m``, ``600s``) or bare seconds."""
    raw = raw.strip()
    kiali = f"Invalid duration [{raw[:40]}]"
    match = _DURATION.fullmatch(raw) if not raw.isdigit() else None
    if raw.isdigit():
        seconds = float(raw)
    elif match and raw:
        seconds = sum(int(n) * unit for n, unit in zip(match.groups(), _DURATION_UNITS.values(), strict=True) if n)
    else:
        raise BadGraphRequest(f"duration must be like 60s, 5m or 1h, got {raw[:20]!r}", kiali)
    if seconds < 1:
        raise BadGraphRequest("duration must be at least 1s", kiali)
    if seconds > MAX_DURATION_SECONDS:
        raise BadGraphRequest(f"duration must be at most {MAX_DURATION_SECONDS // 86400} days", kiali)
    return int(seconds)


def _boolean(params: Mapping[str, str], name: str, default: bool) -> bool:
    raw = params.get(name, "").strip()
    if not raw:
        return default
    if raw not in _BOOLEANS:
        raise BadGraphRequest(f"{name} must be true or false", f"Invalid {name} [{raw}]")
    return _BOOLEANS[raw]


def _choice(params: Mapping[str, str], name: str, default: str, allowed: frozenset[str]) -> str:
    raw = params.get(name, "").strip() or default
    if raw not in allowed:
        kiali = f"Invalid {_RATE_NAMES.get(name, name)} [{raw}]"
        raise BadGraphRequest(f"{name}: {raw[:40]} is not one of {', '.join(sorted(allowed))}", kiali)
    return raw


def _names(raw: str) -> frozenset[str]:
    return frozenset(n.strip() for n in raw.split(",") if n.strip())


def default_sources() -> tuple[str, ...]:
    configured = ["accesslogs", "spans"]
    if settings.MESHVIEW_PROMETHEUS_URL:
        configured.insert(0, "prometheus")
    return tuple(configured)


def parse_request(
    params: Mapping[str, str],
    accessible: frozenset[str] | None,
    focus: Endpoint | None = None,
    *,
    kiali: bool = False,
) -> GraphRequest:
    """Read Kiali's graph parameters with Kiali's defaults (graph/options.go); raise
    BadGraphRequest naming a wrong one.

    A node graph (``focus``) is about its node's own namespace, whatever ``namespaces`` says.
    ``kiali`` is for Kiali's own paths: a namespace is required, a requested namespace the caller
    may not read is refused (403) and ``sources`` is not a parameter there. Node graphs of such a
    namespace are refused too; elsewhere its nodes are drawn inaccessible.
    """
    live = not params.get("queryTime")
    if live:
        # Rounded up: the window takes in the traffic of the second that is under way.
        query_time = math.ceil(time.time())
    else:
        raw = params["queryTime"].strip()
        if not raw.isdigit() or len(raw) > 12:
            raise BadGraphRequest("queryTime must be unix seconds", f"Invalid queryTime [{raw[:40]}]")
        query_time = int(raw)
    sources = () if kiali else tuple(sorted(_names(params.get("sources", ""))))
    sources = sources or default_sources()
    unknown = set(sources) - set(SOURCES)
    if unknown:
        raise BadGraphRequest(f"sources: {', '.join(sorted(unknown))} is not one of {', '.join(sorted(SOURCES))}")
    namespaces = frozenset({focus.namespace}) if focus is not None else _names(params.get("namespaces", ""))
    if kiali and not namespaces:
        raise BadGraphRequest("namespaces: give at least one namespace",
                              "At least one namespace must be specified via the namespaces query parameter.")
    if not namespaces and accessible is not None:
        # meshview's own graph without `namespaces`: every namespace the caller may read (a
        # caller who may read none sees an empty graph; one who may read all, every namespace
        # the telemetry shows, see graph_json).
        namespaces = accessible
    # Kiali refuses a requested namespace the user cannot read; meshview's own namespace graph
    # draws it inaccessible instead, without details.
    for namespace in sorted(namespaces) if kiali or focus is not None else ():
        if accessible is not None and namespace not in accessible:
            message = f"Requested namespace [{namespace}] is not accessible."
            raise BadGraphRequest(message, message, status=403)
    graph_type = _choice(params, "graphType", "workload", GRAPH_TYPES)
    app_focus = focus is not None and known(focus.app) and not known(focus.workload)
    if app_focus and graph_type not in ("app", "versionedApp"):
        message = (f"Invalid graphType [{graph_type}]. This node detail graph supports only graphType app or "
                   "versionedApp.")
        raise BadGraphRequest(message, message)
    box_by = _names(params.get("boxBy", "")) - {"none"}
    if box_by - BOX_KINDS:
        raise BadGraphRequest(f"boxBy: {', '.join(sorted(box_by - BOX_KINDS))} is not one of app, cluster, namespace",
                              f"Invalid boxBy [{params['boxBy']}]")
    appenders = None if "appenders" not in params else _names(params["appenders"])
    try:
        options = GraphOptions(
            namespaces=namespaces,
            query_time=query_time,
            graph_type=graph_type,  # type: ignore[arg-type]
            duration_s=_duration(params.get("duration", "") or "10m"),
            inject_service_nodes=_boolean(params, "injectServiceNodes", False),
            include_idle_edges=_boolean(params, "includeIdleEdges", False),
            box_by=box_by,
            appenders=appenders,
            response_time=params.get("responseTime", "95"),  # type: ignore[arg-type]
            throughput_type=params.get("throughputType", "response"),  # type: ignore[arg-type]
            rate_http=_choice(params, "rateHttp", "requests", RATES["http"]),  # type: ignore[arg-type]
            rate_grpc=_choice(params, "rateGrpc", "requests", RATES["grpc"]),  # type: ignore[arg-type]
            rate_tcp=_choice(params, "rateTcp", "sent", RATES["tcp"]),  # type: ignore[arg-type]
            accessible_namespaces=accessible,
            cluster_name=settings.MESHVIEW_CLUSTER_NAME,
            node_focus=focus,
        )
    except BadGraphRequest:
        raise
    except ValueError as exc:
        name = str(exc).split(":", 1)[0]
        kiali_name = {"response_time": "responseTime", "throughput_type": "throughputType"}.get(name, name)
        raise BadGraphRequest(str(exc), f"Invalid {kiali_name} [{params.get(kiali_name, '')}]") from None
    return GraphRequest(options=options, sources=sources, live=live, namespaces_requested=namespaces)


def collect_samples(request: GraphRequest) -> tuple[list[TrafficSample], list[str]]:
    """Samples from every selected source, and a warning for each source that failed."""
    options = request.options
    window = Window(
        end=options.query_time,
        duration=options.duration_s,
        namespaces=options.namespaces,
        cluster=options.cluster_name,
        latency=options.appender("responseTime"),
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


def seen_namespaces(samples: list[TrafficSample]) -> frozenset[str]:
    """Every namespace a sample's source or destination is in ("all namespaces")."""
    return frozenset(ep.namespace for s in samples for ep in (s.source, s.destination) if known(ep.namespace))


def graph_json(request: GraphRequest, changed_at: float = 0.0) -> dict[str, Any]:
    """Kiali's graph JSON plus `warnings`. A live graph comes from the shared cache when it was
    computed after `changed_at` (the last change a live viewer heard of) and is still fresh."""
    if request.live:
        cached = cache.get(request.cache_key())
        if cached is not None and cached[0] >= changed_at:
            return cached[1]
    computed_at = time.time()
    # The samples and the networkx graph are freed before collections resume, so no collection
    # ever walks them.
    with paused_gc():
        graph, warnings = _computed(request)
    graph["warnings"] = warnings
    if request.live:
        cache.set(request.cache_key(), (computed_at, graph), LIVE_TTL_SECONDS)
    return graph


def _computed(request: GraphRequest) -> tuple[dict[str, Any], list[str]]:
    samples, warnings = collect_samples(request)
    options = request.options
    if not options.namespaces and options.accessible_namespaces is None:
        options = dataclasses.replace(options, namespaces=seen_namespaces(samples))
    graph = to_kiali_json(build_graph(samples, options))
    _hide_hosts(graph, NamespaceAccess(request.options.accessible_namespaces))
    return graph, warnings


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

