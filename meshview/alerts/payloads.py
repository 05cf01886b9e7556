"""What each receiver kind is sent, rendered from a notification's stored snapshot.

A notification stores one snapshot (`Snapshot`: the group, its alerts, their rule) when it is
created; every attempt renders the same bytes from it, so a retry sends what the first attempt
sent. No Django here.
"""

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

# Alertmanager's zero time: an alert still firing has no end.
ZERO_TIME = "0001-01-01T00:00:00Z"
SIGNATURE_HEADER = "X-Meshview-Signature"
DELIVERY_HEADER = "X-Meshview-Delivery"

Snapshot = Mapping[str, Any]


def encode(body: Any) -> bytes:
    """The bytes sent for a body: compact JSON, keys in a stable order."""
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


def signature(secret: str, body: bytes) -> str:
    """The `X-Meshview-Signature` value: `sha256=` and the hex HMAC-SHA256 of the body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_body(snapshot: Snapshot, delivery_key: str) -> dict[str, Any]:
    """meshview's own webhook body: the group's status, its rule, and each alert with its
    value, threshold, labels, annotations and links to the graph and the traces."""
    return {
        "version": "1",
        "deliveryKey": delivery_key,
        "status": snapshot["status"],
        "receiver": snapshot["receiver"],
        "groupKey": snapshot["groupKey"],
        "rule": snapshot["rule"],
        "externalURL": snapshot["externalURL"],
        "alerts": [
            {
                "status": a["status"],
                "fingerprint": a["fingerprint"],
                "value": a["value"],
                "threshold": snapshot["rule"]["threshold"],
                "labels": a["labels"],
                "annotations": a["annotations"],
                "startsAt": a["startsAt"],
                "endsAt": a["endsAt"] if a["status"] == "resolved" else None,
                "links": a["links"],
            }
            for a in snapshot["alerts"]
        ],
    }


def _common(items: list[Mapping[str, str]]) -> dict[str, str]:
    if not items:
        return {}
    first = items[0]
    return {k: v for k, v in first.items() if all(item.get(k) == v for item in items[1:])}


def alertmanager_body(snapshot: Snapshot) -> dict[str, Any]:
    """Alertmanager's webhook payload, version 4, as its webhook receivers expect it."""
    alerts = snapshot["alerts"]
    return {
        "version": "4",
        "groupKey": snapshot["groupKey"],
        "truncatedAlerts": 0,
        "status": snapshot["status"],
        "receiver": snapshot["receiver"],
        "groupLabels": snapshot["groupLabels"],
        "commonLabels": _common([a["labels"] for a in alerts]),
        "commonAnnotations": _common([a["annotations"] for a in alerts]),
        "externalURL": snapshot["externalURL"],
        "alerts": [
            {
                "status": a["status"],
                "labels": a["labels"],
                "annotations": a["annotations"],
                "startsAt": a["startsAt"],
                "endsAt": a["endsAt"] if a["status"] == "resolved" else ZERO_TIME,
                "generatorURL": a["links"]["graph"],
                "fingerprint": a["fingerprint"],
            }
            for a in alerts
        ],
    }


def alertmanager_api_body(snapshot: Snapshot) -> list[dict[str, Any]]:
    """The body of Alertmanager's `POST /api/v2/alerts`, as Prometheus sends it: a firing
    alert ends a few intervals ahead (so Alertmanager resolves it should meshview stop
    resending), a resolved one at the time it resolved."""
    return [
        {
            "labels": a["labels"],
            "annotations": a["annotations"],
            "startsAt": a["startsAt"],
            "endsAt": a["endsAt"],
            "generatorURL": a["links"]["graph"],
        }
        for a in snapshot["alerts"]
    ]


def render(kind: str, snapshot: Snapshot, delivery_key: str) -> bytes:
    """The body a receiver of `kind` is sent."""
    if kind == "alertmanager":
        return encode(alertmanager_body(snapshot))
    if kind == "alertmanager_api":
        return encode(alertmanager_api_body(snapshot))
    return encode(webhook_body(snapshot, delivery_key))


def group_key(rule: str) -> str:
    """The group key Alertmanager would show for a rule's alerts grouped by `alertname`."""
    return "{}:{alertname=" + json.dumps(rule) + "}"
