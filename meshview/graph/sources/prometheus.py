"""The `prometheus` telemetry source: Istio's standard metrics, queried as Kiali queries them.

Requests come from ``istio_requests_total``, response times from the
``istio_request_duration_milliseconds`` histogram, throughput from ``istio_request_bytes`` and
``istio_response_bytes``, TCP from ``istio_tcp_sent_bytes_total``,
``istio_tcp_received_bytes_total`` and ``istio_tcp_connections_opened_total``, each as
``sum(increase(...[<duration>s])) by (<edge labels>) > 0`` at the window's end, so a sample
counts what happened in the window.

For each requested namespace three selections are read, in Kiali's order: requests into the
namespace that reached no workload (source-reported, ``destination_workload="unknown"``),
traffic into it (destination-reported) and traffic out of it (source-reported). Every call
between two proxies is reported by both; a series is counted once, and a destination-reported
series wins over the source-reported one with the same labels. Source proxies always report
``connection_security_policy="unknown"``, so that label is left out when matching reporters and
the mTLS share comes from the destination's report.

What Istio's labels cannot say:

- why a source is unknown: no label carries the user agent or the port a request was sent
  to, so ``unknown_reason`` is always None and the unknown node shows no reason breakdown;
- which workload is a gateway: Istio labels gateways like any other proxy, so the canonical
  service (or workload) names ``istio-ingressgateway`` and ``istio-egressgateway``, Istio's
  defaults, mark them;

Beside Kiali's labels, the queries group by the principals (``source_principal``,
``destination_principal``: the edges' ``sourcePrincipal`` and ``destPrincipal``), and read gRPC
stream messages from ``istio_request_messages_total`` and ``istio_response_messages_total``
(Kiali's ``rateGrpc=sent|received|total``). Each node is in the cluster its series name
(``source_cluster``, ``destination_cluster``); a destination whose cluster is unknown but whose
service namespace is known is in its caller's cluster (kiali/kiali
graph/telemetry/istio/util/util.go HandleDestination), and a series without a cluster is in
``MESHVIEW_CLUSTER_NAME``'s.
"""

import math
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

import requests
import urllib3
from django.conf import settings
from prometheus_api_client import PrometheusApiClientException, PrometheusConnect
from urllib3.util.retry import Retry

from meshview.graph.samples import (
    UNKNOWN,
    UNKNOWN_SOURCE,
    Endpoint,
    Protocol,
    Telemetry,
    TrafficSample,
    known,
)
from meshview.graph.sources import SourceError, Window
from meshview.mesh.clusters import PASSTHROUGH_SERVICES
from meshview.mesh.gateways import gateway_kind, role_from_names
from meshview.mesh.latency import LATENCY_BUCKETS_MS

NAME: Telemetry = "prometheus"
# Per HTTP request to Prometheus (connect, and each wait for data): the graph is interactive.
TIMEOUT_S = 5.0
# Queries sent at once; below the connection pool's size (10) so none waits for a connection.
PARALLEL_QUERIES = 8

EDGE_LABELS: tuple[str, ...] = (
    "source_cluster",
    "source_workload_namespace",
    "source_workload",
    "source_canonical_service",
    "source_canonical_revision",
    "destination_cluster",
    "destination_service_namespace",
    "destination_service",
    "destination_service_name",
    "destination_workload_namespace",
    "destination_workload",
    "destination_canonical_service",
    "destination_canonical_revision",
    "request_protocol",
    "response_code",
    "grpc_response_status",
    "response_flags",
    "connection_security_policy",
    "source_principal",
    "destination_principal",
)
_BY = ", ".join(EDGE_LABELS)
_INDEX = {label: i for i, label in enumerate(EDGE_LABELS)}
_SECURITY_POLICY = _INDEX["connection_security_policy"]

Reporter = Literal["source", "destination"]
Family = Literal["http", "tcp"]
Labels = tuple[str, ...]

