"""Upgrading keeps the records that were waiting in the settle window."""

import time

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from meshview.mesh import actions, rollups
from meshview.mesh.models import RollupWatermark, TrafficRollup

# A waiting record as meshview kept it before pending records had columns of their own.
OLD_OBSERVATION = {
    "side": "server",
    "reporter": {
        "namespace": "bookinfo",
        "workload": "details-v1",
        "pod": "details-v1-5f7d8c9b6d-x2k4q",
        "app": "details",
        "version": "v1",
        "service_account": "",
        "role": "sidecar",
        "pod_ip": "",
    },
    "bucket": 1796040000,
    "request_id": "r-1",
    "local_ip": "10.0.1.40",
    "remote_ip": "10.128.0.9",
    "upstream_ip": "",
    "service": {
        "host": "details.bookinfo.svc.cluster.local",
        "name": "details",
        "namespace": "bookinfo",
        "port": 9080,
        "subset": "",
    },
    "protocol": "http",
    "response_code": 200,
    "grpc_status": "",
    "response_flags": "-",
    "mtls": False,
    "principal": "",
    "duration_ms": 40,
    "bytes_received": 0,
    "bytes_sent": 295,
    "user_agent": "kube-probe/1.29",
    "authority": "10.0.1.40:9080",
}


@pytest.mark.django_db(transaction=True)
def test_records_waiting_before_the_upgrade_are_settled_after_it() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate([("mesh", "0004_dependency_namespaces")])
    old = executor.loader.project_state([("mesh", "0004_dependency_namespaces")]).apps.get_model(
        "mesh", "PendingRequest"
    )
    old.objects.create(request_id="r-1", observation=OLD_OBSERVATION, received_at=time.time())
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert actions.settle_expired(now=time.time() + 60) == 1
    rollup = TrafficRollup.objects.get()
    assert (rollup.key.source_workload, rollup.key.unknown_reason, rollup.key.destination_workload) == (
        "unknown",
        "probe",
        "details-v1",
    )
    assert (rollup.requests, rollup.duration_sum_ms, rollup.bytes_sent, rollup.latency_5) == (1, 40, 295, 1)


@pytest.mark.django_db(transaction=True)
def test_rollups_stored_before_keys_had_a_table_keep_their_totals() -> None:
    before = [("mesh", "0006_hourly_and_daily_tiers")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    edge = {
        "reporter": "destination", "source_namespace": "bookinfo", "source_workload": "productpage-v1",
        "source_app": "productpage", "source_version": "v1", "source_role": "sidecar",
        "destination_namespace": "bookinfo", "destination_workload": "details-v1", "destination_app": "details",
        "destination_version": "v1", "destination_service": "details.bookinfo.svc.cluster.local",
        "destination_service_name": "details", "destination_service_namespace": "bookinfo", "protocol": "http",
        "response_code": 200, "grpc_status": "", "response_flags": "-", "mtls": True, "unknown_reason": "",
        "duration_sum_ms": 0, "bytes_received": 0, "bytes_sent": 0,
    }
    bucket = 1796040000
    old.get_model("mesh", "TrafficRollup").objects.create(bucket=bucket + 60, requests=2, **edge)
    old.get_model("mesh", "TrafficRollupMinute").objects.create(bucket=bucket, requests=5, **edge)
    old.get_model("mesh", "TrafficRollup").objects.create(bucket=bucket + 60, requests=1, **(edge | {"mtls": False}))
    old.get_model("mesh", "DependencyRollup").objects.create(
        bucket=bucket, parent_namespace="bookinfo", parent="productpage", child_namespace="bookinfo", child="details",
        calls=3,
    )
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    RollupWatermark.objects.update_or_create(family="traffic", resolution=60, defaults={"rolled_until": bucket + 60})
    by_mtls = rollups.read(rollups.TRAFFIC, bucket, bucket + 120, dimensions=("mtls",), measures=("requests",),
                           now=bucket + 120)
    assert sorted(by_mtls) == [(False, 1), (True, 7)]
    links = rollups.read(rollups.DEPENDENCIES, bucket, bucket + 10, dimensions=("parent", "child"), now=bucket + 10)
    assert links == [("productpage", "details", 3)]
    # The same edge written now lands on the migrated key.
    key = TrafficRollup.objects.get(bucket=bucket + 60, key__mtls=True).key
    assert key.id == rollups.key_id(tuple(getattr(key, d) for d in rollups.TRAFFIC.key_dimensions))
