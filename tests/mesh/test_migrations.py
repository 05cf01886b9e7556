"""Upgrading keeps the records that were waiting in the settle window."""

import time

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from meshview.mesh import actions
from meshview.mesh.models import TrafficRollup

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
    assert (rollup.source_workload, rollup.unknown_reason, rollup.destination_workload) == (
        "unknown",
        "probe",
        "details-v1",
    )
    assert (rollup.requests, rollup.duration_sum_ms, rollup.bytes_sent, rollup.latency_5) == (1, 40, 295, 1)
