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

    class Meta:
        db_table = "traces_span"
        indexes = [
            models.Index(fields=["trace_id"], name="traces_span_trace"),
            models.Index(fields=["service_name", "start_ns"], name="traces_span_service_time"),
            models.Index(fields=["service_name", "name", "start_ns"], name="traces_span_operation_time"),
            models.Index(fields=["start_ns"], name="traces_span_time"),
        ]

    def __str__(self) -> str:
        return f"{self.trace_id}/{self.span_id} {self.name}"
