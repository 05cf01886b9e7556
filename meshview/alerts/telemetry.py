"""What alert rules read: the traffic rollups the graph reads, the mesh inventory, and
Prometheus's Istio metrics when configured. One query per rule and evaluation, whatever the
number of nodes or edges it selects; each loader turns its answer into `rules.Row`s.
"""

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import requests
from django.conf import settings
from django.db.models import Count, Max, Q

from meshview.alerts.rules import UNKNOWN, Row, RuleSpec, is_error
from meshview.graph.sources import SourceError
from meshview.graph.sources.prometheus import latency_counts
from meshview.mesh import rollups
from meshview.mesh.models import LATENCY_COLUMNS, Address, Workload

# How far before its window a `request_rate below` rule looks for nodes whose traffic stopped.
LOOKBACK_SECONDS = 3600
PROMETHEUS_TIMEOUT_S = 5.0


def traffic(start: int, end: int, where: Q, by: Sequence[str], measures: Sequence[str]) -> list[dict[str, Any]]:
    """Sum the traffic rollups of the buckets that start in [start, end] per `by` columns,
    through the one reader every reader of traffic uses: one dict per key with the `by` columns
    and the sums of `measures` under their own names. The bucket that started at `end`, still
    filling, counts."""
    names = (*by, *measures)
    return [dict(zip(names, row, strict=True)) for row in rollups.read(rollups.TRAFFIC, start, end + 1, where, by,
                                                                       measures)]


def _node_columns(spec: RuleSpec, side: str) -> dict[str, str]:
    """Label → rollup column naming the node on one side (`source` or `destination`)."""
    if side == "source":
        return {"namespace": "source_namespace", "workload": "source_workload", "app": "source_app"}
    if spec.by_service:
        return {"namespace": "destination_service_namespace", "service": "destination_service_name"}
    return {"namespace": "destination_namespace", "workload": "destination_workload", "app": "destination_app"}


def _rollup_filter(spec: RuleSpec) -> Q:
    where = Q()
    sides = (
        {"source": spec.selector.get("source", {}), "destination": spec.node_selector}
        if spec.is_edge
        else {"destination": spec.selector}
    )
    for side, selector in sides.items():
        columns = _node_columns(spec, side)
        for key, value in selector.items():
            where &= Q(**{columns[key]: value})
    if spec.by_service:
        where &= ~Q(destination_service_name="")
    else:
        where &= ~Q(destination_workload=UNKNOWN)
    if spec.kind == "latency":
        where &= ~Q(protocol="tcp")
    if spec.kind == "unknown_traffic":
        where &= Q(source_workload=UNKNOWN)
    return where


def _identity_columns(spec: RuleSpec) -> dict[str, str]:
    """Label → column of the node or edge an alert is about."""
    destination = _node_columns(spec, "destination")
    if spec.is_edge and spec.kind != "unknown_traffic":
        source = _node_columns(spec, "source")
        return {
            "source_namespace": source["namespace"],
            "source_workload": source["workload"],
            **{f"destination_{label}": column for label, column in destination.items()},
        }
    return destination


def rollup_rows(spec: RuleSpec, now: int) -> list[Row]:
    """The rows of a traffic rule read from the access-log rollups (one query). A destination's
    own report of an edge is counted, the caller's only when no destination reported it, as the
    graph does."""
    identity = _identity_columns(spec)
    extra = {
        "error_rate": ["protocol", "response_code", "grpc_status"],
        "unknown_traffic": ["unknown_reason"],
    }.get(spec.kind, [])
    edge_columns = ["source_namespace", "source_workload", *_node_columns(spec, "destination").values()]
    by = list(dict.fromkeys(["reporter", *edge_columns, *identity.values(), *extra]))
    start = now - spec.window
    below = spec.kind == "request_rate" and spec.op == "below"
    if below:
        # Nodes seen in the lookback count, with the requests of their buckets in the window.
        by.append("bucket")
    measures = ("requests", *LATENCY_COLUMNS) if spec.kind == "latency" else ("requests",)
    found = traffic(start - LOOKBACK_SECONDS if below else start, now, _rollup_filter(spec), by, measures)
    reported = {tuple(r[c] for c in edge_columns) for r in found if r["reporter"] == "destination"}
    rows = []
    for r in found:
        if r["reporter"] == "source" and tuple(r[c] for c in edge_columns) in reported:
            continue
        labels = {label: r[column] for label, column in identity.items()}
        requests_ = float(r["requests"]) if not below or r["bucket"] >= start else 0.0
        row = Row(identity=labels, requests=requests_)
        if spec.kind == "error_rate":
            row.errors = requests_ if is_error(spec, r["protocol"], r["response_code"], r["grpc_status"]) else 0.0
        elif spec.kind == "latency":
            row.latency_counts = tuple(int(r[c] or 0) for c in LATENCY_COLUMNS)
        elif spec.kind == "unknown_traffic":
            labels["unknown_reason"] = r["unknown_reason"] or "unknown"
        rows.append(row)
    if below:
        rows += _named_nodes(spec, rows)
    return rows


