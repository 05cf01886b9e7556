"""On PostgreSQL, make traces_span a table partitioned by day on start_ns, with a default
partition for spans outside the created days, and a GIN index for tag search."""

from django.db import migrations

INDEXES = {
    "traces_span_trace": "(trace_id)",
    "traces_span_service_time": "(service_name, start_ns)",
    "traces_span_operation_time": "(service_name, name, start_ns)",
    "traces_span_time": "(start_ns)",
}


def partition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    run = schema_editor.execute
    run("CREATE TABLE traces_span_partitioned (LIKE traces_span INCLUDING DEFAULTS INCLUDING IDENTITY) "
        "PARTITION BY RANGE (start_ns)")
    run("DROP TABLE traces_span")
    run("ALTER TABLE traces_span_partitioned RENAME TO traces_span")
    # A partitioned table's primary key must include the partition key.
    run("ALTER TABLE traces_span ADD PRIMARY KEY (id, start_ns)")
    for name, columns in INDEXES.items():
        run(f"CREATE INDEX {name} ON traces_span {columns}")
    run("CREATE INDEX traces_span_search_tags ON traces_span USING gin (search_tags jsonb_path_ops)")
    run("CREATE TABLE traces_span_default PARTITION OF traces_span DEFAULT")


def unpartition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS traces_span_search_tags")


class Migration(migrations.Migration):
    dependencies = [("traces", "0001_initial")]
    operations = [migrations.RunPython(partition, unpartition)]
