"""Trace summaries kept at ingest (`meshview.traces.summary_store`): their three tables, filled
from the spans already stored."""

from django.db import migrations, models

from meshview.traces.summary_store import rebuild


def summarise_stored_spans(apps, schema_editor):
    rebuild()


class Migration(migrations.Migration):

    dependencies = [
        ('traces', '0003_span_dedupe_and_pairing_store'),
    ]

    operations = [
        migrations.CreateModel(
            name='MissingParent',
            fields=[
                ('pk', models.CompositePrimaryKey('trace_id', 'parent_span_id', blank=True, editable=False, primary_key=True, serialize=False)),
                ('trace_id', models.CharField(max_length=32)),
                ('parent_span_id', models.CharField(max_length=16)),
                ('span_count', models.IntegerField()),
            ],
            options={
                'db_table': 'traces_missing_parent',
            },
        ),
        migrations.CreateModel(
            name='TraceResource',
            fields=[
                ('pk', models.CompositePrimaryKey('trace_id', 'service_name', 'resource_key', blank=True, editable=False, primary_key=True, serialize=False)),
                ('trace_id', models.CharField(max_length=32)),
                ('service_name', models.CharField(max_length=512)),
                ('resource_key', models.CharField(max_length=32)),
                ('span_count', models.IntegerField()),
                ('error_count', models.IntegerField()),
                ('root_start_ns', models.BigIntegerField(null=True)),
                ('root_name', models.CharField(max_length=512)),
            ],
            options={
                'db_table': 'traces_trace_resource',
            },
        ),
        migrations.CreateModel(
            name='Trace',
            fields=[
                ('trace_id', models.CharField(max_length=32, primary_key=True, serialize=False)),
                ('start_ns', models.BigIntegerField()),
                ('last_start_ns', models.BigIntegerField()),
                ('end_ns', models.BigIntegerField()),
                ('orphan_count', models.IntegerField()),
            ],
            options={
                'db_table': 'traces_trace',
                'indexes': [models.Index(fields=['start_ns'], name='traces_trace_start')],
            },
        ),
        migrations.RunPython(summarise_stored_spans, migrations.RunPython.noop),
    ]
