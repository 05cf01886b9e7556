"""Alert rules as plain data: their vocabulary, their checks, and what a rule finds in a window.

No Django here: the loaders in `meshview.alerts.telemetry` turn rollups, the mesh inventory or
Prometheus into `Row`s, and `findings` decides, for each node or edge a rule selects, its value
and whether the rule's condition holds. `advance` is the state machine of one alert.
"""

import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from meshview.mesh.latency import quantile

Kind = Literal["error_rate", "latency", "request_rate", "unknown_traffic", "missing_sidecar", "reporter_silent"]
KINDS: tuple[Kind, ...] = (
    "error_rate",
    "latency",
    "request_rate",
    "unknown_traffic",
    "missing_sidecar",
    "reporter_silent",
)
# Kinds whose value comes from traffic, and so from the rollups or Prometheus.
TRAFFIC_KINDS = frozenset({"error_rate", "latency", "request_rate", "unknown_traffic"})
ERRORS = ("5xx", "4xx5xx", "grpc")
QUANTILES = {"p50": 0.5, "p95": 0.95, "p99": 0.99}
OPS = ("below", "above")
SOURCES = ("auto", "accesslogs", "prometheus")
SEVERITIES = ("critical", "warning", "info")
NODE_KEYS = ("namespace", "workload", "app", "service")
SOURCE_KEYS = ("namespace", "workload", "app")
UNKNOWN = "unknown"

State = Literal["inactive", "pending", "firing", "resolved"]
ACTIVE: tuple[State, ...] = ("pending", "firing")

_DURATION = re.compile(r"^(\d+)(ms|s|m|h|d)$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> int:
    """Return the seconds of a duration such as `30s`, `5m`, `1h` or `0s`; raise ValueError
    for anything else (Prometheus's notation, whole seconds)."""
    match = _DURATION.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{text!r} is not a duration such as 30s, 5m or 1h")
    seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if seconds != int(seconds):
        raise ValueError(f"{text!r} is not a whole number of seconds")
    return int(seconds)


def format_duration(seconds: int) -> str:
    """Return the shortest of `1h`, `5m`, `30s` that says `seconds`."""
    for unit in ("d", "h", "m"):
        size = int(_UNITS[unit])
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def check_selector(selector: Any) -> dict[str, Any]:
    """Return a selector with its keys checked: `namespace`, `workload`, `app`, `service` for a
    node, or `source` and `destination` objects for an edge. Raise ValueError naming the key."""
    if not isinstance(selector, dict):
        raise ValueError("must be an object")
    edge = "source" in selector or "destination" in selector
    checked: dict[str, Any] = {}
    for key, value in selector.items():
        if edge and key in ("source", "destination"):
            allowed = SOURCE_KEYS if key == "source" else NODE_KEYS
            if not isinstance(value, dict):
                raise ValueError(f"{key}: must be an object")
            for inner, text in value.items():
                if inner not in allowed:
                    raise ValueError(f"{key}.{inner}: not a selector key (use {', '.join(allowed)})")
                if not isinstance(text, str) or not text:
                    raise ValueError(f"{key}.{inner}: must be a non-empty string")
            checked[key] = dict(value)
        elif key in NODE_KEYS and not edge:
            if not isinstance(value, str) or not value:
                raise ValueError(f"{key}: must be a non-empty string")
            checked[key] = value
        else:
            keys = "source, destination" if edge else ", ".join((*NODE_KEYS, "source", "destination"))
            raise ValueError(f"{key}: not a selector key (use {keys})")
    return checked


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """What a rule asks, as the evaluator needs it."""

    kind: Kind
    selector: Mapping[str, Any]
    threshold: float
    window: int
    errors: str = "5xx"
    quantile: str = "p99"
    op: str = "above"

    @property
    def is_edge(self) -> bool:
        return "source" in self.selector or "destination" in self.selector

    @property
    def node_selector(self) -> Mapping[str, str]:
        """The selector of the node a node rule watches (the destination of an edge rule)."""
        return self.selector.get("destination", {}) if self.is_edge else self.selector

    @property
    def by_service(self) -> bool:
        """Whether nodes are services (the selector names one) rather than workloads."""
        return "service" in self.node_selector


@dataclass(slots=True)
class Row:
    """Traffic of one node or edge in the window, one breakdown of it (a response code, an
    unknown reason), as a loader read it. `identity` holds the labels that name the node or
    edge."""

    identity: dict[str, str]
    requests: float = 0.0
    errors: float = 0.0
    latency_counts: tuple[int, ...] | None = None
    value: float | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    """One node or edge a rule selects: its labels, its value, and whether the condition holds."""

    labels: dict[str, str]
    value: float
    breached: bool


@dataclass(slots=True)
class _Total:
    identity: dict[str, str]
    requests: float = 0.0
    errors: float = 0.0
    latency: list[int] = field(default_factory=list)
    value: float | None = None


def is_error(spec: RuleSpec, protocol: str, response_code: int, grpc_status: str) -> bool:
    """Whether a request counts as an error for an `error_rate` rule."""
    if spec.errors == "grpc":
        return protocol == "grpc" and grpc_status not in ("", "0")
    floor = 400 if spec.errors == "4xx5xx" else 500
    return response_code >= floor


def findings(spec: RuleSpec, rows: Iterable[Row]) -> list[Finding]:
    """Return one finding per node or edge in `rows`, with the rule's value (a percentage of
    errors, a latency quantile in ms, requests per second, seconds of silence) and whether the
    condition holds. Rows with the same identity are summed."""
    totals: dict[str, _Total] = {}
    for row in rows:
        key = json.dumps(row.identity, sort_keys=True)
        total = totals.get(key)
        if total is None:
            total = totals[key] = _Total(identity=row.identity)
        total.requests += row.requests
        total.errors += row.errors
        if row.latency_counts is not None:
            if not total.latency:
                total.latency = [0] * len(row.latency_counts)
            total.latency = [a + b for a, b in zip(total.latency, row.latency_counts, strict=True)]
        if row.value is not None:
            total.value = row.value if total.value is None else max(total.value, row.value)
    found = []
    for total in totals.values():
        value = _value(spec, total)
        if value is None:
            continue
        found.append(Finding(labels=total.identity, value=value, breached=_breached(spec, value)))
    return sorted(found, key=lambda f: sorted(f.labels.items()))


def _value(spec: RuleSpec, total: _Total) -> float | None:
    if spec.kind == "error_rate":
        return 100.0 * total.errors / total.requests if total.requests else None
    if spec.kind == "latency":
        return quantile(total.latency, QUANTILES[spec.quantile]) if total.latency else None
    if spec.kind in ("request_rate", "unknown_traffic"):
        return total.requests / spec.window
    return total.value


def _breached(spec: RuleSpec, value: float) -> bool:
    if spec.kind == "request_rate" and spec.op == "below":
        return value < spec.threshold
    if spec.kind == "missing_sidecar":
        return True
    if spec.kind == "reporter_silent":
        return value >= spec.window
    return value > spec.threshold


@dataclass(frozen=True, slots=True)
class Step:
    """What one evaluation does to one alert: its new state, and whether that is a change."""

    state: State
    changed: bool


def advance(state: State | None, active_since: float | None, breached: bool, now: float, hold: int) -> Step:
    """Move an alert on: `state` is its state before this evaluation (None for none),
    `active_since` when its condition began to hold, `hold` the rule's `for` in seconds.

    A condition that holds makes a new alert pending, and a pending one firing once it has held
    for `hold` (at once when `hold` is 0). A condition that stops holding makes a pending alert
    inactive and a firing one resolved."""
    if breached:
        if state in (None, "inactive", "resolved"):
            return Step("firing" if hold == 0 else "pending", True)
        if state == "pending" and active_since is not None and now - active_since >= hold:
            return Step("firing", True)
        return Step(state, False)
    if state == "pending":
        return Step("inactive", True)
    if state == "firing":
        return Step("resolved", True)
    return Step(state or "inactive", False)


def alert_labels(name: str, severity: str, extra: Mapping[str, str], identity: Mapping[str, str]) -> dict[str, str]:
    """The labels of an alert: the rule's name and severity, its own labels, and the identity
    of the node or edge (which wins, so two alerts of one rule never share their labels)."""
    return {"alertname": name, "severity": severity, **extra, **identity}


def fingerprint(labels: Mapping[str, str]) -> str:
    """A stable identity of an alert's label set, 16 hex digits as Alertmanager shows it."""
    return hashlib.sha256(json.dumps(dict(labels), sort_keys=True).encode()).hexdigest()[:16]


_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)(?:\.([A-Za-z0-9_]+))?\s*\}\}")


