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


_COUNTS = ("requests", "bytes_received", "bytes_sent")
_LATENCY = ("duration_sum_ms", *LATENCY_COLUMNS)


def _rows(window: Window) -> list[tuple[Any, ...]]:
    """The window's rollup rows summed per key (the dimensions but the bucket, then the
    measures: the counts, and the latency when `window.latency` asks for it), the waiting
    callers added in."""
    where = None
    if window.namespaces:
        names = list(window.namespaces)
        where = Q(source_namespace__in=names) | Q(destination_namespace__in=names)
    measures = _COUNTS + _LATENCY if window.latency else _COUNTS
    rows = rollups.read(rollups.SPANS, window.start, window.end, where, measures=measures)
    first, end = (ceil(t / rollups.BUCKET_SECONDS) * rollups.BUCKET_SECONDS for t in (window.start, window.end))
    waiting = pairing.waiting_callers(first * 10**9, end * 10**9).requests
    if not waiting:
        return rows
    positions = [SPAN_ROLLUP_MEASURES.index(m) for m in measures]
    namespaces = (_DIMENSIONS.index("source_namespace"), _DIMENSIONS.index("destination_namespace"))
    merged = {row[: len(_DIMENSIONS)]: list(row[len(_DIMENSIONS) :]) for row in rows}
    for key, all_measures in waiting.items():
        dimensions = key[1:]
        if window.namespaces and not {dimensions[i] for i in namespaces} & window.namespaces:
            continue
        values = [all_measures[i] for i in positions]
        found = merged.get(dimensions)
        if found is None:
            merged[dimensions] = values
        else:
            merged[dimensions] = [a + b for a, b in zip(found, values, strict=True)]
    return [(*dimensions, *values) for dimensions, values in merged.items()]


def collect(window: Window) -> list[TrafficSample]:
    """Return the samples of the requests whose caller's span ended in the window's 10-second
    buckets, one per source, destination, protocol, response code, gRPC status, mTLS,
    addressed host and unknown reason; only edges with an end in ``window.namespaces`` when it
    is not empty; with latency histograms when ``window.latency`` asks for them. Raises
    django.db.DatabaseError when the rollups cannot be read."""
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
        (source_cluster, source_namespace, source_workload, source_app, source_version, source_gateway,
         destination_cluster, destination_namespace, destination_workload, destination_app, destination_version,
         destination_gateway, destination_service, destination_service_entry, upstream_host, protocol,
         response_code, grpc_status, mtls, unknown_reason) = row[: len(_DIMENSIONS)]
        requests, bytes_received, bytes_sent = row[len(_DIMENSIONS) : len(_DIMENSIONS) + 3]
        latency = row[len(_DIMENSIONS) + 3 :]
        tcp = protocol == "tcp"
        samples.append(
            TrafficSample(
                source=endpoint(source_cluster, source_namespace, source_workload, source_app, source_version,
                                source_gateway, "", ""),
                destination=endpoint(destination_cluster, destination_namespace, destination_workload,
                                     destination_app, destination_version, destination_gateway, destination_service,
                                     destination_service_entry),
                protocol=protocol,
                response_code=response_code,
                grpc_status=grpc_status or None,
                mtls=bool(mtls),
                requests=int(requests),
                latency_counts=None if tcp or not latency else tuple(int(c) for c in latency[1:]),
                duration_sum_ms=float(latency[0]) if latency else 0.0,
                bytes_sent=float(bytes_sent),
                bytes_received=float(bytes_received),
                upstream_host=upstream_host or None,
                unknown_reason=unknown_reason or None,
                telemetry=NAME,
            )
        )
    return samples
