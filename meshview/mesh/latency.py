"""Istio's request-duration histogram, shared by rollups and every graph telemetry source."""

from bisect import bisect_left

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
    total = sum(counts)
    if total == 0:
        return None
    rank = q * total
    cumulative = 0
    for i, count in enumerate(counts):
        if cumulative + count >= rank and count > 0:
            if i == len(LATENCY_BUCKETS_MS):
                return LATENCY_BUCKETS_MS[-1]
            lower = LATENCY_BUCKETS_MS[i - 1] if i > 0 else 0.0
            upper = LATENCY_BUCKETS_MS[i]
            return lower + (upper - lower) * (rank - cumulative) / count
        cumulative += count
    return LATENCY_BUCKETS_MS[-1]