def render(template: str, context: Mapping[str, Any]) -> str:
    """Fill `{{ value }}`, `{{ threshold }}`, `{{ graph_url }}`, `{{ traces_url }}` and
    `{{ labels.NAME }}` in an annotation template; an unknown placeholder is left as written."""

    def fill(match: re.Match[str]) -> str:
        name, key = match.group(1), match.group(2)
        found = context.get(name)
        if key is not None:
            found = found.get(key) if isinstance(found, Mapping) else None
        if found is None:
            return match.group(0)
        if isinstance(found, float):
            return f"{found:.4g}" if math.isfinite(found) else str(found)
        return str(found)

    return _PLACEHOLDER.sub(fill, template)


DEFAULT_SUMMARY = {
    "error_rate": "{{ value }}% errors on {{ target }} (threshold {{ threshold }}%)",
    "latency": "{{ quantile }} latency {{ value }} ms on {{ target }} (threshold {{ threshold }} ms)",
    "request_rate": "{{ value }} requests/s on {{ target }} ({{ op }} {{ threshold }})",
    "unknown_traffic": "{{ value }} requests/s from the unknown source into {{ target }} ({{ labels.unknown_reason }})",
    "missing_sidecar": "{{ target }} serves mesh traffic without a sidecar",
    "reporter_silent": "{{ target }} has sent no telemetry for {{ value }} s",
}


def target_text(labels: Mapping[str, str]) -> str:
    """How an alert names its node or edge in a sentence."""

    def node(prefix: str) -> str:
        name = labels.get(f"{prefix}workload") or labels.get(f"{prefix}service") or labels.get(f"{prefix}reporter", "")
        namespace = labels.get(f"{prefix}namespace")
        return f"{namespace}/{name}" if namespace else name

    if "source_workload" in labels:
        return f"{node('source_')} → {node('destination_')}"
    return node("")
