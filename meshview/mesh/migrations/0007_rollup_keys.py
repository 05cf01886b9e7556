"""Rollup rows name their edge by id: each family's dimensions move into a key table
(`mesh_traffic_key`, `mesh_span_key`, `mesh_dependency_key`) where each is stored once under an
id hashed from them, and every tier keeps (bucket, key_id, measures), unique per bucket and key.
Reading a window then sums narrow rows per integer key. Rows already stored keep their totals."""

from django.db import migrations, models

from meshview.mesh.rollups import key_id


def _text(max_length: int, **extra):
    return models.CharField(max_length=max_length, **extra)


TRAFFIC_DIMENSIONS = [
    ("reporter", _text(12)),
    ("source_namespace", _text(253)),
    ("source_workload", _text(253)),
    ("source_app", _text(253)),
    ("source_version", _text(253)),
    ("source_role", _text(32)),
    ("destination_namespace", _text(253)),
    ("destination_workload", _text(253)),
    ("destination_app", _text(253)),
    ("destination_version", _text(253)),
    ("destination_service", _text(253)),
    ("destination_service_name", _text(253)),
    ("destination_service_namespace", _text(253)),
    ("protocol", _text(8)),
    ("response_code", models.IntegerField()),
    ("grpc_status", _text(8)),
    ("response_flags", _text(128)),
    ("mtls", models.BooleanField()),
    ("unknown_reason", _text(32)),
]
SPAN_DIMENSIONS = [
    ("source_cluster", _text(253)),
    ("source_namespace", _text(253)),
    ("source_workload", _text(253)),
    ("source_app", _text(253)),
    ("source_version", _text(253)),
    ("source_gateway", _text(8)),
    ("destination_cluster", _text(253)),
    ("destination_namespace", _text(253)),
    ("destination_workload", _text(253)),
    ("destination_app", _text(253)),
    ("destination_version", _text(253)),
    ("destination_gateway", _text(8)),
    ("destination_service", _text(253)),
    ("destination_service_entry", _text(16)),
    ("upstream_host", _text(300)),
    ("protocol", _text(8)),
    ("response_code", models.IntegerField()),
    ("grpc_status", _text(8)),
    ("mtls", models.BooleanField()),
    ("unknown_reason", _text(32)),
]
DEPENDENCY_DIMENSIONS = [
    ("parent_namespace", _text(253, default="")),
    ("parent", _text(512)),
    ("child_namespace", _text(253, default="")),
    ("child", _text(512)),
]

# Key model, its table, its dimensions, and each tier: (model, table, old unique constraint,
# old bucket index or None, new unique constraint).
FAMILIES = [
    ("TrafficKey", "mesh_traffic_key", TRAFFIC_DIMENSIONS, [
        ("trafficrollup", "mesh_traffic_rollup", "mesh_traffic_rollup_edge", "mesh_rollup_bucket"),
        ("trafficrollupminute", "mesh_traffic_rollup_1m", "mesh_traffic_rollup_1m_edge", "mesh_rollup_1m_bucket"),
        ("trafficrolluptenminutes", "mesh_traffic_rollup_10m", "mesh_traffic_rollup_10m_edge",
         "mesh_rollup_10m_bucket"),
        ("trafficrolluphour", "mesh_traffic_rollup_1h", "mesh_traffic_rollup_1h_edge", "mesh_rollup_1h_bucket"),
        ("trafficrollupday", "mesh_traffic_rollup_1d", "mesh_traffic_rollup_1d_edge", "mesh_rollup_1d_bucket"),
    ]),
    ("SpanKey", "mesh_span_key", SPAN_DIMENSIONS, [
        ("spanrollup", "mesh_span_rollup", "mesh_span_rollup_edge", "mesh_span_rollup_bucket"),
        ("spanrollupminute", "mesh_span_rollup_1m", "mesh_span_rollup_1m_edge", "mesh_span_rollup_1m_bucket"),
        ("spanrolluptenminutes", "mesh_span_rollup_10m", "mesh_span_rollup_10m_edge", "mesh_span_rollup_10m_bucket"),
        ("spanrolluphour", "mesh_span_rollup_1h", "mesh_span_rollup_1h_edge", "mesh_span_rollup_1h_bucket"),
        ("spanrollupday", "mesh_span_rollup_1d", "mesh_span_rollup_1d_edge", "mesh_span_rollup_1d_bucket"),
    ]),
    ("DependencyKey", "mesh_dependency_key", DEPENDENCY_DIMENSIONS, [
        ("dependencyrollup", "mesh_dependency_rollup", "mesh_dependency_rollup_edge", None),
        ("dependencyrollupminute", "mesh_dependency_rollup_1m", "mesh_dependency_rollup_1m_edge", None),
        ("dependencyrolluptenminutes", "mesh_dependency_rollup_10m", "mesh_dependency_rollup_10m_edge", None),
        ("dependencyrolluphour", "mesh_dependency_rollup_1h", "mesh_dependency_rollup_1h_edge", None),
        ("dependencyrollupday", "mesh_dependency_rollup_1d", "mesh_dependency_rollup_1d_edge", None),
    ]),
]


