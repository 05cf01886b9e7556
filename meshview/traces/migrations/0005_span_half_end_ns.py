from django.db import migrations, models


class Migration(migrations.Migration):
    """A waiting caller counts in the bucket in which its span ended, as every request now does."""

    dependencies = [("traces", "0004_trace_summaries")]

    operations = [
        migrations.RenameField(model_name="spanhalf", old_name="start_ns", new_name="end_ns"),
        migrations.AlterField(
            model_name="spanhalf",
            name="end_ns",
            field=models.BigIntegerField(help_text="when the span ended: its request counts in that bucket"),
        ),
    ]
