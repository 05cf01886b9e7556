"""The mesh as its access logs show it: workloads, their addresses, traffic rollups, and the
requests whose two sides are still being matched."""

from django.db import models

from meshview.mesh.latency import LATENCY_BUCKETS_MS


class Workload(models.Model):
    """A workload that wrote access logs (it has a proxy) or was seen as a destination."""

    namespace = models.CharField(max_length=253)
    name = models.CharField(max_length=253)
    app = models.CharField(max_length=253, blank=True)
    version = models.CharField(max_length=253, blank=True)
    service_account = models.CharField(max_length=253, blank=True)
    role = models.CharField(max_length=32, blank=True, help_text="sidecar, ingress-gateway or egress-gateway")
    cluster = models.CharField(
        max_length=253, blank=True, default="", help_text="the cluster its last ingest request named (empty: home)"
    )
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    last_reported = models.DateTimeField(null=True, help_text="when its own proxy last wrote a record")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["namespace", "name"], name="mesh_workload_unique")]

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


class Address(models.Model):
    """The address inventory: which workload a pod IP belonged to when last seen."""

    ip = models.CharField(max_length=45, unique=True)
    namespace = models.CharField(max_length=253)
    workload = models.CharField(max_length=253)
    app = models.CharField(max_length=253, blank=True)
    version = models.CharField(max_length=253, blank=True)
    role = models.CharField(max_length=32, blank=True)
    last_seen = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.ip} → {self.namespace}/{self.workload}"


class RequestTwin(models.Model):
    """A client-side record, kept for the settle window so the server side of the same request
    (same x-request-id, sent to the pod at `upstream_ip`) can learn its source."""

    request_id = models.CharField(max_length=128, db_index=True)
    upstream_ip = models.CharField(max_length=45)
    source_namespace = models.CharField(max_length=253)
    source_workload = models.CharField(max_length=253)
    source_app = models.CharField(max_length=253, blank=True)
    source_version = models.CharField(max_length=253, blank=True)
    source_role = models.CharField(max_length=32, blank=True)
    received_at = models.FloatField(db_index=True, help_text="unix seconds")

    def __str__(self) -> str:
        return f"{self.request_id} from {self.source_namespace}/{self.source_workload}"


class PendingRequest(models.Model):
    """A server-side record whose source is not known yet; settled when its twin arrives or the
    settle window ends, by a few set-based statements (`meshview.mesh.actions`).

    It keeps what matching needs (the request id, the pod it reached, the caller's address) and
    everything of its rollup row but the source: `shape` is the JSON list `PENDING_SHAPE` names,
    shared by every record of a batch with the same key, and the measures of this one request.
    """

    request_id = models.CharField(max_length=128, db_index=True)
    local_ip = models.CharField(max_length=45, help_text="the reporter's pod IP: a twin's upstream_ip")
    remote_ip = models.CharField(max_length=45, help_text="the caller's address")
    shape = models.TextField(help_text="JSON list of the PENDING_SHAPE values")
    duration_ms = models.BigIntegerField()
    bytes_received = models.BigIntegerField()
    bytes_sent = models.BigIntegerField()
    latency_bucket = models.SmallIntegerField(help_text="index of the duration's histogram bucket; -1 for TCP")
    received_at = models.FloatField(db_index=True, help_text="unix seconds")

    def __str__(self) -> str:
        return f"pending {self.request_id or self.pk}"


ROLLUP_DIMENSIONS = (
    "bucket",
    "reporter",
    "source_namespace",
    "source_workload",
    "source_app",
    "source_version",
    "source_role",
    "destination_namespace",
    "destination_workload",
    "destination_app",
    "destination_version",
    "destination_service",
    "destination_service_name",
    "destination_service_namespace",
    "protocol",
    "response_code",
    "grpc_status",
    "response_flags",
    "mtls",
    "unknown_reason",
)
LATENCY_COLUMNS = tuple(f"latency_{i}" for i in range(len(LATENCY_BUCKETS_MS) + 1))
ROLLUP_MEASURES = ("requests", "duration_sum_ms", "bytes_received", "bytes_sent", *LATENCY_COLUMNS)
# A pending record's rollup key without its source (and without the reporter, `destination`).
PENDING_SHAPE = (
    "bucket",
    "destination_namespace",
    "destination_workload",
    "destination_app",
    "destination_version",
    "destination_service",
    "destination_service_name",
    "destination_service_namespace",
    "protocol",
    "response_code",
    "grpc_status",
    "response_flags",
    "mtls",
    "unknown_reason",
)