def _named_nodes(spec: RuleSpec, rows: list[Row]) -> list[Row]:
    """A node a `request_rate below` selector names in full counts even with no traffic in the
    lookback: traffic that never came is below any floor."""
    selector = spec.node_selector
    if spec.is_edge or not ("namespace" in selector and ({"workload", "service"} & set(selector))):
        return []
    labels = {k: v for k, v in selector.items() if k in ("namespace", "workload", "service")}
    if any(all(row.identity.get(k) == v for k, v in labels.items()) for row in rows):
        return []
    if not spec.by_service:
        labels["app"] = selector.get("app", "")
    return [Row(identity=labels, requests=0.0)]


def missing_sidecar_rows(spec: RuleSpec, now: int) -> list[Row]:
    """Services whose endpoints were reached by mesh traffic within the window but never wrote
    an access log: their workloads run without a proxy."""
    selector = spec.node_selector
    where = Q(workload="", last_seen__gte=datetime.fromtimestamp(now - spec.window, UTC))
    if "namespace" in selector:
        where &= Q(namespace=selector["namespace"])
    for key in ("service", "app", "workload"):
        if key in selector:
            where &= Q(app=selector[key])
    found = Address.objects.filter(where).values("namespace", "app").annotate(endpoints=Count("ip")).order_by()
    return [
        Row(identity={"namespace": r["namespace"], "service": r["app"]}, value=float(r["endpoints"])) for r in found
    ]


def reporter_rows(spec: RuleSpec, now: int) -> list[Row]:
    """Every proxy that ever reported, with the seconds since its last record."""
    selector = spec.node_selector
    where = Q(last_reported__isnull=False)
    for key, column in (("namespace", "namespace"), ("workload", "name"), ("app", "app")):
        if key in selector:
            where &= Q(**{column: selector[key]})
    found = Workload.objects.filter(where).values_list("namespace", "name", "last_reported").order_by()
    return [
        Row(identity={"namespace": namespace, "workload": name}, value=now - last.timestamp())
        for namespace, name, last in found
        if last is not None
    ]


def last_report() -> float | None:
    """When any access-log reporter last sent a record (unix seconds), None if none ever did."""
    found = Workload.objects.aggregate(last=Max("last_reported"))["last"]
    return found.timestamp() if found else None


# Prometheus: Istio's labels for the same nodes.
_PROM_SOURCE = {
    "namespace": "source_workload_namespace",
    "workload": "source_workload",
    "app": "source_canonical_service",
}
_PROM_WORKLOAD = {
    "namespace": "destination_workload_namespace",
    "workload": "destination_workload",
    "app": "destination_canonical_service",
}
_PROM_SERVICE = {"namespace": "destination_service_namespace", "service": "destination_service_name"}


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _prom_identity(spec: RuleSpec) -> dict[str, str]:
    destination = _PROM_SERVICE if spec.by_service else _PROM_WORKLOAD
    if spec.is_edge and spec.kind != "unknown_traffic":
        return {
            "source_namespace": _PROM_SOURCE["namespace"],
            "source_workload": _PROM_SOURCE["workload"],
            **{f"destination_{label}": name for label, name in destination.items()},
        }
    return dict(destination)


def _prom_matchers(spec: RuleSpec) -> str:
    matchers = ['reporter="destination"']
    destination = _PROM_SERVICE if spec.by_service else _PROM_WORKLOAD
    for key, value in spec.node_selector.items():
        matchers.append(f"{destination[key]}={_quote(value)}")
    for key, value in spec.selector.get("source", {}).items() if spec.is_edge else ():
        matchers.append(f"{_PROM_SOURCE[key]}={_quote(value)}")
    if spec.kind == "unknown_traffic":
        matchers.append('source_workload="unknown"')
    return ", ".join(matchers)


