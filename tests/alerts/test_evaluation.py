"""Rules evaluated against traffic fed through the ingest endpoint: states, history, `for`,
the claim of a tick, rules that cannot be evaluated, silences and grouping."""

import threading
import time

import pytest
from django.db import connection, connections
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from meshview.alerts import actions
from meshview.alerts.models import Alert, AlertTransition, Notification, Receiver, Rule, Silence
from meshview.mesh.models import TrafficRollup, Workload
from tests.alerts.traffic import DETAILS, REVIEWS, calls, feed

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def anonymous():
    with override_settings(MESHVIEW_ANONYMOUS_ACCESS=True, MESHVIEW_PROMETHEUS_URL=""):
        yield


def make_rule(**fields) -> Rule:
    defaults = {"name": "reviews errors", "kind": "error_rate", "threshold": 10.0, "window_seconds": 60}
    return Rule.objects.create(**{**defaults, **fields})


_tick = iter(range(1, 1_000_000))


def evaluate(rule: Rule, now: float | None = None) -> bool:
    return actions.evaluate_rule(rule.pk, next(_tick), now=now)


def test_error_rate_fires_per_workload_and_resolves_on_traffic(client: Client) -> None:
    rule = make_rule(selector={"namespace": "bookinfo"})
    feed(client, calls(ok=5, failed=5) + calls(ok=10, destination=DETAILS))
    assert evaluate(rule)
    firing = Alert.objects.get(state="firing")
    assert firing.labels == {
        "alertname": "reviews errors",
        "severity": "warning",
        "namespace": "bookinfo",
        "workload": "reviews-v1",
        "app": "reviews",
    }
    assert firing.value == pytest.approx(50.0)
    assert "50% errors on bookinfo/reviews-v1" in firing.annotations["summary"]
    assert Rule.objects.get().state == "firing" and Rule.objects.get().health == "ok"
    # Enough good requests bring the window's error rate under 10%.
    feed(client, calls(ok=100))
    assert evaluate(rule)
    firing.refresh_from_db()
    assert firing.state == "resolved" and firing.ended_at is not None
    assert [t.state for t in AlertTransition.objects.filter(alert=firing).order_by("at", "pk")] == [
        "firing",
        "resolved",
    ]
    assert Rule.objects.get().state == "inactive"


def test_for_holds_the_alert_pending_then_fires(client: Client) -> None:
    rule = make_rule(for_seconds=30)
    feed(client, calls(failed=4))
    now = time.time()
    evaluate(rule, now)
    assert Alert.objects.get().state == "pending"
    evaluate(rule, now + 10)
    assert Alert.objects.get().state == "pending"
    evaluate(rule, now + 31)
    alert = Alert.objects.get()
    assert alert.state == "firing"
    assert [t.state for t in alert.transitions.order_by("at")] == ["pending", "firing"]


def test_a_pending_alert_whose_condition_stops_becomes_inactive(client: Client) -> None:
    rule = make_rule(for_seconds=60)
    feed(client, calls(failed=2))
    evaluate(rule)
    feed(client, calls(ok=200))
    evaluate(rule)
    assert Alert.objects.get().state == "inactive"
    assert not Notification.objects.exists()


def test_an_edge_rule_names_its_edge_and_a_grpc_rule_counts_grpc_statuses(client: Client) -> None:
    rule = make_rule(selector={"source": {"workload": "productpage-v1"}, "destination": {"app": "reviews"}})
    feed(client, calls(failed=3, destination=REVIEWS["v2"]) + calls(ok=3, destination=REVIEWS["v1"]))
    evaluate(rule)
    alert = Alert.objects.get(state="firing")
    assert {k: alert.labels[k] for k in ("source_workload", "destination_workload")} == {
        "source_workload": "productpage-v1",
        "destination_workload": "reviews-v2",
    }
    assert "bookinfo/productpage-v1 → bookinfo/reviews-v2" in alert.annotations["summary"]
    links = actions.alert_links(rule, alert.labels)
    assert links["graph"].endswith("/graph?namespaces=bookinfo&graphType=workload&focus=bookinfo%2Freviews-v2")
    assert links["traces"].endswith("/traces?service=reviews&tags=error%3Dtrue")
    grpc = make_rule(name="grpc", errors="grpc", selector={"namespace": "bookinfo"})
    evaluate(grpc)
    assert not Alert.objects.filter(rule=grpc).exists()


