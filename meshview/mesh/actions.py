"""The write path of access-log ingestion: addresses, workloads, twins, settling, rollups.

`record_access_logs` takes one request body's observations and writes them in one transaction
with a handful of bulk statements; any number of web processes may call it at once, since
everything that decides attribution lives in the database, and the answer is sent only after
that transaction committed.

Server-side records whose caller is not known yet wait in `PendingRequest`, written with one
COPY (PostgreSQL) or one executemany (SQLite) per batch, and are settled by set-based
statements whatever their number: the ones whose client-side twin arrives by one
`DELETE ... RETURNING`, the ones whose settle window ended by one `DELETE ... RETURNING` whose
rows are grouped, in the database, by rollup key and source. A record no proxy can have logged
the other side of (a NodePort request, a kubelet probe, a Prometheus scrape) waits without its
request id, for the caller's address alone: a flood of them then costs no index of request
ids. Every traffic row is written by `Rollups.write`, one multi-row upsert per transaction.
"""

import dataclasses
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
from django.conf import settings
from django.db import connection, transaction

from meshview.core.bulk import append_rows
from meshview.core.metrics import INGESTED
from meshview.envoy.parser import LogParser
from meshview.live.broadcast import signal_change
from meshview.mesh import rollups as rollup_tiers
from meshview.mesh.attribution import (
    SERVER,
    UNKNOWN_PEER,
    Observation,
    Peer,
    peer_from_principal,
    unknown_reason,
    unproxied_workload,
)
from meshview.mesh.identity import Reporter, ServiceRef
from meshview.mesh.intake import read_batch
from meshview.mesh.latency import LATENCY_BUCKETS_MS, bucket_index
from meshview.mesh.models import (
    ROLLUP_DIMENSIONS,
    ROLLUP_MEASURES,
    Address,
    PendingRequest,
    RequestTwin,
    Workload,
)
from meshview.mesh.unknown import UNPROXIED_CALLERS

