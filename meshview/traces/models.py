"""The span store: resources once each, spans with everything OTLP carries, and the operation
index behind Jaeger's service and operation lists.

On PostgreSQL `traces_span` is partitioned by day on `start_ns` (see the migration), so
retention drops whole partitions; on SQLite it is one table.
"""

from django.db import models


class Resource(models.Model):
    key = models.CharField(max_length=32, primary_key=True, help_text="BLAKE2b of the attributes")
    service_name = models.CharField(max_length=512)
    attributes = models.JSONField()

    class Meta:
        db_table = "traces_resource"

    def __str__(self) -> str:
        return f"{self.service_name} ({self.key[:8]})"


class Operation(models.Model):
    service_name = models.CharField(max_length=512)
    name = models.CharField(max_length=512)
    kind = models.SmallIntegerField()

    class Meta:
        db_table = "traces_operation"
        constraints = [models.UniqueConstraint(fields=["service_name", "name", "kind"], name="traces_operation_unique")]

    def __str__(self) -> str:
        return f"{self.service_name}: {self.name}"


class Span(models.Model):
    """One span. `search_tags` maps every attribute key of the span, its resource, scope, events
    and links (plus span.kind, error, otel.status_code, otel.scope.*) to the string forms of its
    values, for Jaeger's tag search."""

    id = models.BigAutoField(primary_key=True)
    trace_id = models.CharField(max_length=32)
    span_id = models.CharField(max_length=16)
    parent_span_id = models.CharField(max_length=16, blank=True)
    trace_state = models.TextField(blank=True)
    name = models.CharField(max_length=512)
    kind = models.SmallIntegerField()
    start_ns = models.BigIntegerField()
    end_ns = models.BigIntegerField()
    duration_ns = models.BigIntegerField()
    status_code = models.SmallIntegerField()
    status_message = models.TextField(blank=True)
    service_name = models.CharField(max_length=512)
    resource_key = models.CharField(max_length=32)
    scope_name = models.CharField(max_length=512, blank=True)
    scope_version = models.CharField(max_length=256, blank=True)
    scope_attributes = models.JSONField()
    attributes = models.JSONField()
    events = models.JSONField()
    links = models.JSONField()
    flags = models.BigIntegerField()
    dropped_attributes_count = models.IntegerField()
    dropped_events_count = models.IntegerField()
    dropped_links_count = models.IntegerField()
    search_tags = models.JSONField()
    content_hash = models.BigIntegerField(
        default=0, help_text="BLAKE2b of everything stored: an exporter's retry of a stored span is not stored again"
    )

    class Meta:
        db_table = "traces_span"
        constraints = [
            # Also the index of trace-by-id and of every parent lookup (trace_id, span_id). On
            # PostgreSQL a unique index of a partitioned table must hold the partition key.
            models.UniqueConstraint(
                fields=["trace_id", "span_id", "content_hash", "start_ns"], name="traces_span_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["service_name", "start_ns"], name="traces_span_service_time"),
            models.Index(fields=["service_name", "name", "start_ns"], name="traces_span_operation_time"),
            models.Index(fields=["start_ns"], name="traces_span_time"),
        ]

    def __str__(self) -> str:
        return f"{self.trace_id}/{self.span_id} {self.name}"


class SpanHalf(models.Model):
    """The pairing store: a span whose request is not decided yet, because the other half has
    not arrived. `waiting` is `parent` for a span whose parent is not stored yet, `children` for
    a caller span (client, producer) none of whose children has shown that the call reached a
    traced workload. The beat task settles what waited MESHVIEW_SPAN_PAIR_SECONDS.

    `facts` holds what pairing needs from the span (`meshview.traces.traffic.SpanFacts`), so
    neither the span nor its resource is read again."""

    trace_id = models.CharField(max_length=32)
    span_id = models.CharField(max_length=16)
    parent_span_id = models.CharField(max_length=16, blank=True)
    waiting = models.CharField(max_length=8)
    end_ns = models.BigIntegerField(help_text="when the span ended: its request counts in that bucket")
    facts = models.JSONField()
    received_at = models.FloatField(help_text="unix seconds")

    class Meta:
        db_table = "traces_span_half"
        indexes = [
            models.Index(fields=["trace_id", "span_id"], name="traces_half_span"),
            models.Index(fields=["trace_id", "parent_span_id"], name="traces_half_parent"),
            models.Index(fields=["received_at"], name="traces_half_received"),
        ]

    def __str__(self) -> str:
        return f"{self.trace_id}/{self.span_id} waiting for its {self.waiting}"


class Trace(models.Model):
    """What a trace summary needs of a whole trace, kept as its spans are stored
    (`meshview.traces.summary_store`): the earliest start, the latest start (retention reads
    it) and end, and how many of its spans name a parent that is not stored."""

    trace_id = models.CharField(max_length=32, primary_key=True)
    start_ns = models.BigIntegerField()
    last_start_ns = models.BigIntegerField()
    end_ns = models.BigIntegerField()
    orphan_count = models.IntegerField()

    class Meta:
        db_table = "traces_trace"
        indexes = [models.Index(fields=["start_ns"], name="traces_trace_start")]

    def __str__(self) -> str:
        return self.trace_id


class TraceResource(models.Model):
    """The spans of one trace from one resource (of one service), summed: how many, how many
    with an error status, and the earliest of them without a parent (start, then operation
    name). Per resource, as a caller's access is (`meshview.traces.visibility`)."""

    pk = models.CompositePrimaryKey("trace_id", "service_name", "resource_key")
    trace_id = models.CharField(max_length=32)
    service_name = models.CharField(max_length=512)
    resource_key = models.CharField(max_length=32)
    span_count = models.IntegerField()
    error_count = models.IntegerField()
    root_start_ns = models.BigIntegerField(null=True)
    root_name = models.CharField(max_length=512)

    class Meta:
        db_table = "traces_trace_resource"

    def __str__(self) -> str:
        return f"{self.trace_id} {self.service_name} ({self.resource_key[:8]})"


class MissingParent(models.Model):
    """A parent span id that `span_count` stored spans of the trace name and no stored span of
    the trace has: the orphans that its arrival makes children again."""

    pk = models.CompositePrimaryKey("trace_id", "parent_span_id")
    trace_id = models.CharField(max_length=32)
    parent_span_id = models.CharField(max_length=16)
    span_count = models.IntegerField()

    class Meta:
        db_table = "traces_missing_parent"

    def __str__(self) -> str:
        return f"{self.trace_id}/{self.parent_span_id} missing, {self.span_count} spans wait"