def test_latency_request_rate_and_unknown_traffic(client: Client) -> None:
    slow = [c for c in calls(ok=10)]
    for c in slow:
        c.duration_ms = 900
    feed(client, slow + calls(ok=10, destination=DETAILS))
    latency = make_rule(name="slow", kind="latency", quantile="p95", threshold=500.0)
    evaluate(latency)
    alert = Alert.objects.get(rule=latency)
    assert alert.labels["workload"] == "reviews-v1" and 500 < alert.value <= 1000
    busy = make_rule(name="busy", kind="request_rate", op="above", threshold=0.1)
    evaluate(busy)
    assert sorted(a.labels["workload"] for a in Alert.objects.filter(rule=busy)) == ["details-v1", "reviews-v1"]
    quiet = make_rule(
        name="ratings stopped",
        kind="request_rate",
        op="below",
        threshold=0.01,
        selector={"namespace": "bookinfo", "workload": "ratings-v1"},
    )
    evaluate(quiet)
    assert Alert.objects.get(rule=quiet).value == 0.0
    unknown = make_rule(name="bypass", kind="unknown_traffic", threshold=0.0)
    from tests.meshsim import NODE_IP, NODEPORT, PRODUCTPAGE, SERVICES, Call

    feed(
        client,
        [
            Call(
                None,
                SERVICES["productpage"],
                PRODUCTPAGE,
                authority=f"{NODE_IP}:{NODEPORT}",
                remote_ip="198.51.100.23",
                mtls=False,
            )
            for _ in range(3)
        ],
    )
    from meshview.mesh.actions import settle_expired

    settle_expired(now=time.time() + 60)
    evaluate(unknown)
    alert = Alert.objects.get(rule=unknown)
    assert alert.labels["workload"] == "productpage-v1"
    assert alert.labels["unknown_reason"] == "nodeport"


def test_missing_sidecar_and_a_silent_reporter(client: Client) -> None:
    from tests.meshsim import PRODUCTPAGE, SERVICES, Call

    feed(client, [Call(PRODUCTPAGE, SERVICES["ratings"], meshsim_pod("10.0.9.9"))], sides="client")
    missing = make_rule(name="no sidecar", kind="missing_sidecar")
    evaluate(missing)
    alert = Alert.objects.get(rule=missing)
    assert alert.labels["service"] == "ratings" and alert.state == "firing"
    silent = make_rule(name="silent", kind="reporter_silent", window_seconds=60)
    evaluate(silent)
    assert not Alert.objects.filter(rule=silent).exists()
    evaluate(silent, time.time() + 120)
    assert Alert.objects.get(rule=silent).labels["workload"] == "productpage-v1"


def meshsim_pod(ip: str):
    """A ratings pod that writes no access log: only its caller's record shows it."""
    from tests.meshsim import Pod

    return Pod("bookinfo", "ratings-v1", "ratings", "v1", ip)


def test_the_telemetry_of_a_rule_is_read_in_the_same_queries_whatever_the_number_of_nodes(client: Client) -> None:
    rule = make_rule(selector={"namespace": "bookinfo"})

    def queries() -> list[str]:
        with CaptureQueriesContext(connection) as captured:
            actions.read(rule, int(time.time()), last_report=time.time())
        return [q["sql"] for q in captured]

    feed(client, calls(failed=5))
    one_node = queries()
    feed(client, calls(failed=5, destination=DETAILS) + calls(failed=2, destination=REVIEWS["v2"]))
    three_nodes = queries()
    # The rollup tiers' watermarks, then one query over every tier the window needs.
    assert len(one_node) == len(three_nodes) == 2
    assert "mesh_traffic_rollup" in three_nodes[1]


def test_a_tick_is_evaluated_once_however_many_workers_are_handed_it(client: Client) -> None:
    rule = make_rule()
    assert actions.evaluate_rule(rule.pk, 100)
    assert not actions.evaluate_rule(rule.pk, 100)
    assert not actions.evaluate_rule(rule.pk, 99)
    assert actions.evaluate_rule(rule.pk, 101)


@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_claim_a_tick_once(client: Client) -> None:
    rule = make_rule()
    feed(client, calls(failed=3))
    results: list[bool] = []
    barrier = threading.Barrier(4)

    def work() -> None:
        barrier.wait()
        try:
            results.append(actions.evaluate_rule(rule.pk, 500))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, False, False, True]
    assert AlertTransition.objects.count() == 1