class TrafficKey(models.Model):
    """One edge and outcome of access-log traffic, stored once: the dimensions every rollup row
    of it shares, in every bucket and tier (rows name it by id).

    `reporter` is `destination` for server-side records (source attributed) and `source` for
    client-side ones; the graph prefers destination-reported traffic, as Kiali does, and uses
    source-reported traffic only where no destination reported the edge.
    """

    id = models.BigIntegerField(primary_key=True, help_text="hashed from the dimensions (meshview.mesh.rollups.key_id)")
    reporter = models.CharField(max_length=12)
    source_namespace = models.CharField(max_length=253)
    source_workload = models.CharField(max_length=253)
    source_app = models.CharField(max_length=253)
    source_version = models.CharField(max_length=253)
    source_role = models.CharField(max_length=32)
    destination_namespace = models.CharField(max_length=253)
    destination_workload = models.CharField(max_length=253)
    destination_app = models.CharField(max_length=253)
    destination_version = models.CharField(max_length=253)
    destination_service = models.CharField(max_length=253)
    destination_service_name = models.CharField(max_length=253)
    destination_service_namespace = models.CharField(max_length=253)
    protocol = models.CharField(max_length=8)
    response_code = models.IntegerField()
    grpc_status = models.CharField(max_length=8)
    response_flags = models.CharField(max_length=128)
    mtls = models.BooleanField()
    unknown_reason = models.CharField(max_length=32)

    class Meta:
        db_table = "mesh_traffic_key"

    def __str__(self) -> str:
        return f"{self.reporter}: {self.source_workload} → {self.destination_service or self.destination_workload}"


class TrafficEdge(models.Model):
    """Requests of one edge and outcome (`key`) in one bucket of one tier, as Istio's metrics
    would count them. `latency_i` counts requests in Istio's duration bucket i
    (`meshview.mesh.latency`), the last one +Inf."""

    bucket = models.BigIntegerField(help_text="bucket start, unix seconds")
    key = models.ForeignKey(TrafficKey, models.DO_NOTHING, db_constraint=False, related_name="+")
    requests = models.BigIntegerField()
    duration_sum_ms = models.BigIntegerField()
    bytes_received = models.BigIntegerField()
    bytes_sent = models.BigIntegerField()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.key_id} @ {self.bucket}: {self.requests}"


for _column in LATENCY_COLUMNS:
    TrafficEdge.add_to_class(_column, models.BigIntegerField(default=0))


class TrafficRollup(TrafficEdge):
    """Access-log traffic per 10-second bucket (the finest tier)."""

    class Meta:
        db_table = "mesh_traffic_rollup"
        constraints = [models.UniqueConstraint(fields=["bucket", "key"], name="mesh_traffic_rollup_key")]


class TrafficRollupMinute(TrafficEdge):
    """Access-log traffic per 1-minute bucket, rolled up from the 10-second tier."""

    class Meta:
        db_table = "mesh_traffic_rollup_1m"
        constraints = [models.UniqueConstraint(fields=["bucket", "key"], name="mesh_traffic_rollup_1m_key")]


class TrafficRollupTenMinutes(TrafficEdge):
    """Access-log traffic per 10-minute bucket, rolled up from the 1-minute tier."""

    class Meta:
        db_table = "mesh_traffic_rollup_10m"
        constraints = [models.UniqueConstraint(fields=["bucket", "key"], name="mesh_traffic_rollup_10m_key")]


class TrafficRollupHour(TrafficEdge):
    """Access-log traffic per 1-hour bucket, rolled up from the 10-minute tier."""

    class Meta:
        db_table = "mesh_traffic_rollup_1h"
        constraints = [models.UniqueConstraint(fields=["bucket", "key"], name="mesh_traffic_rollup_1h_key")]


class TrafficRollupDay(TrafficEdge):
    """Access-log traffic per day (UTC), rolled up from the 1-hour tier."""

    class Meta:
        db_table = "mesh_traffic_rollup_1d"
        constraints = [models.UniqueConstraint(fields=["bucket", "key"], name="mesh_traffic_rollup_1d_key")]


# The requests that spans show, by the identities of the graph's nodes (`meshview.traces.traffic`).
SPAN_ROLLUP_DIMENSIONS = (
    "bucket",
    "source_cluster",
    "source_namespace",
    "source_workload",
    "source_app",
    "source_version",
    "source_gateway",
    "destination_cluster",
    "destination_namespace",
    "destination_workload",
    "destination_app",
    "destination_version",
    "destination_gateway",
    "destination_service",
    "destination_service_entry",
    "upstream_host",
    "protocol",
    "response_code",
    "grpc_status",
    "mtls",
    "unknown_reason",
)
SPAN_ROLLUP_MEASURES = ("requests", "duration_sum_ms", "bytes_received", "bytes_sent", *LATENCY_COLUMNS)


