"""The write path of access-log ingestion: addresses, workloads, twins, settling, rollups.

`record_access_logs` takes one request body's parsed records and writes them in one
transaction with a handful of bulk statements; any number of web processes may call it at
once, since everything that decides attribution lives in the database.
"""

import dataclasses
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection, transaction

from meshview.core.metrics import INGESTED
from meshview.envoy.parser import LogParser
from meshview.live.broadcast import signal_change
from meshview.mesh import rollups
from meshview.mesh.attribution import (
    SERVER,
    UNKNOWN_PEER,
    Observation,
    Peer,
    peer_from_principal,
    unknown_reason,
)
from meshview.mesh.identity import Reporter, ServiceRef
from meshview.mesh.intake import read_batch
from meshview.mesh.latency import bucket_index
from meshview.mesh.models import (
    ROLLUP_DIMENSIONS,
    ROLLUP_MEASURES,
    Address,
    PendingRequest,
    RequestTwin,
    Workload,
)

T = TypeVar("T")
ROLLUP_COLUMNS = ROLLUP_DIMENSIONS + ROLLUP_MEASURES
_ROWS_PER_STATEMENT = max(1, 30000 // len(ROLLUP_COLUMNS))  # stay under SQLite's variable limit


def settle_seconds() -> float:
    """How long a server-side record waits for its client-side twin before it is attributed
    by address or as unknown (MESHVIEW_SETTLE_SECONDS, default 10)."""
    return float(getattr(settings, "MESHVIEW_SETTLE_SECONDS", 10))


class Rollups:
    """Traffic of one batch, summed per rollup key before one upsert."""

    def __init__(self) -> None:
        self.rows: dict[tuple, list[int]] = {}

    def add(self, observation: Observation, reporter: str, source: Peer, destination: Peer, reason: str = "") -> None:
        service = observation.service
        key = (
            observation.bucket,
            reporter,
            source.namespace,
            source.workload,
            source.app,
            source.version,
            source.role,
            destination.namespace,
            destination.workload,
            destination.app,
            destination.version,
            service.host,
            service.name,
            service.namespace,
            observation.protocol,
            observation.response_code,
            observation.grpc_status,
            observation.response_flags,
            observation.mtls,
            reason,
        )
        measures = self.rows.get(key)
        if measures is None:
            measures = self.rows[key] = [0] * len(ROLLUP_MEASURES)
        measures[0] += 1
        measures[1] += observation.duration_ms
        measures[2] += observation.bytes_received
        measures[3] += observation.bytes_sent
        if observation.protocol != "tcp":
            measures[4 + bucket_index(observation.duration_ms)] += 1

    def write(self) -> None:
        """Add every row to the rollup tiers, to what other batches wrote for the same key."""
        rollups.write(rollups.TRAFFIC, self.rows)


def ingest_envoy_lines(
    lines: Sequence[str],
    kind: str,
    parser: LogParser,
    reporter: Reporter | None,
    first_line: int = 1,
    cluster: str = "",
) -> dict[str, Any]:
    """Parse and record one batch of access-log lines (`kind` text or ndjson) whose proxies run
    in `cluster` (empty: the home cluster); return the answer clients get: counts of accepted
    and rejected lines and the first errors."""
    batch = read_batch(
        lines, kind, parser, reporter, int(time.time() * 1000), first_line, settings.MESHVIEW_GATEWAYS, cluster
    )
    record_access_logs(batch.observations, batch.pod_ips)
    INGESTED.labels("envoy", "accepted").inc(len(batch.observations))
    INGESTED.labels("envoy", "rejected").inc(batch.rejected)
    return {"accepted": len(batch.observations), "rejected": batch.rejected, "errors": batch.errors}


def record_access_logs(
    observations: Sequence[Observation], pod_ips: Iterable[tuple[str, Reporter]] = (), now: float | None = None
) -> int:
    """Write one batch of observations; return how many server-side ones wait for their twin.
    Settles every pending record whose twin is in this batch or whose settle window has ended."""
    now = time.time() if now is None else now
    moment = datetime.fromtimestamp(now, UTC)
    rollups = Rollups()
    with transaction.atomic():
        _learn(observations, pod_ips, moment)
        owners = _address_owners(
            {o.upstream_ip for o in observations if o.side != SERVER}
            | {o.remote_ip for o in observations if o.side == SERVER}
        )
        twins = _store_client_side(observations, owners, rollups, now)
        pending = _attribute_server_side(observations, owners, twins, rollups, now)
        _settle(rollups, now, twins)
        rollups.write()
        if rollups.rows:
            signal_change()
    return pending


def settle_expired(now: float | None = None) -> int:
    """Attribute every server-side record whose settle window has ended and drop twins nobody
    can match any more; return how many records were settled. Run periodically by beat."""
    now = time.time() if now is None else now
    rollups = Rollups()
    with transaction.atomic():
        settled = _settle(rollups, now, twins={})
        rollups.write()
        if rollups.rows:
            signal_change()
        RequestTwin.objects.filter(received_at__lt=now - 2 * settle_seconds()).delete()
    return settled


def delete_expired_traffic(now: float | None = None) -> int:
    """Delete traffic rollups past their tier's retention, and addresses not seen within
    MESHVIEW_TRAFFIC_RETENTION; return how many rollup rows went."""
    now = time.time() if now is None else now
    cutoff = now - settings.MESHVIEW_TRAFFIC_RETENTION_SECONDS
    with transaction.atomic():
        deleted = rollups.delete_expired(now)
        Address.objects.filter(last_seen__lt=datetime.fromtimestamp(cutoff, UTC)).delete()
    return deleted


def _learn(observations: Sequence[Observation], pod_ips: Iterable[tuple[str, Reporter]], moment: datetime) -> None:
    reporters: dict[tuple[str, str], Reporter] = {}
    addresses: dict[str, Reporter] = {}
    for observation in observations:
        reporter = observation.reporter
        reporters[(reporter.namespace, reporter.workload)] = reporter
        if observation.pod_address:
            addresses[observation.pod_address] = reporter
    for ip, reporter in pod_ips:
        addresses[ip] = reporter
    Workload.objects.bulk_create(
        [
            Workload(
                namespace=r.namespace,
                name=r.workload,
                app=r.app,
                version=r.version,
                service_account=r.service_account,
                role=r.role,
                cluster=r.cluster,
                first_seen=moment,
                last_seen=moment,
                last_reported=moment,
            )
            for _, r in sorted(reporters.items())
        ],
        update_conflicts=True,
        unique_fields=["namespace", "name"],
        update_fields=["app", "version", "role", "cluster", "last_seen", "last_reported"],
    )
    Address.objects.bulk_create(
        [
            Address(
                ip=ip,
                namespace=r.namespace,
                workload=r.workload,
                app=r.app,
                version=r.version,
                role=r.role,
                last_seen=moment,
            )
            for ip, r in sorted(addresses.items())
        ],
        update_conflicts=True,
        unique_fields=["ip"],
        update_fields=["namespace", "workload", "app", "version", "role", "last_seen"],
    )


def _chunks(items: list[T], size: int = 500) -> Iterator[list[T]]:
    """`items` in slices small enough for one IN (...) list on any database."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _address_owners(ips: set[str]) -> dict[str, Peer]:
    ips.discard("")
    owners: dict[str, Peer] = {}
    for chunk in _chunks(sorted(ips)):
        for a in Address.objects.filter(ip__in=chunk).exclude(workload=""):
            owners[a.ip] = Peer(a.namespace, a.workload, a.app, a.version, a.role)
    return owners


def _store_client_side(
    observations: Sequence[Observation], owners: dict[str, Peer], rollups: Rollups, now: float
) -> dict[tuple[str, str], Peer]:
    """Roll up the client-side records; return their twins, (request id, pod IP it went to) →
    the caller. A twin is kept in the database only when the record shows no address of the
    caller's: otherwise the address inventory identifies the caller as well, from any process."""
    twins: dict[tuple[str, str], Peer] = {}
    kept = []
    unreported: dict[str, ServiceRef] = {}
    # A destination is a workload, whatever role its proxy plays as a caller.
    destinations = {ip: dataclasses.replace(peer, role="") for ip, peer in owners.items()}
    for observation in observations:
        if observation.side == SERVER:
            continue
        source = Peer.of(observation.reporter)
        # The pod the request reached, if the inventory knows it; else it reached no workload.
        destination = destinations.get(observation.upstream_ip, UNKNOWN_PEER)
        if destination is UNKNOWN_PEER and observation.upstream_ip and observation.service.namespace:
            unreported[observation.upstream_ip] = observation.service
        rollups.add(observation, "source", source, destination)
        if observation.request_id and observation.upstream_ip:
            twins[(observation.request_id, observation.upstream_ip)] = source
            if not observation.pod_address:
                kept.append(
                    RequestTwin(
                        request_id=observation.request_id,
                        upstream_ip=observation.upstream_ip,
                        source_namespace=source.namespace,
                        source_workload=source.workload,
                        source_app=source.app,
                        source_version=source.version,
                        source_role=source.role,
                        received_at=now,
                    )
                )
    RequestTwin.objects.bulk_create(kept, batch_size=500)
    # An endpoint that was reached but never wrote a record has no proxy: note its address
    # (without a workload) so /api/v1/workloads can flag the service as missing its sidecar.
    moment = datetime.fromtimestamp(now, UTC)
    Address.objects.bulk_create(
        [
            Address(ip=ip, namespace=s.namespace, workload="", app=s.name, last_seen=moment)
            for ip, s in sorted(unreported.items())
        ],
        ignore_conflicts=True,
    )
    return twins


def _stored_twins(request_ids: set[str]) -> dict[tuple[str, str], Peer]:
    """Twins other batches kept: (request id, pod IP it went to) → the caller."""
    found: dict[tuple[str, str], Peer] = {}
    for chunk in _chunks(sorted(request_ids - {""})):
        for t in RequestTwin.objects.filter(request_id__in=chunk):
            found[(t.request_id, t.upstream_ip)] = Peer(
                t.source_namespace, t.source_workload, t.source_app, t.source_version, t.source_role
            )
    return found


def _principal_source(principal: str) -> Peer | None:
    identity = peer_from_principal(principal)
    if identity is None:
        return None
    workload = Workload.objects.filter(
        namespace=identity[0], service_account=identity[1], last_reported__isnull=False
    ).first()
    return Peer(workload.namespace, workload.name, workload.app, workload.version, workload.role) if workload else None


def _attribute_server_side(
    observations: Sequence[Observation],
    owners: dict[str, Peer],
    twins: dict[tuple[str, str], Peer],
    rollups: Rollups,
    now: float,
) -> int:
    """Roll up the server-side records whose caller is known (peer identity, a twin, the
    caller's address); keep the others pending. Return how many wait."""
    server_side = [o for o in observations if o.side == SERVER]
    principals = {o.principal: _principal_source(o.principal) for o in server_side if o.principal}
    unresolved = []
    for observation in server_side:
        source = (
            principals.get(observation.principal)
            or twins.get((observation.request_id, observation.local_ip))
            or owners.get(observation.remote_ip)
        )
        if source is not None:
            rollups.add(observation, "destination", source, Peer.of(observation.reporter))
        else:
            unresolved.append(observation)
    stored = _stored_twins({o.request_id for o in unresolved})
    waiting = []
    for observation in unresolved:
        source = stored.get((observation.request_id, observation.local_ip))
        if source is not None:
            rollups.add(observation, "destination", source, Peer.of(observation.reporter))
        else:
            waiting.append(
                PendingRequest(request_id=observation.request_id, observation=_dump(observation), received_at=now)
            )
    PendingRequest.objects.bulk_create(waiting, batch_size=500)
    return len(waiting)


def _settle(rollups: Rollups, now: float, twins: dict[tuple[str, str], Peer]) -> int:
    """Attribute pending records whose twin is in `twins` (this batch's) or stored, and those
    whose settle window ended (by the caller's address, or as unknown)."""
    expired = now - settle_seconds()
    candidates = list(PendingRequest.objects.filter(received_at__lte=expired).values_list("id", flat=True))
    for chunk in _chunks(sorted({request_id for request_id, _ in twins})):
        candidates += PendingRequest.objects.filter(request_id__in=chunk).values_list("id", flat=True)
    if not candidates:
        return 0
    pending = {p.pk: p for p in PendingRequest.objects.filter(pk__in=set(candidates))}
    observations = {pk: _load(p.observation) for pk, p in pending.items()}
    known = {**_stored_twins({o.request_id for o in observations.values()}), **twins}
    owners = _address_owners({o.remote_ip for o in observations.values()})
    decided: dict[int, tuple[Observation, Peer, str]] = {}
    for pk, observation in observations.items():
        source = known.get((observation.request_id, observation.local_ip))
        if source is None and pending[pk].received_at <= expired:
            source = owners.get(observation.remote_ip)
            if source is None:
                decided[pk] = (observation, UNKNOWN_PEER, unknown_reason(observation))
                continue
        if source is not None:
            decided[pk] = (observation, source, "")
    # Whoever deletes a pending record attributes it: two processes settling at once cannot
    # both count the same request.
    won = _delete_returning(sorted(decided))
    for pk in won:
        observation, source, reason = decided[pk]
        rollups.add(observation, "destination", source, Peer.of(observation.reporter), reason)
    return len(won)


def _delete_returning(ids: list[int]) -> list[int]:
    table = PendingRequest._meta.db_table
    won: list[int] = []
    with connection.cursor() as cursor:
        for chunk in _chunks(ids):
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(f"DELETE FROM {table} WHERE id IN ({marks}) RETURNING id", chunk)  # noqa: S608
            won += [row[0] for row in cursor.fetchall()]
    return won


def _dump(observation: Observation) -> dict[str, Any]:
    data = {name: getattr(observation, name) for name in Observation.__slots__}
    data["reporter"] = {name: getattr(observation.reporter, name) for name in Reporter.__slots__}
    data["service"] = {name: getattr(observation.service, name) for name in ServiceRef.__slots__}
    return data


def _load(data: dict[str, Any]) -> Observation:
    return Observation(
        **{
            **data,
            "reporter": Reporter(**data["reporter"]),
            "service": ServiceRef(**data["service"]),
        }
    )
