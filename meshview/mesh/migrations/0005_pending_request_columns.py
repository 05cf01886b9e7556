"""Pending records keep narrow columns and a shared shape instead of one JSON observation each,
so a batch of them is one COPY and settling them is a few set-based statements."""

import json
from bisect import bisect_left

from django.db import migrations, models

# Istio's duration buckets when this migration was written (meshview.mesh.latency).
LATENCY_BUCKETS_MS = (
    0.5,
    1,
    5,
    10,
    25,
    50,
    100,
    250,
    500,
    1000,
    2500,
    5000,
    10000,
    30000,
    60000,
    300000,
    600000,
    1800000,
    3600000,
)


def fields():
    return [
        (
            "local_ip",
            models.CharField(default="", help_text="the reporter's pod IP: a twin's upstream_ip", max_length=45),
        ),
        ("remote_ip", models.CharField(default="", help_text="the caller's address", max_length=45)),
        ("shape", models.TextField(default="[]", help_text="JSON list of the PENDING_SHAPE values")),
        ("duration_ms", models.BigIntegerField(default=0)),
        ("bytes_received", models.BigIntegerField(default=0)),
        ("bytes_sent", models.BigIntegerField(default=0)),
        (
            "latency_bucket",
            models.SmallIntegerField(default=-1, help_text="index of the duration's histogram bucket; -1 for TCP"),
        ),
    ]


def convert_waiting_records(apps, schema_editor):
    """Records waiting when meshview was upgraded keep waiting, in the new columns."""
    from meshview.mesh.identity import split_address
    from meshview.mesh.unknown import unknown_reason

    PendingRequest = apps.get_model("mesh", "PendingRequest")
    for pending in PendingRequest.objects.all().iterator():
        o = pending.observation
        if isinstance(o, str):
            o = json.loads(o)
        reporter, service = o["reporter"], o["service"]
        reason = unknown_reason(o["user_agent"], split_address(o["authority"])[1])
        pending.shape = json.dumps(
            [
                o["bucket"],
                reporter["namespace"],
                reporter["workload"],
                reporter["app"],
                reporter["version"],
                service["host"],
                service["name"],
                service["namespace"],
                o["protocol"],
                o["response_code"],
                o["grpc_status"],
                o["response_flags"],
                o["mtls"],
                reason,
            ]
        )
        pending.local_ip, pending.remote_ip = o["local_ip"], o["remote_ip"]
        pending.duration_ms, pending.bytes_received, pending.bytes_sent = (
            o["duration_ms"],
            o["bytes_received"],
            o["bytes_sent"],
        )
        tcp = o["protocol"] == "tcp"
        pending.latency_bucket = -1 if tcp else bisect_left(LATENCY_BUCKETS_MS, o["duration_ms"])
        pending.save()


class Migration(migrations.Migration):
    dependencies = [("mesh", "0004_dependency_namespaces")]

    operations = [
        *(
            migrations.AddField(model_name="pendingrequest", name=name, field=field, preserve_default=False)
            for name, field in fields()
        ),
        migrations.RunPython(convert_waiting_records, migrations.RunPython.noop),
        migrations.RemoveField(model_name="pendingrequest", name="observation"),
    ]
