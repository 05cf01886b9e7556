"""The `spans` telemetry source: the requests spans showed, read from the span rollups.

Spans become requests when they arrive: `meshview.traces.traffic` holds the rules (pairs,
calls that reached no traced workload, requests from an unknown caller, identities, measures)
and `meshview.traces.pairing` the timing. This source reads the rollups of the window's
10-second buckets (`meshview.mesh.rollups.read`, the coarsest tiers that fit) and adds the
caller spans that still wait for a child, as calls that reached no traced workload, which is
what their spans say so far. It never reads raw spans: its cost grows with the number of edges,
not with the number of requests.
"""

from math import ceil
from typing import Any, Final

from django.db.models import Q

from meshview.graph.samples import Endpoint, TrafficSample
from meshview.graph.sources import Window
from meshview.mesh import rollups
from meshview.mesh.models import LATENCY_COLUMNS, SPAN_ROLLUP_DIMENSIONS, SPAN_ROLLUP_MEASURES
from meshview.traces import pairing

NAME: Final = "spans"
_DIMENSIONS = SPAN_ROLLUP_DIMENSIONS[1:]  # all but the bucket


def _rows(window: Window) -> list[dict[str, Any]]:
    """The window's rollup rows summed per key, the waiting callers added in."""
    where = None
    if window.namespaces:
        names = list(window.namespaces)
        where = Q(source_namespace__in=names) | Q(destination_namespace__in=names)
    rows = rollups.read(rollups.SPANS, window.start, window.end, where)
    first, end = (ceil(t / rollups.BUCKET_SECONDS) * rollups.BUCKET_SECONDS for t in (window.start, window.end))
    waiting = pairing.waiting_callers(first * 10**9, end * 10**9).requests
    if not waiting:
        return rows
    merged = {tuple(row[d] for d in _DIMENSIONS): row for row in rows}
    for key, measures in waiting.items():
        row = dict(zip(_DIMENSIONS, key[1:], strict=True))
        if window.namespaces and not {row["source_namespace"], row["destination_namespace"]} & window.namespaces:
            continue
        found = merged.get(key[1:])
        if found is None:
            merged[key[1:]] = {**row, **{f"sum_{m}": v for m, v in zip(SPAN_ROLLUP_MEASURES, measures, strict=True)}}
        else:
            for m, v in zip(SPAN_ROLLUP_MEASURES, measures, strict=True):
                found[f"sum_{m}"] += v
    return list(merged.values())


def collect(window: Window) -> list[TrafficSample]:
    """Return the samples of the requests whose caller's span started in the window's 10-second
    buckets, one per source, destination, protocol, response code, gRPC status, mTLS,
    addressed host and unknown reason; only edges with an end in ``window.namespaces`` when it
    is not empty. Raises django.db.DatabaseError when the rollups cannot be read."""
    endpoints: dict[tuple, Endpoint] = {}  # shared, as the engine caches by them

    def endpoint(*fields: str) -> Endpoint:
        found = endpoints.get(fields)
        if found is None:
            cluster, namespace, workload, app, version, gateway, service, service_entry = fields
            found = endpoints[fields] = Endpoint(
                cluster, namespace, workload, app, version, service=service,
                gateway=gateway or None,  # type: ignore[arg-type]
                service_entry=service_entry or None,  # type: ignore[arg-type]
            )
        return found

    samples = []
    for row in _rows(window):
        tcp = row["protocol"] == "tcp"
        samples.append(
            TrafficSample(
                source=endpoint(*(row[f"source_{f}"] for f in ("cluster", "namespace", "workload", "app", "version",
                                                              "gateway")), "", ""),
                destination=endpoint(*(row[f"destination_{f}"] for f in (
                    "cluster", "namespace", "workload", "app", "version", "gateway", "service", "service_entry"))),
                protocol=row["protocol"],
                response_code=row["response_code"],
                grpc_status=row["grpc_status"] or None,
                mtls=row["mtls"],
                requests=int(row["sum_requests"]),
                latency_counts=None if tcp else tuple(int(row[f"sum_{c}"]) for c in LATENCY_COLUMNS),
                duration_sum_ms=float(row["sum_duration_sum_ms"]),
                bytes_sent=float(row["sum_bytes_sent"]),
                bytes_received=float(row["sum_bytes_received"]),
                upstream_host=row["upstream_host"] or None,
                unknown_reason=row["unknown_reason"] or None,
                telemetry=NAME,
            )
        )
    return samples