T = TypeVar("T")
ROLLUP_COLUMNS = ROLLUP_DIMENSIONS + ROLLUP_MEASURES
_ROWS_PER_STATEMENT = max(1, 30000 // len(ROLLUP_COLUMNS))  # stay under SQLite's variable limit
_LATENCY_COUNT = len(LATENCY_BUCKETS_MS) + 1
_PENDING_COLUMNS = (
    "request_id",
    "local_ip",
    "remote_ip",
    "shape",
    "duration_ms",
    "bytes_received",
    "bytes_sent",
    "latency_bucket",
    "received_at",
)
_TWIN_COLUMNS = (
    "request_id",
    "upstream_ip",
    "source_namespace",
    "source_workload",
    "source_app",
    "source_version",
    "source_role",
    "received_at",
)
# Settling takes this PostgreSQL advisory lock: one process settles at a time, the others skip.
_SETTLE_LOCK = 0x6D657368
# Writing waiting records (shared) and settling them by twins (exclusive) take this one.
_WAITING_LOCK = 0x6D657369



def settle_seconds() -> float:
    """How long a server-side record waits for its client-side twin before it is attributed
    by address or as unknown (MESHVIEW_SETTLE_SECONDS, default 10)."""
    return float(getattr(settings, "MESHVIEW_SETTLE_SECONDS", 10))


class Rollups:
    """Traffic of one transaction, summed per rollup key in memory before one upsert."""

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

    def add_measures(self, key: tuple, measures: Sequence[int]) -> None:
        """Add requests already summed (`ROLLUP_MEASURES` order) to the row of `key`."""
        row = self.rows.get(key)
        if row is None:
            self.rows[key] = list(measures)
        else:
            for i, value in enumerate(measures):
                row[i] += value

    def write(self) -> None:
        """Add every row to the rollup tiers, to what other batches wrote for the same key."""
        rollup_tiers.write(rollup_tiers.TRAFFIC, self.rows)


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
    client_side: list[Observation] = []
    server_side: list[Observation] = []
    reporters: dict[int, Reporter] = {}
    addresses: dict[str, Reporter] = {}
    asked: set[str] = set()  # the addresses whose owners attribution needs
    for observation in observations:
        reporter = observation.reporter
        reporters[id(reporter)] = reporter
        address = observation.pod_address
        if address:
            addresses[address] = reporter
        if observation.side == SERVER:
            server_side.append(observation)
            asked.add(observation.remote_ip)
        else:
            client_side.append(observation)
            asked.add(observation.upstream_ip)
    for ip, reporter in pod_ips:
        addresses[ip] = reporter
    # Attribution reads the database first and runs in Python outside the transaction, so the
    # transaction (on SQLite, the whole database's write lock) lasts only as long as its writes.
    # What this batch itself teaches (its reporters' addresses and accounts) counts at once.
    owners = {**_address_owners(asked - addresses.keys()), **{ip: Peer.of(r) for ip, r in addresses.items()}}
    rollups = Rollups()
    twins, kept, unreported = _attribute_client_side(client_side, owners, rollups, now)
    waiting = _attribute_server_side(server_side, owners, twins, reporters.values(), rollups, now)
    with transaction.atomic():
        if waiting or twins:
            # Records that start to wait and twins that end a wait must not pass each other in
            # two transactions at once (each unseen by the other until it commits). Taken before
            # any row lock, so that no transaction waits for a row while holding it.
            _lock_waiting_records(exclusive=bool(twins))
        append_rows(RequestTwin._meta.db_table, _TWIN_COLUMNS, kept)
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
        waiting = _still_waiting(waiting, rollups)
        append_rows(PendingRequest._meta.db_table, _PENDING_COLUMNS, waiting)
        if twins and PendingRequest.objects.exists():
            _settle_with_twins(rollups, twins)
        _settle_expired(rollups, now)
        rollups.write()
        # Last: the rows every batch of these reporters updates stay locked only until commit.
        _learn(reporters.values(), addresses, now)
        if rollups.rows:
            signal_change()
    return len(waiting)


def settle_expired(now: float | None = None) -> int:
    """Attribute every server-side record whose settle window has ended and drop twins nobody
    can match any more; return how many records were settled. Run periodically by beat."""
    now = time.time() if now is None else now
    rollups = Rollups()
    with transaction.atomic():
        settled = _settle_expired(rollups, now)
        rollups.write()
        if rollups.rows:
            signal_change()
    return settled


def delete_expired_traffic(now: float | None = None) -> int:
    """Delete traffic rollups, and addresses not seen since, older than
    MESHVIEW_TRAFFIC_RETENTION; return how many rollup rows went."""
    now = time.time() if now is None else now
    cutoff = now - settings.MESHVIEW_TRAFFIC_RETENTION_SECONDS
    with transaction.atomic():
        deleted = rollup_tiers.delete_expired(now)
        Address.objects.filter(last_seen__lt=datetime.fromtimestamp(cutoff, UTC)).delete()
    return deleted


def _learn(reporters: Iterable[Reporter], addresses: dict[str, Reporter], now: float) -> None:
    """Upsert the reporters as workloads and the pod addresses as theirs."""
    moment = datetime.fromtimestamp(now, UTC)
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
            for r in sorted(reporters, key=lambda r: (r.namespace, r.workload))
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


def _matching(column: str, values: Iterable[str]) -> Iterator[tuple[str, list]]:
    """(`column` IN (...) condition, parameters) covering `values`: one `= ANY(array)` on
    PostgreSQL, IN lists small enough for SQLite elsewhere."""
    values = sorted(set(values) - {""})
    if not values:
        return
    if connection.vendor == "postgresql":
        yield f"{column} = ANY(%s)", [values]
        return
    for chunk in _chunks(values):
        yield f"{column} IN ({', '.join(['%s'] * len(chunk))})", chunk


def _address_owners(ips: set[str]) -> dict[str, Peer]:
    owners: dict[str, Peer] = {}
    table = Address._meta.db_table
    with connection.cursor() as cursor:
        for condition, params in _matching("ip", ips):
            cursor.execute(
                f"SELECT ip, namespace, workload, app, version, role FROM {table} WHERE {condition} AND workload <> ''",  # noqa: S608
                params,
            )
            for ip, *peer in cursor.fetchall():
                owners[ip] = Peer(*peer)
    return owners


def _attribute_client_side(
    client_side: Sequence[Observation], owners: dict[str, Peer], rollups: Rollups, now: float
) -> tuple[dict[tuple[str, str], Peer], list[tuple], dict[str, ServiceRef]]:
    """Roll up the client-side records; return their twins, (request id, pod IP it went to) →
    the caller, the rows of the twins to keep, and the reached addresses no workload owns.

    A twin is kept in the database only when the record shows no address of the caller's:
    otherwise the address inventory identifies the caller as well, from any process."""
    twins: dict[tuple[str, str], Peer] = {}
    kept = []
    unreported: dict[str, ServiceRef] = {}
    sources: dict[int, Peer] = {}
    # A destination is a workload, whatever role its proxy plays as a caller.
    destinations = {ip: dataclasses.replace(peer, role="") for ip, peer in owners.items()}
    add = rollups.add
    for observation in client_side:
        reporter = observation.reporter
        source = sources.get(id(reporter))
        if source is None:
            source = sources[id(reporter)] = Peer.of(reporter)
        upstream_ip = observation.upstream_ip
        # The pod the request reached, if the inventory knows it; an endpoint of a mesh service
        # that never wrote a record is a workload without a sidecar; else it reached no workload.
        destination = destinations.get(upstream_ip)
        if destination is None:
            destination = UNKNOWN_PEER
            if upstream_ip and observation.service.namespace:
                unreported[upstream_ip] = observation.service
                destination = unproxied_workload(observation.service)
        add(observation, "source", source, destination)
        if observation.request_id and upstream_ip:
            twins[(observation.request_id, upstream_ip)] = source
            if not observation.pod_address:
                kept.append((observation.request_id, upstream_ip, *dataclasses.astuple(source), now))
    return twins, kept, unreported


def _stored_twins(request_ids: set[str]) -> dict[tuple[str, str], Peer]:
    """Twins other batches kept: (request id, pod IP it went to) → the caller."""
    found: dict[tuple[str, str], Peer] = {}
    table = RequestTwin._meta.db_table
    with connection.cursor() as cursor:
        for condition, params in _matching("request_id", request_ids):
            cursor.execute(
                f"SELECT request_id, upstream_ip, {', '.join(_TWIN_COLUMNS[2:7])} FROM {table} WHERE {condition}",  # noqa: S608
                params,
            )
            for request_id, upstream_ip, *source in cursor.fetchall():
                found[(request_id, upstream_ip)] = Peer(*source)
    return found


def _principal_source(principal: str, accounts: dict[tuple[str, str], Peer]) -> Peer | None:
    """The workload a SPIFFE principal names: one of `accounts` (this batch's reporters by
    namespace and service account), else a workload whose own proxy reported."""
    identity = peer_from_principal(principal)
    if identity is None:
        return None
    if identity in accounts:
        return accounts[identity]
    workload = Workload.objects.filter(
        namespace=identity[0], service_account=identity[1], last_reported__isnull=False
    ).first()
    return Peer(workload.namespace, workload.name, workload.app, workload.version, workload.role) if workload else None


def _attribute_server_side(
    server_side: Sequence[Observation],
    owners: dict[str, Peer],
    twins: dict[tuple[str, str], Peer],
    reporters: Iterable[Reporter],
    rollups: Rollups,
    now: float,
) -> list[tuple]:
    """Roll up the server-side records whose caller is known (peer identity, a twin, the
    caller's address); return the `PendingRequest` rows of the others, which wait."""
    principals: dict[str, Peer | None] = {}
    if any(o.principal for o in server_side):
        accounts = {(r.namespace, r.service_account): Peer.of(r) for r in reporters if r.service_account}
        principals = {o.principal: _principal_source(o.principal, accounts) for o in server_side if o.principal}
    destinations: dict[int, Peer] = {}
    unresolved = []
    add = rollups.add
    for observation in server_side:
        source = (
            (principals.get(observation.principal) if observation.principal else None)
            or (twins.get((observation.request_id, observation.local_ip)) if twins else None)
            or owners.get(observation.remote_ip)
        )
        if source is None:
            unresolved.append(observation)
            continue
        reporter = observation.reporter
        destination = destinations.get(id(reporter))
        if destination is None:
            destination = destinations[id(reporter)] = Peer.of(reporter)
        add(observation, "destination", source, destination)
    shapes: dict[tuple, str] = {}
    return [
        (
            _twin_id(observation),
            observation.local_ip,
            observation.remote_ip,
            _shape(observation, shapes),
            observation.duration_ms,
            observation.bytes_received,
            observation.bytes_sent,
            -1 if observation.protocol == "tcp" else bucket_index(observation.duration_ms),
            now,
        )
        for observation in unresolved
    ]


def _twin_id(observation: Observation) -> str:
    """The request id a waiting record keeps for its client-side twin: none when no proxy can
    have logged that side (a request to a NodePort, a kubelet probe, a Prometheus scrape: its
    unknown reason says so), so that a flood of such records costs no index of request ids."""
    return "" if unknown_reason(observation) in UNPROXIED_CALLERS else observation.request_id


def _lock_waiting_records(exclusive: bool) -> None:
    """Serialise, until the transaction ends, the writers of waiting records (shared, on
    PostgreSQL) with the settling of waiting records by twins (exclusive). On SQLite the
    database's write lock, taken now, serialises every writer."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
            cursor.execute(f"SELECT {function}(%s)", [_WAITING_LOCK])
        else:
            cursor.execute(f"DELETE FROM {PendingRequest._meta.db_table} WHERE 0")  # noqa: S608


def _still_waiting(waiting: list[tuple], rollups: Rollups) -> list[tuple]:
    """Roll up the `PendingRequest` rows whose caller became known since attribution read the
    database (a twin kept by another batch, or the caller's address learned); return the others."""
    if not waiting:
        return waiting
    request_ids = {row[0] for row in waiting if row[0]}
    stored = _stored_twins(request_ids) if request_ids and RequestTwin.objects.exists() else {}
    owners = _address_owners({row[2] for row in waiting})
    if not stored and not owners:
        return waiting
    still = []
    for row in waiting:
        request_id, local_ip, remote_ip, shape, *measures, _ = row
        source = stored.get((request_id, local_ip)) or owners.get(remote_ip)
        if source is None:
            still.append(row)
        else:
            rollups.add_measures(_destination_key(shape, source), _one_request(*measures))
    return still


def _shape(observation: Observation, shapes: dict[tuple, str]) -> str:
    """The JSON `PENDING_SHAPE` of a server-side record, one string per distinct key of a batch."""
    reporter, service = observation.reporter, observation.service
    values = (
        observation.bucket,
        reporter.namespace,
        reporter.workload,
        reporter.app,
        reporter.version,
        service.host,
        service.name,
        service.namespace,
        observation.protocol,
        observation.response_code,
        observation.grpc_status,
        observation.response_flags,
        observation.mtls,
        unknown_reason(observation),
    )
    shape = shapes.get(values)
    if shape is None:
        shape = shapes[values] = orjson.dumps(values).decode()
    return shape


def _destination_key(shape: str, source: Peer | None) -> tuple:
    """The rollup key of a pending record of `shape` whose source is `source` (None: unknown)."""
    bucket, *destination, protocol, code, grpc_status, flags, mtls, reason = orjson.loads(shape)
    peer = source or UNKNOWN_PEER
    return (
        bucket,
        "destination",
        peer.namespace,
        peer.workload,
        peer.app,
        peer.version,
        peer.role,
        *destination,
        protocol,
        code,
        grpc_status,
        flags,
        mtls,
        "" if source is not None else reason,
    )


def _one_request(duration_ms: int, bytes_received: int, bytes_sent: int, latency_bucket: int) -> list[int]:
    measures = [1, duration_ms, bytes_received, bytes_sent] + [0] * _LATENCY_COUNT
    if latency_bucket >= 0:
        measures[4 + latency_bucket] += 1
    return measures


def _settle_with_twins(rollups: Rollups, twins: dict[tuple[str, str], Peer]) -> int:
    """Attribute the pending records whose client-side twin is in `twins` (this batch's)."""
    if not twins:
        return 0
    table = PendingRequest._meta.db_table
    candidates = []
    with connection.cursor() as cursor:
        for condition, params in _matching("request_id", {request_id for request_id, _ in twins}):
            cursor.execute(f"SELECT id, request_id, local_ip FROM {table} WHERE {condition}", params)  # noqa: S608
            candidates += [(pk, twins[(rid, ip)]) for pk, rid, ip in cursor.fetchall() if (rid, ip) in twins]
        if not candidates:
            return 0
        sources = dict(candidates)
        # Whoever deletes a pending record attributes it: two processes settling at once cannot
        # both count the same request.
        for condition, params in _matching("id", sources):
            cursor.execute(
                f"DELETE FROM {table} WHERE {condition} "  # noqa: S608
                "RETURNING id, shape, duration_ms, bytes_received, bytes_sent, latency_bucket",
                params,
            )
            for pk, shape, *measures in cursor.fetchall():
                rollups.add_measures(_destination_key(shape, sources[pk]), _one_request(*measures))
    return len(sources)


_SOURCE_COLUMNS = ("namespace", "workload", "app", "version", "role")
_LATENCY_SUMS = ", ".join(f"SUM(CASE WHEN p.latency_bucket = {i} THEN 1 ELSE 0 END)" for i in range(_LATENCY_COUNT))


def _settle_expired(rollups: Rollups, now: float) -> int:
    """Attribute the pending records whose settle window ended, by their twin, the owner of the
    caller's address, or as unknown, with one statement that deletes them and returns them
    grouped by shape and source; return how many were settled. Also drops twins nobody can
    match any more."""
    pending, twin, address = (model._meta.db_table for model in (PendingRequest, RequestTwin, Address))
    expired = now - settle_seconds()
    source = ", ".join(f"COALESCE(t.source_{c}, a.{c})" for c in _SOURCE_COLUMNS)
    # Only constant identifiers are formatted in; values are parameters.
    joins = (
        f"LEFT JOIN {twin} t ON t.id = (SELECT MIN(x.id) FROM {twin} x "  # noqa: S608
        "WHERE x.request_id = p.request_id AND x.upstream_ip = p.local_ip AND p.request_id <> '') "
        f"LEFT JOIN {address} a ON a.ip = p.remote_ip AND a.workload <> ''"
    )
    grouped = (
        f"SELECT p.shape, {source}, COUNT(*), SUM(p.duration_ms), SUM(p.bytes_received), SUM(p.bytes_sent), "  # noqa: S608
        f"{_LATENCY_SUMS} FROM {{rows}} p {joins} GROUP BY p.shape, 2, 3, 4, 5, 6"
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_SETTLE_LOCK])
            if not cursor.fetchone()[0]:
                return 0  # another process is settling the same records right now
            cursor.execute(
                f"WITH settled AS (DELETE FROM {pending} WHERE received_at <= %s RETURNING *) "  # noqa: S608
                + grouped.format(rows="settled"),
                [expired],
            )
            rows = cursor.fetchall()
        else:
            # SQLite: the first write takes the database's write lock, so no other process can
            # settle or add records between the read and the delete.
            cursor.execute(f"DELETE FROM {pending} WHERE 0")  # noqa: S608
            cursor.execute(
                grouped.format(rows=f"(SELECT * FROM {pending} WHERE received_at <= %s)"),  # noqa: S608
                [expired],
            )
            rows = cursor.fetchall()
            if rows:
                cursor.execute(f"DELETE FROM {pending} WHERE received_at <= %s", [expired])  # noqa: S608
        cursor.execute(f"DELETE FROM {twin} WHERE received_at < %s", [now - 2 * settle_seconds()])  # noqa: S608
    settled = 0
    for shape, namespace, workload, app, version, role, *measures in rows:
        peer = Peer(namespace, workload, app, version, role) if workload is not None else None
        rollups.add_measures(_destination_key(shape, peer), [int(m) for m in measures])
        settled += measures[0]
    return settled