# measure -> (metric, family); "latency" is the histogram's buckets, grouped by `le` as well
MEASURES: dict[str, tuple[str, Family]] = {
    "requests": ("istio_requests_total", "http"),
    "latency": ("istio_request_duration_milliseconds_bucket", "http"),
    "duration_sum_ms": ("istio_request_duration_milliseconds_sum", "http"),
    "bytes_received": ("istio_request_bytes_sum", "http"),
    "bytes_sent": ("istio_response_bytes_sum", "http"),
    "request_messages": ("istio_request_messages_total", "http"),
    "response_messages": ("istio_response_messages_total", "http"),
    "connections": ("istio_tcp_connections_opened_total", "tcp"),
    # Both TCP byte counters are named from the destination's side: "received" is what the
    # client sent (Kiali's "sent" rate), "sent" what went back to it.
    "tcp_bytes_received": ("istio_tcp_received_bytes_total", "tcp"),
    "tcp_bytes_sent": ("istio_tcp_sent_bytes_total", "tcp"),
}


@dataclass(frozen=True, slots=True)
class Query:
    """One PromQL query of a collection, and what its result measures."""

    measure: str
    reporter: Reporter
    promql: str


@dataclass(slots=True)
class _Series:
    """One reporter's series of an edge, with the measures the queries found for it."""

    values: dict[str, float] = field(default_factory=dict)
    # upper bound (ms, inf for +Inf) -> requests at most that long
    buckets: dict[float, float] = field(default_factory=dict)


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def selections(namespaces: Iterable[str]) -> list[tuple[Reporter, str]]:
    """Return the (reporter, label matchers) selections that cover traffic touching the
    namespaces, in Kiali's order; with no namespace, all traffic of both reporters."""
    names = sorted(namespaces)
    if not names:
        return [("destination", 'reporter="destination"'), ("source", 'reporter="source"')]
    chosen: list[tuple[Reporter, str]] = []
    for ns in names:
        quoted = _quote(ns)
        chosen += [
            ("source", f'reporter="source", destination_workload="unknown", destination_service_namespace={quoted}'),
            ("destination", f'reporter="destination", destination_workload_namespace={quoted}'),
            ("source", f'reporter="source", source_workload_namespace={quoted}'),
        ]
    return chosen


def queries(window: Window) -> list[Query]:
    """Return every query one collection sends for `window`."""
    built = []
    for reporter, matchers in selections(window.namespaces):
        for measure, (metric, _) in MEASURES.items():
            by = f"le, {_BY}" if measure == "latency" else _BY
            promql = f"sum(increase({metric}{{{matchers}}}[{window.duration}s])) by ({by}) > 0"
            built.append(Query(measure, reporter, promql))
    return built


def collect(window: Window) -> list[TrafficSample]:
    """Return the samples of Istio's metrics in `window`, one per edge series (source,
    destination, protocol, response code, flags, security policy).

    Raises SourceError when MESHVIEW_PROMETHEUS_URL is not set, or Prometheus cannot be
    reached, does not answer within TIMEOUT_S or rejects a query. No traffic is an empty list.
    """
    url = settings.MESHVIEW_PROMETHEUS_URL
    if not url:
        raise SourceError("Prometheus is not configured (set MESHVIEW_PROMETHEUS_URL)")
    url = url.rstrip("/")
    results = _run(url, queries(window), window.end)
    try:
        found = _series(results)
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise SourceError(f"Prometheus at {_display(url)} gave an unreadable answer ({type(exc).__name__})") from exc
    return _samples(found, window.cluster)


class _TimeoutSession(requests.Session):
    """A session whose requests time out after TIMEOUT_S unless told otherwise."""

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = TIMEOUT_S
        return super().request(*args, **kwargs)


def _run(url: str, plan: list[Query], at: int) -> list[tuple[Query, list[dict[str, Any]]]]:
    """Send the queries (several at once) and return each with its result vector."""
    where = _display(url)
    session = _TimeoutSession()
    session.verify = False  # as disable_ssl does: an in-cluster Prometheus often has its own CA
    # No retries: a graph that waits is worse than a graph that says Prometheus is missing.
    prometheus = PrometheusConnect(url, disable_ssl=True, retry=Retry(total=0), session=session)

    def run(query: Query) -> tuple[Query, list[dict[str, Any]]]:
        return query, prometheus.custom_query(query.promql, params={"time": at})

    pool = ThreadPoolExecutor(max_workers=PARALLEL_QUERIES)
    try:
        return list(pool.map(run, plan))
    except requests.exceptions.RequestException as exc:
        if _timed_out(exc):
            raise SourceError(f"Prometheus at {where} did not answer within {TIMEOUT_S:g} s") from exc
        if isinstance(exc, requests.exceptions.ConnectionError):
            raise SourceError(f"cannot connect to Prometheus at {where}") from exc
        raise SourceError(f"Prometheus at {where} gave an unreadable answer ({type(exc).__name__})") from exc
    except PrometheusApiClientException as exc:
        raise SourceError(f"Prometheus at {where} answered with an error: {str(exc)[:300]}") from exc
    except (ValueError, KeyError, TypeError) as exc:
        # ValueError: a body that is not JSON; KeyError, TypeError: JSON without Prometheus's shape
        raise SourceError(f"Prometheus at {where} gave an unreadable answer ({type(exc).__name__})") from exc
    finally:
        # After a failure, the queries not yet sent are dropped rather than waited for.
        pool.shutdown(wait=False, cancel_futures=True)
        session.close()


