"""Rules read from a real Prometheus holding the Istio metrics of the Bookinfo minute (the
graph tests' backfilled Prometheus): one PromQL query per rule, the same numbers the graph reads."""

import pytest
from django.test import override_settings

from meshview.alerts import actions
from meshview.alerts.models import Rule
from meshview.alerts.rules import findings
from tests.graph.conftest import bookinfo_prometheus, prometheus_with  # noqa: F401  (fixtures)
from tests.graph.promsim import QUERY_TIME, WINDOW_S


def found(url: str, **fields) -> dict[str, float]:
    rule = Rule(name="r", source="prometheus", window_seconds=WINDOW_S, **fields)
    with override_settings(MESHVIEW_PROMETHEUS_URL=url):
        rows = actions.read(rule, QUERY_TIME)
    return {"/".join(f.labels[k] for k in sorted(f.labels)): f.value for f in findings(actions.spec_of(rule), rows)}


def test_request_rate_per_workload(bookinfo_prometheus: str) -> None:  # noqa: F811
    rates = found(bookinfo_prometheus, kind="request_rate", op="above", threshold=0, selector={"namespace": "bookinfo"})
    # reviews-v1 serves 18 of productpage's 20 calls in the minute; details 20 and 3 probes.
    assert rates["reviews/bookinfo/reviews-v1"] == pytest.approx(18 / WINDOW_S)
    assert rates["details/bookinfo/details-v1"] == pytest.approx(23 / WINDOW_S)


def test_unknown_traffic_into_the_mesh(bookinfo_prometheus: str) -> None:  # noqa: F811
    rates = found(bookinfo_prometheus, kind="unknown_traffic", threshold=0, selector={"namespace": "bookinfo"})
    # Istio's labels cannot say why a source is unknown.
    assert rates == {
        "productpage/bookinfo/unknown/productpage-v1": pytest.approx(4 / WINDOW_S),
        "details/bookinfo/unknown/details-v1": pytest.approx(3 / WINDOW_S),
    }


def test_latency_quantile_of_an_edge(bookinfo_prometheus: str) -> None:  # noqa: F811
    latencies = found(
        bookinfo_prometheus,
        kind="latency",
        quantile="p50",
        threshold=50,
        selector={"source": {"workload": "productpage-v1"}, "destination": {"app": "reviews"}},
    )
    assert latencies["reviews/bookinfo/reviews-v2/bookinfo/productpage-v1"] > 50
    assert latencies["reviews/bookinfo/reviews-v1/bookinfo/productpage-v1"] <= 50
