"""The Istio metrics a simulated mesh's calls leave in Prometheus, as OpenMetrics text.

`openmetrics(calls)` renders `tests.meshsim.Call`s as the series Istio's proxies export:
``istio_requests_total``, the ``istio_request_duration_milliseconds`` histogram with Istio's
buckets, ``istio_request_bytes`` and ``istio_response_bytes`` (sums and counts), and the TCP
counters. Each proxy that saw a call reports it: a call between two proxies twice
(``reporter="source"`` and ``reporter="destination"``), a call that reached no workload only by
the caller (``destination_workload="unknown"``), a call from outside the mesh only by the
destination (``source_workload="unknown"``). As in Istio, the source proxy reports
``connection_security_policy="unknown"``; only the destination knows whether mTLS was used. A
call to the service named ``unknown`` is a request with no route: Istio labels its destination
service ``unknown`` throughout. Each gRPC call streams GRPC_REQUEST_MESSAGES messages to the
server and GRPC_RESPONSE_MESSAGES back (``istio_request_messages_total``,
``istio_response_messages_total``).

The calls are spread evenly over a window of `window_s` seconds ending at `end`, sampled
every STEP_S seconds, and `promtool tsdb create-blocks-from openmetrics` loads the text. Every
counter reads 0 at the window's first two sample points and its total at `end`, so
``increase(m[<window_s>s])`` evaluated at `end` is exact: Prometheus extrapolates a range's
increase only by the distance from its first and last samples to the range's edges, and here
the last sample is at the range's end and the first sample is 0 and within a step of its start
(so the extrapolation stops where the counter was 0). That holds whether the range includes its
start (Prometheus 2) or not (Prometheus 3).
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from tests.meshsim import Call, Pod

# The end of the simulated window: 2023-11-14 22:20 UTC, on a step, 20 minutes into one of
# promtool's two-hour blocks, so the window lies in one block.
QUERY_TIME = 1_700_000_400
WINDOW_S = 600
STEP_S = 15
CLUSTER = "Kubernetes"
# istio_request_duration_milliseconds' bucket bounds, as Istio's proxies export them.
ISTIO_DURATION_BUCKETS_MS = (
    "0.5", "1", "5", "10", "25", "50", "100", "250", "500", "1000", "2500", "5000", "10000",
    "30000", "60000", "300000", "600000", "1.8e+06", "3.6e+06", "+Inf",
)
GRPC_REQUEST_MESSAGES = 3
GRPC_RESPONSE_MESSAGES = 7
# Sample points that read 0 before the first call counts.
_QUIET_POINTS = 2

Labels = tuple[tuple[str, str], ...]


@dataclass
class _Series:
    """The calls one proxy reported with one label set, in the order they happened."""

    labels: Labels
    calls: list[Call] = field(default_factory=list)


def _principal(pod: Pod) -> str:
    account = f"{pod.workload}-service-account" if pod.role != "sidecar" else f"{pod.namespace}-{pod.app}"
    return f"spiffe://cluster.local/ns/{pod.namespace}/sa/{account}"


def _peer(side: str, pod: Pod | None, cluster_of: Callable[[Pod], str]) -> dict[str, str]:
    """The labels Istio gives one side of a call: `unknown` throughout for a side without a
    proxy (a caller outside the mesh, or no workload reached)."""
    if pod is None:
        names = ("workload", "workload_namespace", "principal", "app", "version", "canonical_service",
                 "canonical_revision", "cluster")
        return {f"{side}_{name}": "unknown" for name in names}
    return {
        f"{side}_workload": pod.workload,
        f"{side}_workload_namespace": pod.namespace,
        f"{side}_principal": _principal(pod),
        f"{side}_app": pod.app,
        f"{side}_version": pod.version or "unknown",
        f"{side}_canonical_service": pod.app,
        # Istio's canonical revision defaults to "latest" for a pod without a version label.
        f"{side}_canonical_revision": pod.version or "latest",
        f"{side}_cluster": cluster_of(pod),
    }


def istio_labels(call: Call, reporter: str, cluster_of: Callable[[Pod], str] = lambda pod: CLUSTER) -> Labels:
    """The label set under which `reporter` ("source" or "destination") counts `call`."""
    labels = {
        "reporter": reporter,
        **_peer("source", call.source, cluster_of),
        **_peer("destination", call.destination, cluster_of),
        "destination_service": "unknown" if call.service.name == "unknown" else call.service.host,
        "destination_service_name": call.service.name,
        "destination_service_namespace": call.service.namespace,
        "request_protocol": call.protocol,
        "response_flags": call.flags,
    }
    if reporter == "source":
        labels["connection_security_policy"] = "unknown"
    else:
        labels["connection_security_policy"] = "mutual_tls" if call.mtls and call.source else "none"
    if call.protocol != "tcp":
        labels["response_code"] = str(call.code)
        if call.protocol == "grpc":
            labels["grpc_response_status"] = "0" if call.code == 200 else "14"
    return tuple(sorted(labels.items()))


def reporters(call: Call) -> tuple[str, ...]:
    """The proxies that report `call`: the caller's (if it has one) and the destination's (if
    the call reached a workload)."""
    return tuple(
        reporter
        for reporter, pod in (("source", call.source), ("destination", call.destination))
        if pod is not None and (reporter == "destination" or call.source is not None)
    )


def istio_series(
    calls: Iterable[Call], cluster_of: Callable[[Pod], str] = lambda pod: CLUSTER
) -> tuple[list[_Series], list[_Series]]:
    """Group the calls into the HTTP/gRPC series and the TCP series the proxies export."""
    http: dict[Labels, _Series] = {}
    tcp: dict[Labels, _Series] = {}
    for call in calls:
        for reporter in reporters(call):
            labels = istio_labels(call, reporter, cluster_of)
            into = tcp if call.protocol == "tcp" else http
            into.setdefault(labels, _Series(labels)).calls.append(call)
    return list(http.values()), list(tcp.values())


def _label_text(labels: Iterable[tuple[str, str]]) -> str:
    def escaped(value: str) -> str:
        return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

    return "{" + ",".join(f'{name}="{escaped(value)}"' for name, value in labels) + "}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def openmetrics(
    calls: Iterable[Call],
    end: int = QUERY_TIME,
    window_s: int = WINDOW_S,
    cluster_of: Callable[[Pod], str] = lambda pod: CLUSTER,
) -> str:
    """Return the OpenMetrics text of Istio's metrics for `calls` spread evenly over the
    `window_s` seconds before `end` (a multiple of STEP_S), ending with ``# EOF``."""
    if window_s % STEP_S or window_s // STEP_S <= _QUIET_POINTS:
        raise ValueError(f"window_s must be a multiple of {STEP_S} s longer than {_QUIET_POINTS} steps")
    points = [end - window_s + i * STEP_S for i in range(window_s // STEP_S + 1)]
    busy = len(points) - _QUIET_POINTS

    def done(series: _Series, index: int) -> list[Call]:
        """The calls of a series counted by sample point `index`."""
        counted = max(0, index - _QUIET_POINTS + 1)
        return series.calls[: len(series.calls) * counted // busy]

    http, tcp = istio_series(calls, cluster_of)
    lines: list[str] = []

    def counter(family: str, series_list: list[_Series], measure: Callable[[Call], float]) -> None:
        lines.append(f"# TYPE {family} counter")
        for series in series_list:
            name = f"{family}_total{_label_text(series.labels)}"
            lines.extend(
                f"{name} {_number(sum(map(measure, done(series, i))))} {t}" for i, t in enumerate(points)
            )

    def histogram(family: str, bounds: tuple[str, ...], measure: Callable[[Call], float]) -> None:
        lines.append(f"# TYPE {family} histogram")
        for series in http:
            for i, t in enumerate(points):
                counted = done(series, i)
                for bound in bounds:
                    limit = float(bound)
                    within = sum(1 for call in counted if measure(call) <= limit)
                    lines.append(f"{family}_bucket{_label_text((*series.labels, ('le', bound)))} {within} {t}")
                lines.append(f"{family}_count{_label_text(series.labels)} {len(counted)} {t}")
                lines.append(f"{family}_sum{_label_text(series.labels)} {_number(sum(map(measure, counted)))} {t}")

    counter("istio_requests", http, lambda call: 1)
    grpc = [series for series in http if dict(series.labels)["request_protocol"] == "grpc"]
    counter("istio_request_messages", grpc, lambda call: GRPC_REQUEST_MESSAGES)
    counter("istio_response_messages", grpc, lambda call: GRPC_RESPONSE_MESSAGES)
    histogram("istio_request_duration_milliseconds", ISTIO_DURATION_BUCKETS_MS, lambda call: call.duration_ms)
    # Istio exports the byte sizes as histograms too; the graph reads only their sums.
    histogram("istio_request_bytes", ("+Inf",), lambda call: call.bytes_received)
    histogram("istio_response_bytes", ("+Inf",), lambda call: call.bytes_sent)
    counter("istio_tcp_connections_opened", tcp, lambda call: 1)
    counter("istio_tcp_connections_closed", tcp, lambda call: 1)
    # Named from the connection's server side: received is what the client sent.
    counter("istio_tcp_received_bytes", tcp, lambda call: call.bytes_received)
    counter("istio_tcp_sent_bytes", tcp, lambda call: call.bytes_sent)
    lines.append("# EOF")
    return "\n".join(lines) + "\n"