def _timed_out(exc: requests.exceptions.RequestException) -> bool:
    """Whether a request failed for want of an answer in time. Without retries, urllib3 hands
    requests a read timeout wrapped as a connection error: look at the reason too."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    # urllib3 files a refused connection under its connect timeouts: that one is no timeout
    return isinstance(exc, requests.exceptions.Timeout) or (
        isinstance(reason, urllib3.exceptions.TimeoutError)
        and not isinstance(reason, urllib3.exceptions.NewConnectionError)
    )


def _display(url: str) -> str:
    """The URL without credentials, for messages."""
    parts = urlsplit(url)
    host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname
    return f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}{parts.path}"


def _series(
    results: list[tuple[Query, list[dict[str, Any]]]],
) -> dict[tuple[Family, Reporter, Labels], _Series]:
    """Gather the measures of each reporter's series. A series two selections both return (a
    request out of a requested namespace that reached no workload of one) holds the same values
    in each: set, not added."""
    found: dict[tuple[Family, Reporter, Labels], _Series] = {}
    for query, vector in results:
        family = MEASURES[query.measure][1]
        for element in vector:
            metric = element["metric"]
            value = float(element["value"][1])
            if math.isnan(value):
                continue
            key = (family, query.reporter, tuple(metric.get(label, "") for label in EDGE_LABELS))
            series = found.get(key)
            if series is None:
                series = found[key] = _Series()
            if query.measure == "latency":
                series.buckets[float(metric.get("le", "+Inf"))] = value
            else:
                series.values[query.measure] = value
    return found


def _edge(labels: Labels) -> Labels:
    """The labels both reporters of a call agree on: all but the security policy and the
    principals, which only the destination's proxy knows for sure."""
    return labels[:_SECURITY_POLICY]


def _samples(found: dict[tuple[Family, Reporter, Labels], _Series], cluster: str) -> list[TrafficSample]:
    reported = {(family, _edge(labels)) for family, reporter, labels in found if reporter == "destination"}
    samples = []
    for (family, reporter, labels), series in sorted(found.items()):
        if reporter == "source" and (family, _edge(labels)) in reported:
            continue
        values = series.values
        if family == "http" and not (values.get("requests") or values.get("request_messages")
                                     or values.get("response_messages")):
            continue  # bytes or durations of requests the window did not count
        samples.append(_sample(family, labels, series, cluster))
    return samples


def latency_counts(buckets: dict[float, float]) -> tuple[int, ...] | None:
    """Turn cumulative ``le`` buckets (upper bound -> count, inf for +Inf) into per-bucket counts
    over LATENCY_BUCKETS_MS plus +Inf; None without any bucket.

    A bound Prometheus did not return counts what the next lower bound counts (``> 0`` drops
    the empty low buckets; a histogram with other bounds is read at the nearest bound below).
    Counts are rounded, since ``increase()`` extrapolates to the window's edges.
    """
    if not buckets:
        return None
    bounds = sorted(buckets)
    cumulative: list[int] = []
    running = 0
    position = 0
    known_count = 0.0
    for bound in (*LATENCY_BUCKETS_MS, math.inf):
        while position < len(bounds) and bounds[position] <= bound:
            known_count = buckets[bounds[position]]
            position += 1
        if bound == math.inf:
            known_count = max(known_count, *buckets.values())
        # cumulative counts never fall: extrapolation may bend them by a fraction
        running = max(running, round(known_count))
        cumulative.append(running)
    return tuple(c - p for p, c in zip([0, *cumulative], cumulative, strict=False))


