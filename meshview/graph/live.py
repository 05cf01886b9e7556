"""Live graph updates: what changed between two graph JSONs. (Ingest's `graph.changed` signal
is `meshview.live.broadcast.signal_change`.)"""

from typing import Any


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