class SpanKey(models.Model):
    """One source, destination and outcome of the requests spans show, stored once. Empty
    strings stand for "none": no gateway, no service entry, no addressed host, no gRPC status,
    a known source (`unknown_reason`)."""

    id = models.BigIntegerField(primary_key=True, help_text="hashed from the dimensions (meshview.mesh.rollups.key_id)")
    source_cluster = models.CharField(max_length=253)
    source_namespace = models.CharField(max_length=253)
    source_workload = models.CharField(max_length=253)
    source_app = models.CharField(max_length=253)
    source_version = models.CharField(max_length=253)
    source_gateway = models.CharField(max_length=8)
    destination_cluster = models.CharField(max_length=253)
    destination_namespace = models.CharField(max_length=253)
    destination_workload = models.CharField(max_length=253)
    destination_app = models.CharField(max_length=253)
    destination_version = models.CharField(max_length=253)
    destination_gateway = models.CharField(max_length=8)
    destination_service = models.CharField(max_length=253)
    destination_service_entry = models.CharField(max_length=16)
    upstream_host = models.CharField(max_length=300)
    protocol = models.CharField(max_length=8)
    response_code = models.IntegerField()
    grpc_status = models.CharField(max_length=8)
    mtls = models.BooleanField()
    unknown_reason = models.CharField(max_length=32)

    class Meta:
        db_table = "mesh_span_key"

    def __str__(self) -> str:
        return f"{self.source_workload} → {self.destination_workload}"


class SpanTrafficEdge(models.Model):
    """Requests that spans show of one source, destination and outcome (`key`), in one bucket
    of one tier."""

    bucket = models.BigIntegerField(help_text="bucket start, unix seconds")
    key = models.ForeignKey(SpanKey, models.DO_NOTHING, db_constraint=False, related_name="+")
    requests = models.BigIntegerField()
    duration_sum_ms = models.FloatField()
    bytes_received = models.BigIntegerField()
    bytes_sent = models.BigIntegerField()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.key_id} @ {self.bucket}: {self.requests}"


for _column in LATENCY_COLUMNS:
    SpanTrafficEdge.add_to_class(_column, models.BigIntegerField(default=0))


class SpanRollup(SpanTrafficEdge):
    """Span traffic per 10-second bucket (the finest tier)."""

    class Meta:
        db_table = "mesh_span_rollup"
        constraints = [models.UniqueConstraint(fields=["bucket", "key"], name="mesh_span_rollup_key")]


class SpanRollupMinute(SpanTrafficEdge):
    class Meta:
        db_table = "mesh_span_rollup_1m"
        constraints = [models.UniqueConstraint(fields=["bucket", "key"], name="mesh_span_rollup_1m_key")]


class SpanRollupTenMinutes(SpanTrafficEdge):
    class Meta:
        db_table = "mesh_span_rollup_10m"
        constraints = [models.UniqueConstraint(fields=["bucket", "key"], name="mesh_span_rollup_10m_key")]


class SpanRollupHour(SpanTrafficEdge):
    class Meta:
        db_table = "mesh_span_rollup_1h"
        constraints = [models.UniqueConstraint(fields=["bucket", "key"], name="mesh_span_rollup_1h_key")]


class SpanRollupDay(SpanTrafficEdge):
    class Meta:
        db_table = "mesh_span_rollup_1d"
        constraints = [models.UniqueConstraint(fields=["bucket", "key"], name="mesh_span_rollup_1d_key")]


DEPENDENCY_DIMENSIONS = ("bucket", "parent_namespace", "parent", "child_namespace", "child")
DEPENDENCY_MEASURES = ("calls",)


class DependencyKey(models.Model):
    """A dependency link of Jaeger's, stored once: parent and child services (`service.name`)
    and the namespaces of their spans' resources, which decide who may see the link."""

    id = models.BigIntegerField(primary_key=True, help_text="hashed from the dimensions (meshview.mesh.rollups.key_id)")
    parent_namespace = models.CharField(max_length=253, default="")
    parent = models.CharField(max_length=512)
    child_namespace = models.CharField(max_length=253, default="")
    child = models.CharField(max_length=512)

    class Meta:
        db_table = "mesh_dependency_key"

    def __str__(self) -> str:
        return f"{self.parent} → {self.child}"