def _source(labels: Labels, cluster: str) -> Endpoint:
    workload = labels[_INDEX["source_workload"]]
    if not known(workload):
        return UNKNOWN_SOURCE
    app = labels[_INDEX["source_canonical_service"]]
    return Endpoint(
        _known_or(labels[_INDEX["source_cluster"]], cluster),
        labels[_INDEX["source_workload_namespace"]],
        workload,
        app,
        labels[_INDEX["source_canonical_revision"]],
        gateway=gateway_kind(role_from_names("", app, workload)),
        principal=_known_or(labels[_INDEX["source_principal"]], ""),
    )


def _destination(labels: Labels, cluster: str) -> Endpoint:
    def label(name: str) -> str:
        return labels[_INDEX[name]]

    source_cluster = label("source_cluster")
    if not known(label("destination_cluster")) and known(source_cluster) and known(
            label("destination_service_namespace")):
        cluster = source_cluster
    else:
        cluster = _known_or(label("destination_cluster"), cluster)
    name = _known_or(label("destination_service_name"), "")
    workload = label("destination_workload")
    if known(workload):
        app = label("destination_canonical_service")
        return Endpoint(
            cluster,
            label("destination_workload_namespace"),
            workload,
            app,
            label("destination_canonical_revision"),
            service=name,
            gateway=gateway_kind(role_from_names("", app, workload)),
            principal=_known_or(label("destination_principal"), ""),
        )
    # Reached no workload: a terminal service node. A host in no namespace is external (a
    # ServiceEntry or an unmatched host) and is drawn in the caller's namespace. No service at
    # all (destination_service_name="unknown", a request with no route) is Kiali's unknown
    # destination, in the namespace Istio names (unknown when none).
    namespace = _known_or(label("destination_service_namespace"), "")
    external = bool(name) and not namespace and name not in PASSTHROUGH_SERVICES
    if not name:
        return Endpoint(cluster, namespace or UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN, service=UNKNOWN)
    return Endpoint(
        cluster,
        namespace or _known_or(label("source_workload_namespace"), UNKNOWN),
        UNKNOWN,
        UNKNOWN,
        UNKNOWN,
        service=name,
        service_entry="MESH_EXTERNAL" if external else None,
    )


def _known_or(value: str, default: str) -> str:
    return value if known(value) else default


def _flags(value: str) -> str:
    flags = sorted(f for f in value.split(",") if f and f != "-")
    return ",".join(flags) if flags else "-"


def _sample(family: Family, labels: Labels, series: _Series, cluster: str) -> TrafficSample:
    def label(name: str) -> str:
        return labels[_INDEX[name]]

    values = series.values
    source, destination = _source(labels, cluster), _destination(labels, cluster)
    host = label("destination_service") or None  # Kiali files "unknown" too
    mtls = label("connection_security_policy") == "mutual_tls"
    flags = _flags(label("response_flags"))
    if family == "tcp":
        return TrafficSample(
            source=source, destination=destination, protocol="tcp", response_code=0, response_flags=flags,
            mtls=mtls, requests=values.get("connections", 0.0), bytes_sent=values.get("tcp_bytes_sent", 0.0),
            bytes_received=values.get("tcp_bytes_received", 0.0), upstream_host=host, telemetry=NAME,
        )
    protocol: Protocol = "grpc" if label("request_protocol") == "grpc" else "http"
    code = label("response_code")
    status = label("grpc_response_status")
    return TrafficSample(
        source=source,
        destination=destination,
        protocol=protocol,
        response_code=int(code) if code.isdigit() else 0,
        grpc_status=status if status.isdigit() else None,
        response_flags=flags,
        mtls=mtls,
        requests=values.get("requests", 0.0),
        latency_counts=latency_counts(series.buckets),
        duration_sum_ms=values.get("duration_sum_ms", 0.0),
        bytes_sent=values.get("bytes_sent", 0.0),
        bytes_received=values.get("bytes_received", 0.0),
        upstream_host=host,
        request_messages=values.get("request_messages", 0.0),
        response_messages=values.get("response_messages", 0.0),
        telemetry=NAME,
    )
