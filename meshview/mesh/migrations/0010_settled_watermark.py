"""A watermark for the 10-second tier: the roll-up task moves it to where that tier is complete,
and a reader keeps the sums of a window's past up to it. It starts at 0: a reader keeps nothing
until the first roll-up."""

from django.db import migrations, models

FAMILIES = ("traffic", "spans", "dependencies")


def create_watermarks(apps, schema_editor):
    """One per family, created here so ingest can always lock it."""
    watermark = apps.get_model("mesh", "RollupWatermark")
    watermark.objects.bulk_create(
        [watermark(family=f, resolution=10, rolled_until=0) for f in FAMILIES], ignore_conflicts=True
    )


class Migration(migrations.Migration):

    dependencies = [
        ("mesh", "0009_rollup_past"),
    ]

    operations = [
        migrations.AlterField(
            model_name="rollupwatermark",
            name="resolution",
            field=models.IntegerField(help_text="the tier's bucket, seconds"),
        ),
        migrations.RunPython(create_watermarks, migrations.RunPython.noop),
    ]