class ServiceDependency(models.Model):
    """Calls of one dependency link (`key`: parent and child spans of different services),
    counted in the bucket in which the child ended."""

    bucket = models.BigIntegerField(help_text="bucket start, unix seconds")
    key = models.ForeignKey(DependencyKey, models.DO_NOTHING, db_constraint=False, related_name="+")
    calls = models.BigIntegerField()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.key_id} @ {self.bucket}: {self.calls}"


class DependencyRollup(ServiceDependency):
    class Meta:
        db_table = "mesh_dependency_rollup"
        constraints = [models.UniqueConstraint(fields=["bucket", "key"], name="mesh_dependency_rollup_key")]


class DependencyRollupMinute(ServiceDependency):
    class Meta:
        db_table = "mesh_dependency_rollup_1m"
        constraints = [models.UniqueConstraint(fields=["bucket", "key"], name="mesh_dependency_rollup_1m_key")]


class DependencyRollupTenMinutes(ServiceDependency):
    class Meta:
        db_table = "mesh_dependency_rollup_10m"
        constraints = [models.UniqueConstraint(fields=["bucket", "key"], name="mesh_dependency_rollup_10m_key")]


class DependencyRollupHour(ServiceDependency):
    class Meta:
        db_table = "mesh_dependency_rollup_1h"
        constraints = [models.UniqueConstraint(fields=["bucket", "key"], name="mesh_dependency_rollup_1h_key")]


class DependencyRollupDay(ServiceDependency):
    class Meta:
        db_table = "mesh_dependency_rollup_1d"
        constraints = [models.UniqueConstraint(fields=["bucket", "key"], name="mesh_dependency_rollup_1d_key")]


class RollupWatermark(models.Model):
    """How far a tier is complete: every finer row of a bucket before `rolled_until` is in a
    coarse tier; the 10-second tier's says where ingest's rows are settled (readers keep sums
    up to it). Ingest locks these rows (shared) while it writes, the roll-up task (exclusively)
    while it rolls up, so a late row is added to every tier already past it exactly once, and
    changes the family's revision."""

    family = models.CharField(max_length=32)
    resolution = models.IntegerField(help_text="the tier's bucket, seconds")
    rolled_until = models.BigIntegerField(default=0, help_text="unix seconds")

    class Meta:
        db_table = "mesh_rollup_watermark"
        constraints = [models.UniqueConstraint(fields=["family", "resolution"], name="mesh_rollup_watermark_unique")]

    def __str__(self) -> str:
        return f"{self.family}/{self.resolution}s until {self.rolled_until}"


class RollupRevision(models.Model):
    """Changes when rows of a family's settled past change: a late row for a bucket before a
    watermark, or expired rows deleted. A reader may keep the sums of that past while the
    revision it read them under stands (`meshview.mesh.rollups.read`). Each revision is a new
    random number, so no two databases (or a flushed one) ever share one."""

    family = models.CharField(max_length=32, primary_key=True)
    revision = models.BigIntegerField()

    class Meta:
        db_table = "mesh_rollup_revision"

    def __str__(self) -> str:
        return f"{self.family} revision {self.revision}"


class RollupPast(models.Model):
    """The settled past of a live window of one of the lengths the beat task keeps
    (`meshview.mesh.rollups.KEPT_WINDOWS`): the time it covers ([start, end), unix seconds) and,
    per key id, its requests (calls) and every measure's sum, valid under `revision`. A process
    that kept nothing of such a window starts from it and reads only what changed since."""

    family = models.CharField(max_length=32)
    seconds = models.IntegerField(help_text="the window's length")
    revision = models.BigIntegerField()
    start = models.BigIntegerField()
    end = models.BigIntegerField()
    sums = models.BinaryField(help_text="zlib of 64-bit integers: per key, its id, requests and measures")

    class Meta:
        db_table = "mesh_rollup_past"
        constraints = [models.UniqueConstraint(fields=["family", "seconds"], name="mesh_rollup_past_unique")]

    def __str__(self) -> str:
        return f"{self.family} past of {self.seconds}s windows, [{self.start}, {self.end})"


class TailOffset(models.Model):
    """Where `ingest_envoy --follow` got to in a file, so a restart resumes there."""

    path = models.CharField(max_length=4096, unique=True)
    inode = models.BigIntegerField()
    offset = models.BigIntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.path}@{self.offset}"
