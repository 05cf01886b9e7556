"""The pure parts of alerting: durations, selectors, values per kind, the state machine,
silence matchers and the payload formats (no database)."""

import hmac

import pytest

from meshview.alerts import payloads
from meshview.alerts.matchers import check_matchers, matches
from meshview.alerts.rules import (
    Row,
    RuleSpec,
    advance,
    check_selector,
    findings,
    fingerprint,
    format_duration,
    parse_duration,
    render,
)
from meshview.mesh.latency import LATENCY_BUCKETS_MS


def test_durations() -> None:
    assert [parse_duration(d) for d in ("0s", "30s", "5m", "1h", "2d")] == [0, 30, 300, 3600, 172800]
    assert [format_duration(s) for s in (0, 30, 300, 5400, 86400)] == ["0s", "30s", "5m", "90m", "1d"]
    for bad in ("5", "5 m", "-1m", "1500ms", "m"):
        with pytest.raises(ValueError, match=r"duration|whole"):
            parse_duration(bad)


def test_selectors_name_the_bad_key() -> None:
    assert check_selector({"namespace": "bookinfo"}) == {"namespace": "bookinfo"}
    assert check_selector({"source": {"app": "a"}, "destination": {"service": "b"}})
    for selector, message in (
        ({"pod": "x"}, "pod: not a selector key"),
        ({"source": {"service": "x"}}, "source.service: not a selector key"),
        ({"source": {"app": "a"}, "namespace": "x"}, "namespace: not a selector key"),
        ({"workload": ""}, "workload: must be a non-empty string"),
        ([], "must be an object"),
    ):
        with pytest.raises(ValueError, match=message):
            check_selector(selector)


def node(workload: str) -> dict[str, str]:
    return {"namespace": "bookinfo", "workload": workload}


def test_values_per_kind() -> None:
    rows = [Row(node("a"), requests=90), Row(node("a"), requests=10, errors=10), Row(node("b"), requests=5)]
    found = findings(RuleSpec("error_rate", {}, 5.0, 60), rows)
    assert [(f.labels["workload"], f.value, f.breached) for f in found] == [("a", 10.0, True), ("b", 0.0, False)]
    rate = findings(RuleSpec("request_rate", {}, 1.0, 60, op="below"), rows)
    assert [(f.value, f.breached) for f in rate] == [(100 / 60, False), (5 / 60, True)]
    histogram = [0] * (len(LATENCY_BUCKETS_MS) + 1)
    histogram[LATENCY_BUCKETS_MS.index(1000)] = 100
    slow = findings(
        RuleSpec("latency", {}, 500.0, 60, quantile="p50"), [Row(node("a"), latency_counts=tuple(histogram))]
    )
    assert slow[0].breached and 500 < slow[0].value <= 1000
    silent = findings(RuleSpec("reporter_silent", {}, 0, 60), [Row(node("a"), value=59), Row(node("b"), value=61)])
    assert [f.breached for f in silent] == [False, True]


def test_state_machine() -> None:
    assert advance(None, None, True, 100, 0).state == "firing"
    assert advance(None, None, True, 100, 60).state == "pending"
    assert advance("pending", 100, True, 159, 60).state == "pending"
    assert advance("pending", 100, True, 160, 60).state == "firing"
    assert advance("pending", 100, False, 120, 60).state == "inactive"
    assert advance("firing", 100, False, 120, 60).state == "resolved"
    assert not advance("firing", 100, True, 500, 60).changed
    assert advance("resolved", 100, True, 500, 0).state == "firing"


def test_templates_and_fingerprints() -> None:
    text = render(
        "{{ value }}% on {{ labels.workload }} > {{ threshold }} {{ nope }}",
        {"value": 12.3456, "threshold": 5.0, "labels": {"workload": "reviews-v1"}},
    )
    assert text == "12.35% on reviews-v1 > 5 {{ nope }}"
    assert render("{{ value.__class__ }}", {"value": 1.0}) == "{{ value.__class__ }}"
    assert fingerprint({"a": "1", "b": "2"}) == fingerprint({"b": "2", "a": "1"}) != fingerprint({"a": "1"})


def test_matchers_as_alertmanager_reads_them() -> None:
    checked = check_matchers([{"name": "workload", "value": "reviews-.*", "isRegex": True}])
    assert matches(checked, {"workload": "reviews-v2"})
    assert not matches(checked, {"workload": "xreviews-v2"}), "a regular expression matches the whole value"
    negative = check_matchers([{"name": "severity", "value": "info", "isEqual": False}])
    assert matches(negative, {"severity": "critical"}) and not matches(negative, {"severity": "info"})
    with pytest.raises(ValueError, match=r"0\.name"):
        check_matchers([{"value": "x"}])


def test_alertmanager_payloads() -> None:
    snapshot = {
        "groupKey": '{}:{alertname="r"}',
        "status": "resolved",
        "receiver": "am",
        "groupLabels": {"alertname": "r"},
        "externalURL": "http://mv",
        "rule": {"threshold": 1},
        "alerts": [
            {
                "fingerprint": "f1",
                "status": "resolved",
                "labels": {"alertname": "r", "workload": "a"},
                "annotations": {"summary": "s"},
                "value": 1,
                "startsAt": "2026-01-01T00:00:00.000Z",
                "endsAt": "2026-01-01T00:05:00.000Z",
                "links": {"graph": "http://mv/graph", "traces": "t"},
            },
            {
                "fingerprint": "f2",
                "status": "resolved",
                "labels": {"alertname": "r", "workload": "b"},
                "annotations": {"summary": "s"},
                "value": 1,
                "startsAt": "2026-01-01T00:00:00.000Z",
                "endsAt": "2026-01-01T00:05:00.000Z",
                "links": {"graph": "http://mv/graph", "traces": "t"},
            },
        ],
    }
    v4 = payloads.alertmanager_body(snapshot)
    assert v4["commonLabels"] == {"alertname": "r"} and v4["commonAnnotations"] == {"summary": "s"}
    assert v4["alerts"][0]["endsAt"] == "2026-01-01T00:05:00.000Z"
    pushed = payloads.alertmanager_api_body(snapshot)
    assert set(pushed[0]) == {"labels", "annotations", "startsAt", "endsAt", "generatorURL"}
    assert payloads.signature("k", b"body") == "sha256=" + hmac.new(b"k", b"body", "sha256").hexdigest()