def name_rows_by_key(apps, schema_editor):
    """Store each family's distinct dimensions once and point every tier's rows at them."""
    with schema_editor.connection.cursor() as cursor:
        for _, key_table, dimensions, tiers in FAMILIES:
            names = [name for name, _ in dimensions]
            seen = " UNION ".join(f"SELECT {', '.join(names)} FROM {table}" for _, table, _, _ in tiers)
            cursor.execute(seen)
            keys = {key_id(tuple(row)): tuple(row) for row in cursor.fetchall()}
            marks = ", ".join(["%s"] * (len(names) + 1))
            cursor.executemany(
                f"INSERT INTO {key_table} (id, {', '.join(names)}) VALUES ({marks})",
                [(found, *row) for found, row in keys.items()],
            )
            for _, table, _, _ in tiers:
                same = " AND ".join(f"{name} = %s" for name in names)
                cursor.executemany(
                    f"UPDATE {table} SET key_id = %s WHERE {same}", [(found, *row) for found, row in keys.items()]
                )


def _key(model: str, null: bool) -> models.ForeignKey:
    return models.ForeignKey(
        null=null, db_constraint=False, on_delete=models.DO_NOTHING, related_name="+", to=f"mesh.{model.lower()}"
    )


def _operations():
    before, after = [], []
    for model, key_table, dimensions, tiers in FAMILIES:
        before.append(migrations.CreateModel(
            name=model,
            fields=[
                ("id", models.BigIntegerField(
                    help_text="hashed from the dimensions (meshview.mesh.rollups.key_id)", primary_key=True,
                    serialize=False,
                )),
                *[(name, field.clone()) for name, field in dimensions],
            ],
            options={"db_table": key_table},
        ))
        for tier, table, unique, index in tiers:
            before.append(migrations.AddField(model_name=tier, name="key", field=_key(model, null=True)))
            after.append(migrations.RemoveConstraint(model_name=tier, name=unique))
            if index:
                after.append(migrations.RemoveIndex(model_name=tier, name=index))
            after += [migrations.RemoveField(model_name=tier, name=name) for name, _ in dimensions]
            after += [
                migrations.AlterField(model_name=tier, name="key", field=_key(model, null=False)),
                migrations.AddConstraint(
                    model_name=tier, constraint=models.UniqueConstraint(fields=["bucket", "key"], name=f"{table}_key")
                ),
            ]
    return [*before, migrations.RunPython(name_rows_by_key, migrations.RunPython.noop), *after]


class Migration(migrations.Migration):

    dependencies = [
        ("mesh", "0006_hourly_and_daily_tiers"),
    ]

    operations = _operations()
