"""The `accesslogs` telemetry source: traffic rollups written by Envoy access-log ingestion.

Destination-reported rollups (server side, source attributed) are counted; source-reported
ones only for edges no destination reported: requests that reached no workload (503 UO, 404
NR), and workloads without a sidecar. This is Kiali's reporter deduplication.

A workload is in the cluster its last ingest request named (``cluster``), else in the window's
(home) cluster; a request that reached no workload is in its caller's cluster, as Kiali puts a
destination Istio names no cluster for (graph/telemetry/istio/util/util.go HandleDestination).
"""

from django.db.models import Q

from meshview.graph.samples import UNKNOWN, UNKNOWN_SOURCE, Endpoint, Telemetry, TrafficSample
from meshview.graph.sources import Window
from meshview.mesh import rollups
from meshview.mesh.clusters import PASSTHROUGH_SERVICES
from meshview.mesh.gateways import gateway_kind
from meshview.mesh.models import LATENCY_COLUMNS, ROLLUP_DIMENSIONS, Workload

NAME: Telemetry = "accesslogs"


# Column positions in the rows `_rows` reads: the dimensions, then the measures (_COUNTS, then
# _LATENCY when the window asks for latency).
_DIMENSIONS = ROLLUP_DIMENSIONS[1:]  # all but the bucket
(_REPORTER, _SOURCE_NAMESPACE, _SOURCE_WORKLOAD, _SOURCE_APP, _SOURCE_VERSION, _SOURCE_ROLE, _NAMESPACE, _WORKLOAD,
 _APP, _VERSION, _SERVICE, _SERVICE_NAME, _SERVICE_NAMESPACE, _PROTOCOL, _CODE, _GRPC_STATUS, _FLAGS, _MTLS,
 _UNKNOWN_REASON, _REQUESTS, _BYTES_RECEIVED, _BYTES_SENT, _DURATION_SUM) = range(len(_DIMENSIONS) + 4)
_COUNTS = ("requests", "bytes_received", "bytes_sent")
_LATENCY = ("duration_sum_ms", *LATENCY_COLUMNS)  # the histogram's counts follow the sum


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
    edges = [_edge(r) for r in rows]
    # A TCP server side names no service; the client side of the same edge does.
    services = {
        edge: (r[_SERVICE], r[_SERVICE_NAME], r[_SERVICE_NAMESPACE])
        for r, edge in zip(rows, edges, strict=True)
        if r[_REPORTER] == "source" and r[_SERVICE]
    }
    if services:
        for i, (row, edge) in enumerate(zip(rows, edges, strict=True)):
            named = services.get(edge) if row[_REPORTER] == "destination" and not row[_SERVICE] else None
            if named is not None:
                rows[i] = (*row[:_SERVICE], *named, *row[_SERVICE_NAMESPACE + 1 :])
                edges[i] = _edge(rows[i])
    reported = {edge for r, edge in zip(rows, edges, strict=True) if r[_REPORTER] == "destination"}
    clusters, proxied = _inventory() if rows else ({}, set())
    sample = _Samples(window.cluster, clusters, proxied)
    return [
        sample(row) for row, edge in zip(rows, edges, strict=True)
        if row[_REPORTER] == "destination" or edge not in reported
    ]


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
    them): the endpoints of a row depend only on its source columns and its destination
    columns, by which they are kept."""

    def __init__(self, home: str, clusters: dict[tuple[str, str], str], proxied: set[tuple[str, str]]) -> None:
        self.home, self.clusters, self.proxied = home, clusters, proxied
        self.sources: dict[tuple, Endpoint] = {}
        self.destinations: dict[tuple, Endpoint] = {}

    def _source(self, row: tuple) -> Endpoint:
        namespace, workload, app, version, role = row[_SOURCE_NAMESPACE : _SOURCE_ROLE + 1]
        if workload == UNKNOWN:
            return UNKNOWN_SOURCE
        cluster = self.clusters.get((namespace, workload), self.home)
        return Endpoint(cluster, namespace, workload, app, version, "", gateway_kind(role))

    def _destination(self, row: tuple) -> Endpoint:
        namespace, workload, app, version, host, service, service_namespace = row[_NAMESPACE : _SERVICE_NAMESPACE + 1]
        if workload != UNKNOWN:
            return Endpoint(self.clusters.get((namespace, workload), self.home), namespace, workload, app, version,
                            service, None, "", None, (namespace, workload) not in self.proxied)
        # Reached no workload: a terminal service node in its caller's cluster. Kiali's unknown
        # destination (no service named: no route, no upstream host) is in namespace unknown;
        # an external host is drawn in the caller's namespace.
        cluster = self.clusters.get((row[_SOURCE_NAMESPACE], row[_SOURCE_WORKLOAD]), self.home)
        external = bool(host) and not service_namespace and host not in PASSTHROUGH_SERVICES
        namespace = (service_namespace or row[_SOURCE_NAMESPACE]) if service else UNKNOWN
        return Endpoint(cluster, namespace, UNKNOWN, UNKNOWN, UNKNOWN, service, None, "",
                        "MESH_EXTERNAL" if external else None)

    def __call__(self, row: tuple) -> TrafficSample:
        identity = row[_SOURCE_NAMESPACE : _SOURCE_ROLE + 1]
        source = self.sources.get(identity)
        if source is None:
            source = self.sources[identity] = self._source(row)
        # A destination that reached no workload takes its caller's cluster and namespace.
        identity = row[_NAMESPACE : _SERVICE_NAMESPACE + 1] if row[_WORKLOAD] != UNKNOWN else row[:_PROTOCOL]
        destination = self.destinations.get(identity)
        if destination is None:
            destination = self.destinations[identity] = self._destination(row)
        protocol = row[_PROTOCOL]
        latency = len(row) > _DURATION_SUM
        return TrafficSample(
            source=source,
            destination=destination,
            protocol=protocol,
            response_code=row[_CODE],
            grpc_status=row[_GRPC_STATUS] or None,
            response_flags=row[_FLAGS],
            mtls=bool(row[_MTLS]),
            requests=row[_REQUESTS],
            latency_counts=row[_DURATION_SUM + 1 :] if latency and protocol != "tcp" else None,
            duration_sum_ms=row[_DURATION_SUM] if latency else 0.0,
            bytes_sent=row[_BYTES_SENT],
            bytes_received=row[_BYTES_RECEIVED],
            upstream_host=row[_SERVICE] or None,
            unknown_reason=row[_UNKNOWN_REASON] or None,
            telemetry=NAME,
        )
