"""The `accesslogs` telemetry source: traffic rollups written by Envoy access-log ingestion.

Destination-reported rollups (server side, source attributed) are counted; source-reported
ones only for edges no destination reported: requests that reached no workload (503 UO, 404
NR), and workloads without a sidecar. This is Kiali's reporter deduplication.

A workload is in the cluster its last ingest request named (``cluster``), else in the window's
(home) cluster; a request that reached no workload is in its caller's cluster, as Kiali puts a
destination Istio names no cluster for (graph/telemetry/istio/util/util.go HandleDestination).
"""

from django.db.models import Q

from meshview.graph.samples import UNKNOWN, Endpoint, Telemetry, TrafficSample
from meshview.graph.sources import Window
from meshview.mesh import rollups
from meshview.mesh.clusters import PASSTHROUGH_SERVICES
from meshview.mesh.gateways import gateway_kind
from meshview.mesh.models import LATENCY_COLUMNS, Workload

NAME: Telemetry = "accesslogs"


def _rows(window: Window) -> list[dict]:
    where = None
    if window.namespaces:
        names = list(window.namespaces)
        where = (
            Q(source_namespace__in=names)
            | Q(destination_namespace__in=names)
            | Q(destination_service_namespace__in=names)
        )
    return rollups.read(rollups.TRAFFIC, window.start, window.end, where)


def _edge(row: dict) -> tuple:
    """Who called whom: the workload when the request reached one, else the service."""
    reached = row["destination_workload"] != UNKNOWN
    destination = row["destination_workload"] if reached else row["destination_service"]
    return (row["source_namespace"], row["source_workload"], row["destination_namespace"], destination)


def collect(window: Window) -> list[TrafficSample]:
    """Return the samples of the rollups in `window`, one per rollup key."""
    rows = _rows(window)
    # A TCP server side names no service; the client side of the same edge does.
    services = {
        _edge(r): (r["destination_service"], r["destination_service_name"], r["destination_service_namespace"])
        for r in rows
        if r["reporter"] == "source" and r["destination_service"]
    }
    for row in rows:
        if row["reporter"] == "destination" and not row["destination_service"] and _edge(row) in services:
            (row["destination_service"], row["destination_service_name"],
             row["destination_service_namespace"]) = services[_edge(row)]
    reported = {_edge(r) for r in rows if r["reporter"] == "destination"}
    clusters, proxied = _inventory() if rows else ({}, set())
    return [
        _sample(row, window.cluster, clusters, proxied)
        for row in rows
        if row["reporter"] == "destination" or _edge(row) not in reported
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


def _sample(row: dict, home: str, clusters: dict[tuple[str, str], str],
            proxied: set[tuple[str, str]]) -> TrafficSample:
    cluster = clusters.get((row["source_namespace"], row["source_workload"]), home)
    if row["source_workload"] == UNKNOWN:
        source = Endpoint(UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN)
    else:
        source = Endpoint(
            cluster,
            row["source_namespace"],
            row["source_workload"],
            row["source_app"],
            row["source_version"],
            gateway=gateway_kind(row["source_role"]),
        )
    host = row["destination_service"]
    external = bool(host) and not row["destination_service_namespace"] and host not in PASSTHROUGH_SERVICES
    if row["destination_workload"] != UNKNOWN:
        destination = Endpoint(
            clusters.get((row["destination_namespace"], row["destination_workload"]), home),
            row["destination_namespace"],
            row["destination_workload"],
            row["destination_app"],
            row["destination_version"],
            service=row["destination_service_name"],
            missing_sidecar=(row["destination_namespace"], row["destination_workload"]) not in proxied,
        )
    else:
        # Reached no workload: a terminal service node (external hosts are drawn in the caller's namespace).
        destination = Endpoint(
            cluster,
            # Kiali's unknown destination (no service named: no route, no upstream host) is in
            # namespace unknown; an external host is drawn in the caller's namespace.
            (row["destination_service_namespace"] or row["source_namespace"]) if row["destination_service_name"]
            else UNKNOWN,
            UNKNOWN,
            UNKNOWN,
            UNKNOWN,
            service=row["destination_service_name"],
            service_entry="MESH_EXTERNAL" if external else None,
        )
    tcp = row["protocol"] == "tcp"
    return TrafficSample(
        source=source,
        destination=destination,
        protocol=row["protocol"],
        response_code=row["response_code"],
        grpc_status=row["grpc_status"] or None,
        response_flags=row["response_flags"],
        mtls=row["mtls"],
        requests=row["sum_requests"],
        latency_counts=None if tcp else tuple(row[f"sum_{c}"] for c in LATENCY_COLUMNS),
        duration_sum_ms=row["sum_duration_sum_ms"],
        bytes_sent=row["sum_bytes_sent"],
        bytes_received=row["sum_bytes_received"],
        upstream_host=host or None,
        unknown_reason=row["unknown_reason"] or None,
        telemetry=NAME,
    )
