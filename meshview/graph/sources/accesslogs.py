"""The `accesslogs` telemetry source: traffic rollups written by Envoy access-log ingestion.

Destination-reported rollups (server side, source attributed) are counted; source-reported
ones only for edges no destination reported: requests that reached no workload (503 UO, 404
NR), and workloads without a sidecar. This is Kiali's reporter deduplication.

A workload is in the cluster its last ingest request named (``cluster``), else in the window's
(home) cluster; a request that reached no workload is in its caller's cluster, as Kiali puts a
destination Istio names no cluster for (graph/telemetry/istio/util/util.go HandleDestination).
"""

from typing import Any

from django.db.models import Q

from meshview.graph.samples import UNKNOWN, UNKNOWN_SOURCE, Endpoint, Telemetry, TrafficSample
from meshview.graph.sources import Window
from meshview.mesh import rollups
from meshview.mesh.clusters import PASSTHROUGH_SERVICES
from meshview.mesh.gateways import gateway_kind
from meshview.mesh.models import LATENCY_COLUMNS, ROLLUP_DIMENSIONS, Workload

NAME: Telemetry = "accesslogs"


# Column positions in the rows `_rows` reads: the dimensions, then the measures.
_DIMENSIONS = ROLLUP_DIMENSIONS[1:]  # all but the bucket
(_REPORTER, _SOURCE_NAMESPACE, _SOURCE_WORKLOAD, _SOURCE_APP, _SOURCE_VERSION, _SOURCE_ROLE, _NAMESPACE, _WORKLOAD,
 _APP, _VERSION, _SERVICE, _SERVICE_NAME, _SERVICE_NAMESPACE, _PROTOCOL, _CODE, _GRPC_STATUS, _FLAGS, _MTLS,
 _UNKNOWN_REASON) = range(len(_DIMENSIONS))
_COUNTS = ("requests", "bytes_received", "bytes_sent")
_LATENCY = ("duration_sum_ms", *LATENCY_COLUMNS)


def _rows(window: Window) -> list[tuple]:
    where = None
    if window.namespaces:
        names = list(window.namespaces)
        where = (
            Q(source_namespace__in=names)
            | Q(destination_namespace__in=names)
            | Q(destination_service_namespace__in=names)
        )
    measures = _COUNTS + _LATENCY if window.latency else _COUNTS
    return rollups.read(rollups.TRAFFIC, window.start, window.end, where, measures=measures)


def _edge(row: tuple) -> tuple:
    """Who called whom: the workload when the request reached one, else the service."""
    destination = row[_WORKLOAD] if row[_WORKLOAD] != UNKNOWN else row[_SERVICE]
    return (row[_SOURCE_NAMESPACE], row[_SOURCE_WORKLOAD], row[_NAMESPACE], destination)


def collect(window: Window) -> list[TrafficSample]:
    """Return the samples of the rollups in `window`, one per rollup key; with latency
    histograms when `window.latency` asks for them."""
    rows = _rows(window)
    # A TCP server side names no service; the client side of the same edge does.
    services = {
        _edge(r): (r[_SERVICE], r[_SERVICE_NAME], r[_SERVICE_NAMESPACE])
        for r in rows
        if r[_REPORTER] == "source" and r[_SERVICE]
    }
    if services:
        rows = [_named_service(row, services) for row in rows]
    reported = {_edge(r) for r in rows if r[_REPORTER] == "destination"}
    clusters, proxied = _inventory() if rows else ({}, set())
    sample = _Samples(window.cluster, clusters, proxied)
    return [sample(row) for row in rows if row[_REPORTER] == "destination" or _edge(row) not in reported]


def _named_service(row: tuple, services: dict[tuple, tuple]) -> tuple:
    """`row`, its service taken from the client side of its edge when its server side names none."""
    if row[_REPORTER] != "destination" or row[_SERVICE]:
        return row
    named = services.get(_edge(row))
    return row if named is None else (*row[:_SERVICE], *named, *row[_SERVICE_NAMESPACE + 1 :])