def test_a_rule_that_cannot_read_prometheus_keeps_its_alerts(client: Client) -> None:
    rule = make_rule()
    feed(client, calls(failed=3))
    evaluate(rule)
    assert Alert.objects.get().state == "firing"
    with override_settings(MESHVIEW_PROMETHEUS_URL="http://127.0.0.1:9"):
        evaluate(rule)
    rule.refresh_from_db()
    assert rule.health == "unevaluable" and "Prometheus" in rule.last_error
    assert Alert.objects.get().state == "firing"


def test_silent_access_logs_make_a_traffic_rule_unevaluable_rather_than_resolved(client: Client) -> None:
    rule = make_rule()
    feed(client, calls(failed=3))
    evaluate(rule)
    Workload.objects.update(last_reported=None)
    evaluate(rule)
    rule.refresh_from_db()
    assert rule.health == "unevaluable" and "no access-log reporter" in rule.last_error
    assert Alert.objects.get().state == "firing"


def test_grouping_one_notification_per_group_interval_and_one_resolution(client: Client) -> None:
    receiver = Receiver.objects.create(
        name="hook", kind="webhook", url="http://127.0.0.1:1/", group_interval_seconds=60
    )
    rule = make_rule(selector={"namespace": "bookinfo"}, window_seconds=3600)
    rule.receivers.add(receiver)
    feed(client, calls(failed=5) + calls(failed=5, destination=DETAILS))
    now = time.time()
    evaluate(rule, now)
    first = Notification.objects.get()
    assert first.status == "firing" and len(first.snapshot["alerts"]) == 2
    feed(client, calls(failed=5, destination=REVIEWS["v2"]))
    evaluate(rule, now + 10)
    assert Notification.objects.count() == 1, "a new alert within the group interval waits"
    evaluate(rule, now + 61)
    second = Notification.objects.latest("pk")
    assert len(second.snapshot["alerts"]) == 3
    feed(client, calls(ok=500) + calls(ok=500, destination=DETAILS) + calls(ok=500, destination=REVIEWS["v2"]))
    evaluate(rule, now + 122)
    third = Notification.objects.latest("pk")
    assert third.status == "resolved"
    assert sorted(a["status"] for a in third.snapshot["alerts"]) == ["resolved"] * 3
    evaluate(rule, now + 200)
    assert Notification.objects.count() == 3, "a resolution is sent once"


def test_a_silence_suppresses_the_notification_and_shows_on_the_alert(client: Client) -> None:
    from datetime import timedelta

    from django.utils import timezone

    receiver = Receiver.objects.create(name="hook", kind="webhook", url="http://127.0.0.1:1/")
    rule = make_rule()
    rule.receivers.add(receiver)
    silence = Silence.objects.create(
        matchers=[{"name": "workload", "value": "reviews-.*", "isRegex": True, "isEqual": True}],
        starts_at=timezone.now() - timedelta(minutes=1),
        ends_at=timezone.now() + timedelta(hours=1),
    )
    feed(client, calls(failed=3))
    evaluate(rule)
    alert = Alert.objects.get()
    assert alert.state == "firing" and alert.silenced_by_id == silence.pk
    assert not Notification.objects.exists()
    listed = client.get("/api/v1/alerts?silenced=true").json()["results"]
    assert [a["silenced"] for a in listed] == [True]


def test_an_alertmanager_api_receiver_hears_firing_alerts_again_every_interval(client: Client) -> None:
    receiver = Receiver.objects.create(
        name="am", kind="alertmanager_api", url="http://127.0.0.1:1/", group_interval_seconds=60
    )
    rule = make_rule(window_seconds=3600)
    rule.receivers.add(receiver)
    feed(client, calls(failed=3))
    now = time.time()
    evaluate(rule, now)
    evaluate(rule, now + 30)
    assert Notification.objects.count() == 1
    evaluate(rule, now + 61)
    resent = Notification.objects.latest("pk")
    assert Notification.objects.count() == 2 and resent.status == "firing"
    (alert,) = resent.snapshot["alerts"]
    # Pushed with an end a few intervals ahead, as Prometheus does, so a silent meshview resolves.
    assert alert["endsAt"] > alert["startsAt"]


def test_the_bucket_that_starts_at_the_evaluation_counts(client: Client) -> None:
    rule = make_rule()
    feed(client, calls(failed=3))
    bucket = int(TrafficRollup.objects.values_list("bucket", flat=True).first())
    evaluate(rule, bucket + 0.5)
    assert Alert.objects.get().state == "firing"
