"""Live graph updates: the `graph.changed` signal ingestion sends after it commits, and what
changed between two graph JSONs."""

import time
from typing import Any

from meshview.live.broadcast import GRAPH_GROUP, publish_after_commit


def signal_change() -> None:
    """Tell live graph viewers, once the current transaction commits, that traffic changed.
    Viewers coalesce the signals: each recomputes at most once a second."""
    publish_after_commit(GRAPH_GROUP, "graph.changed", lambda: {"changedAt": time.time()})


def _by_id(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["data"]["id"]: item["data"] for item in items}


def graph_delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any] | None:
    """Return `{"nodes": {added, removed, changed}, "edges": {...}}` from `before` to `after`
    (element data dicts; removed as ids), or None when nothing changed."""
    delta: dict[str, Any] = {}
    changed = False
    for kind in ("nodes", "edges"):
        old, new = _by_id(before["elements"][kind]), _by_id(after["elements"][kind])
        part = {
            "added": [{"data": new[i]} for i in sorted(new.keys() - old.keys())],
            "removed": sorted(old.keys() - new.keys()),
            "changed": [{"data": new[i]} for i in sorted(new.keys() & old.keys()) if new[i] != old[i]],
        }
        changed = changed or any(part.values())
        delta[kind] = part
    return delta if changed else None