def _inventory() -> tuple[dict[tuple[str, str], str], set[tuple[str, str]]]:
    """(namespace, workload) -> cluster, of the workloads an ingest request named a cluster for;
    and the (namespace, workload) of those whose proxy wrote records. A workload the traffic
    reached that never wrote one runs without a sidecar (``mesh.attribution.unproxied_workload``)."""
    clusters, proxied = {}, set()
    for ns, name, cluster, reported in Workload.objects.values_list("namespace", "name", "cluster", "last_reported"):
        if cluster:
            clusters[(ns, name)] = cluster
        if reported is not None:
            proxied.add((ns, name))
    return clusters, proxied


class _Samples:
    """Turns rollup rows into samples, sharing one Endpoint per identity (the engine caches by
    them)."""

    def __init__(self, home: str, clusters: dict[tuple[str, str], str], proxied: set[tuple[str, str]]) -> None:
        self.home, self.clusters, self.proxied = home, clusters, proxied
        self.endpoints: dict[tuple, Endpoint] = {}

    def _endpoint(self, *fields: Any) -> Endpoint:
        found = self.endpoints.get(fields)
        if found is None:
            found = self.endpoints[fields] = Endpoint(*fields)
        return found

    def __call__(self, row: tuple) -> TrafficSample:
        home, clusters = self.home, self.clusters
        cluster = clusters.get((row[_SOURCE_NAMESPACE], row[_SOURCE_WORKLOAD]), home)
        if row[_SOURCE_WORKLOAD] == UNKNOWN:
            source = UNKNOWN_SOURCE
        else:
            source = self._endpoint(cluster, row[_SOURCE_NAMESPACE], row[_SOURCE_WORKLOAD], row[_SOURCE_APP],
                                    row[_SOURCE_VERSION], "", gateway_kind(row[_SOURCE_ROLE]))
        host = row[_SERVICE]
        if row[_WORKLOAD] != UNKNOWN:
            workload = (row[_NAMESPACE], row[_WORKLOAD])
            destination = self._endpoint(clusters.get(workload, home), *workload, row[_APP], row[_VERSION],
                                         row[_SERVICE_NAME], None, "", None, workload not in self.proxied)
        else:
            # Reached no workload: a terminal service node. Kiali's unknown destination (no
            # service named: no route, no upstream host) is in namespace unknown; an external
            # host is drawn in the caller's namespace.
            external = bool(host) and not row[_SERVICE_NAMESPACE] and host not in PASSTHROUGH_SERVICES
            namespace = (row[_SERVICE_NAMESPACE] or row[_SOURCE_NAMESPACE]) if row[_SERVICE_NAME] else UNKNOWN
            destination = self._endpoint(cluster, namespace, UNKNOWN, UNKNOWN, UNKNOWN, row[_SERVICE_NAME], None, "",
                                         "MESH_EXTERNAL" if external else None)
        requests, bytes_received, bytes_sent = row[len(_DIMENSIONS):len(_DIMENSIONS) + 3]
        latency = row[len(_DIMENSIONS) + 3:]
        tcp = row[_PROTOCOL] == "tcp"
        return TrafficSample(
            source=source,
            destination=destination,
            protocol=row[_PROTOCOL],
            response_code=row[_CODE],
            grpc_status=row[_GRPC_STATUS] or None,
            response_flags=row[_FLAGS],
            mtls=bool(row[_MTLS]),
            requests=requests,
            latency_counts=None if tcp or not latency else tuple(latency[1:]),
            duration_sum_ms=latency[0] if latency else 0.0,
            bytes_sent=bytes_sent,
            bytes_received=bytes_received,
            upstream_host=host or None,
            unknown_reason=row[_UNKNOWN_REASON] or None,
            telemetry=NAME,
        )
