"""Time series of a graph node or edge over a window, for the side panels' charts: request
rate, error rate and response-time percentiles per step, and TCP bytes, from traffic rollups.

Pure functions over rollup rows (dicts with the rollup's columns, summed per step); the API view
loads the rows. Each request is counted once, as on the graph: an edge's destination-reported
rows when its destination reported it within the window, its source-reported rows otherwise
(requests that reached no workload, workloads without a sidecar).
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from meshview.mesh.latency import LATENCY_BUCKETS_MS, quantile
from meshview.mesh.unknown import UNKNOWN

LATENCY_KEYS = tuple(f"latency_{i}" for i in range(len(LATENCY_BUCKETS_MS) + 1))
MAX_POINTS = 1000


@dataclass(frozen=True)
class SeriesWindow:
    """Steps of `step` seconds, aligned to multiples of `step`, covering (end - duration, end]."""

    end: int
    duration: int
    step: int

    def __post_init__(self) -> None:
        if self.step <= 0 or self.duration <= 0:
            raise ValueError("step and duration must be positive")
        if len(self.timestamps) > MAX_POINTS:
            raise ValueError(f"duration / step gives more than {MAX_POINTS} points: use a longer step")

    @property
    def first(self) -> int:
        return (self.end - self.duration) // self.step * self.step

    @property
    def timestamps(self) -> list[int]:
        """The start of each step, unix seconds."""
        return list(range(self.first, self.end, self.step))


def _edge(row: Mapping[str, Any]) -> tuple:
    reached = row["destination_workload"] != UNKNOWN
    return (row["source_namespace"], row["source_workload"], row["destination_namespace"],
            row["destination_workload"] if reached else row["destination_service"])


def counted(rows: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The rows that count each request once (see the module's docstring)."""
    rows = list(rows)
    reported = {_edge(r) for r in rows if r["reporter"] == "destination"}
    return [r for r in rows if r["reporter"] == "destination" or _edge(r) not in reported]


def _failed(row: Mapping[str, Any]) -> bool:
    if row["protocol"] == "grpc":
        return row["grpc_status"] not in ("", "0")
    return row["protocol"] != "tcp" and (row["response_code"] >= 400 or row["response_code"] == 0)


def series(rows: Iterable[Mapping[str, Any]], window: SeriesWindow) -> dict[str, Any]:
    """The charts' data, column-wise (one value per timestamp): `requestRate` and `errorRate`
    (HTTP and gRPC requests per second; errors are 4xx, 5xx, no response, gRPC non-OK),
    `p50`, `p95`, `p99` (ms, None for a step without requests), `tcpSentRate` and
    `tcpReceivedRate` (bytes per second). `rows` carry a rollup `bucket` (which lies within
    one step) and the rollup's other dimensions and summed measures."""
    times = window.timestamps
    index = {t: i for i, t in enumerate(times)}
    size = len(times)
    requests, errors = [0] * size, [0] * size
    sent, received = [0] * size, [0] * size
    histograms = [[0] * len(LATENCY_KEYS) for _ in range(size)]
    for row in counted(rows):
        i = index.get(row["bucket"] // window.step * window.step)
        if i is None:
            continue
        if row["protocol"] == "tcp":
            sent[i] += row["bytes_sent"]
            received[i] += row["bytes_received"]
            continue
        requests[i] += row["requests"]
        if _failed(row):
            errors[i] += row["requests"]
        histogram = histograms[i]
        for k, key in enumerate(LATENCY_KEYS):
            histogram[k] += row[key]
    step = window.step

    def rate(values: list[int]) -> list[float]:
        return [round(v / step, 4) for v in values]

    def percentile(q: float) -> list[float | None]:
        values = (quantile(h, q) for h in histograms)
        return [None if v is None else round(v, 2) for v in values]

    return {
        "start": window.first,
        "end": window.end,
        "step": step,
        "timestamps": times,
        "requestRate": rate(requests),
        "errorRate": rate(errors),
        "p50": percentile(0.5),
        "p95": percentile(0.95),
        "p99": percentile(0.99),
        "tcpSentRate": rate(sent),
        "tcpReceivedRate": rate(received),
    }
