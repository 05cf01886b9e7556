"""Istio's request-duration histogram, shared by rollups and every graph telemetry source."""

from bisect import bisect_left, bisect_right
from itertools import accumulate

# Upper bounds (ms) of istio_request_duration_milliseconds_bucket, Istio's defaults; the last
# bucket (+Inf) is implicit, so a histogram has len(LATENCY_BUCKETS_MS) + 1 counts.
LATENCY_BUCKETS_MS: tuple[float, ...] = (
    0.5,
    1,
    5,
    10,
    25,
    50,
    100,
    250,
    500,
    1000,
    2500,
    5000,
    10000,
    30000,
    60000,
    300000,
    600000,
    1800000,
    3600000,
)


def bucket_index(duration_ms: float) -> int:
    """Return the index of the histogram bucket a duration falls in (``le`` semantics)."""
    return bisect_left(LATENCY_BUCKETS_MS, duration_ms)


def quantile(counts: list[int] | tuple[int, ...], q: float) -> float | None:
    """Return the q-quantile (0..1) of a bucketed histogram, interpolated as PromQL's
    ``histogram_quantile`` does; None when the histogram is empty."""
    return quantiles(counts, (q,))[0]


def quantiles(counts: list[int] | tuple[int, ...], qs: tuple[float, ...]) -> tuple[float | None, ...]:
    """Return the quantiles ``qs`` (0..1) of a bucketed histogram, interpolated as PromQL's
    ``histogram_quantile`` does; Nones when the histogram is empty."""
    cumulative = list(accumulate(counts))
    total = cumulative[-1] if cumulative else 0
    if total == 0:
        return (None,) * len(qs)
    found: list[float | None] = []
    for q in qs:
        rank = q * total
        # The first bucket whose cumulative count reaches the rank (the first non-empty one for rank 0).
        i = bisect_left(cumulative, rank) if rank > 0 else bisect_right(cumulative, 0)
        if i >= len(LATENCY_BUCKETS_MS):
            found.append(LATENCY_BUCKETS_MS[-1])  # in +Inf: the highest finite bound, as PromQL answers
            continue
        lower = LATENCY_BUCKETS_MS[i - 1] if i > 0 else 0.0
        upper = LATENCY_BUCKETS_MS[i]
        found.append(lower + (upper - lower) * (rank - (cumulative[i] - counts[i])) / counts[i])
    return tuple(found)
