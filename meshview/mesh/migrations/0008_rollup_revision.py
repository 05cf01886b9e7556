"""Each rollup family's revision, which changes when rows of its rolled-up past change: readers
keep the sums of that past while it stands."""

import secrets

from django.db import migrations, models

FAMILIES = ("traffic", "spans", "dependencies")


def create_revisions(apps, schema_editor):
    revision = apps.get_model("mesh", "RollupRevision")
    revision.objects.bulk_create(
        [revision(family=f, revision=secrets.randbits(63)) for f in FAMILIES], ignore_conflicts=True
    )


class Migration(migrations.Migration):

    dependencies = [
        ("mesh", "0007_rollup_keys"),
    ]

    operations = [
        migrations.CreateModel(
            name="RollupRevision",
            fields=[
                ("family", models.CharField(max_length=32, primary_key=True, serialize=False)),
                ("revision", models.BigIntegerField()),
            ],
            options={
                "db_table": "mesh_rollup_revision",
            },
        ),
        migrations.RunPython(create_revisions, migrations.RunPython.noop),
    ]