def promql(spec: RuleSpec) -> str:
    """The one PromQL query a traffic rule sends."""
    by = ", ".join(_prom_identity(spec).values())
    selection = f"{{{_prom_matchers(spec)}}}"
    window = f"[{spec.window}s]"
    if spec.kind == "error_rate":
        return (
            f"sum by ({by}, request_protocol, response_code, grpc_response_status) "
            f"(increase(istio_requests_total{selection}{window}))"
        )
    if spec.kind == "latency":
        return f"sum by ({by}, le) (increase(istio_request_duration_milliseconds_bucket{selection}{window}))"
    if spec.kind == "request_rate" and spec.op == "below":
        longer = f"[{spec.window + LOOKBACK_SECONDS}s]"
        return (
            f"sum by ({by}) (increase(istio_requests_total{selection}{window})) "
            f"or (sum by ({by}) (increase(istio_requests_total{selection}{longer})) * 0)"
        )
    return f"sum by ({by}) (increase(istio_requests_total{selection}{window}))"


def query_prometheus(expression: str, at: int) -> list[dict[str, Any]]:
    """Run an instant query; return its vector. Raise SourceError when Prometheus is not
    configured, cannot be reached, does not answer in time or rejects the query."""
    url = settings.MESHVIEW_PROMETHEUS_URL
    if not url:
        raise SourceError("Prometheus is not configured (set MESHVIEW_PROMETHEUS_URL)")
    try:
        response = requests.get(
            f"{url.rstrip('/')}/api/v1/query",
            params={"query": expression, "time": str(at)},
            timeout=PROMETHEUS_TIMEOUT_S,
        )
        answer = response.json()
    except requests.exceptions.Timeout as exc:
        raise SourceError(f"Prometheus did not answer within {PROMETHEUS_TIMEOUT_S:g} s") from exc
    except requests.exceptions.RequestException as exc:
        raise SourceError(f"cannot reach Prometheus: {type(exc).__name__}") from exc
    except ValueError as exc:
        raise SourceError(f"Prometheus answered HTTP {response.status_code} without JSON") from exc
    if not isinstance(answer, dict) or answer.get("status") != "success":
        detail = answer.get("error", "") if isinstance(answer, dict) else ""
        raise SourceError(f"Prometheus rejected the query: {str(detail)[:300]}")
    result = answer.get("data", {}).get("result", [])
    if not isinstance(result, list):
        raise SourceError("Prometheus gave an answer without a vector")
    return result


def prometheus_rows(spec: RuleSpec, now: int) -> list[Row]:
    """The rows of a traffic rule read from Istio's metrics in Prometheus (one query)."""
    identity = _prom_identity(spec)
    vector = query_prometheus(promql(spec), now)
    rows = []
    histograms: dict[tuple, dict[float, float]] = {}
    labelled: dict[tuple, dict[str, str]] = {}
    try:
        for element in vector:
            metric: Mapping[str, str] = element["metric"]
            value = float(element["value"][1])
            labels = {label: metric.get(name, "") for label, name in identity.items()}
            if spec.kind == "latency":
                key = tuple(sorted(labels.items()))
                labelled[key] = labels
                histograms.setdefault(key, {})[float(metric.get("le", "+Inf"))] = value
                continue
            row = Row(identity=labels, requests=value)
            if spec.kind == "error_rate":
                code = metric.get("response_code", "")
                protocol = "grpc" if metric.get("request_protocol") == "grpc" else "http"
                status = metric.get("grpc_response_status", "")
                failed = is_error(spec, protocol, int(code) if code.isdigit() else 0, status)
                row.errors = value if failed else 0.0
            elif spec.kind == "unknown_traffic":
                labels["unknown_reason"] = "unknown"
            rows.append(row)
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise SourceError(f"Prometheus gave an unreadable answer ({type(exc).__name__})") from exc
    for key, buckets in histograms.items():
        rows.append(Row(identity=labelled[key], latency_counts=latency_counts(buckets)))
    return rows


def prometheus_silence(spec: RuleSpec, now: int) -> list[Row]:
    """Prometheus as a reporter: the seconds since its newest Istio sample (the window when it
    holds none within its lookback)."""
    vector = query_prometheus("time() - max(timestamp(istio_requests_total))", now)
    try:
        silent = float(vector[0]["value"][1]) if vector else float(spec.window)
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise SourceError(f"Prometheus gave an unreadable answer ({type(exc).__name__})") from exc
    return [Row(identity={"reporter": "prometheus"}, value=silent)]
