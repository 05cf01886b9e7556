"""Reading an ingest body or file into observations, shared by HTTP and the CLI (pure Python).

Lines come as `text` (one access-log line each, any layout the parser knows) or `ndjson`
(each object an Istio JSON record, or a shipper's envelope `{"log": "<line>", "kubernetes":
{...}}`; Vector's `message` works as `log`; a record may carry the prefixes `kubectl logs
--prefix` and `--timestamps` add, as the text parser reads them). A line that cannot be read becomes an error with its
line number; the others are kept.
"""

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from meshview.envoy.jsonlog import parse_json_record
from meshview.envoy.parser import LogParser, strip_prefixes
from meshview.mesh.attribution import Observation, observe
from meshview.mesh.identity import Reporter, reporter_from_kubernetes

MAX_ERRORS = 100
NO_REPORTER = "no reporter identity: send Kubernetes metadata in an envelope, or namespace and pod parameters"


@dataclass
class Batch:
    observations: list[Observation] = field(default_factory=list)
    pod_ips: list[tuple[str, Reporter]] = field(default_factory=list)
    rejected: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def reject(self, line: int, error: str) -> None:
        self.rejected += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append({"line": line, "error": error})


def read_batch(
    lines: Iterable[str],
    kind: str,
    parser: LogParser,
    reporter: Reporter | None,
    received_ms: int,
    first_line: int = 1,
    gateways: Mapping[tuple[str, str], str] | None = None,
    cluster: str = "",
) -> Batch:
    """Return the observations and errors of `lines` (numbered from `first_line`); blank lines
    are skipped. `kind` is `text` or `ndjson`; `reporter` applies to records without an envelope.
    `gateways` maps (namespace, workload) to the gateway role configuration gives them, for
    gateways whose pod labels do not say so. `cluster`, when given, is the cluster of every
    reporter of the batch."""
    gateways = gateways or {}
    if reporter is not None:
        reporter = _with_configured_role(reporter, gateways, cluster)
    batch = Batch()
    observations = batch.observations
    pods_seen: set[str] = set()
    reporters: dict[tuple, tuple[Any, Reporter]] = {}
    parse_line = parser.parse_line
    for number, raw in enumerate(lines, start=first_line):
        line = raw.rstrip("\r\n")
        if not line or line.isspace():
            continue
        try:
            if kind == "text":
                record, line_reporter = parse_line(line), reporter
            else:
                record, line_reporter = _read_json(line, parser, reporter, reporters, gateways, cluster)
            if line_reporter is None:
                raise ValueError(NO_REPORTER)
            observations.append(observe(record, line_reporter, received_ms))
        except ValueError as exc:  # ParseError is a ValueError
            batch.reject(number, str(exc))
            continue
        if line_reporter.pod_ip and line_reporter.pod not in pods_seen:
            pods_seen.add(line_reporter.pod)
            batch.pod_ips.append((line_reporter.pod_ip, line_reporter))
    return batch


def _with_configured_role(reporter: Reporter, gateways: Mapping[tuple[str, str], str], cluster: str) -> Reporter:
    role = gateways.get((reporter.namespace, reporter.workload)) or reporter.role
    if role == reporter.role and (not cluster or cluster == reporter.cluster):
        return reporter
    return dataclasses.replace(reporter, role=role, cluster=cluster or reporter.cluster)


def _read_json(
    line: str,
    parser: LogParser,
    reporter: Reporter | None,
    reporters: dict[tuple, tuple[Any, Reporter]],
    gateways: Mapping[tuple[str, str], str],
    cluster: str,
) -> tuple[dict, Reporter | None]:
    if not line.startswith("{"):
        line = strip_prefixes(line)
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise ValueError("each NDJSON line must be an object")
    log = obj.get("log", obj.get("message"))
    if log is None:
        return parse_json_record(obj), reporter
    if not isinstance(log, str):
        raise ValueError("the envelope's log must be a string")
    meta = obj.get("kubernetes")
    if meta is not None:
        if not isinstance(meta, dict):
            raise ValueError("the envelope's kubernetes must be an object")
        # A body carries many lines of the same few pods: read each pod's metadata once (the
        # reporter is a function of the metadata; comparing it costs less than reading it).
        key = (meta.get("namespace_name") or meta.get("pod_namespace"), meta.get("pod_name") or meta.get("pod"))
        known = reporters.get(key)
        if known is not None and known[0] == meta:
            reporter = known[1]
        else:
            reporter = _with_configured_role(reporter_from_kubernetes(meta), gateways, cluster)
            reporters[key] = (meta, reporter)
    return parser.parse_line(log), reporter
