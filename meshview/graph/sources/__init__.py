"""Telemetry sources: each turns what it saw in a time window into `TrafficSample`s.

A source is a module with `NAME` and `collect(window) -> list[TrafficSample]`; it raises
`SourceError` when its backend cannot answer, and the graph then says so in `warnings` and
draws what the other sources saw.
"""

from dataclasses import dataclass


class SourceError(Exception):
    """A telemetry source could not answer; the message is shown to the user."""


@dataclass(frozen=True, slots=True)
class Window:
    """The graph's time window, unix seconds: [end - duration, end). `latency` says whether the
    samples must carry latency histograms: only a graph that shows response times (Kiali's
    `responseTime` appender) needs them, and they are most of what a rollup row sums."""

    end: int
    duration: int
    namespaces: frozenset[str]
    cluster: str
    latency: bool = True

    @property
    def start(self) -> int:
        return self.end - self.duration
