"""Shared helpers for the access-log parser tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from meshview.envoy import RECORD_KEYS

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "envoy"


def record(**fields: Any) -> dict[str, Any]:
    """Return the full record expected for ``fields``; every other key is None."""
    unknown = set(fields) - set(RECORD_KEYS) - {"extra"}
    assert not unknown, f"not record keys: {unknown}"
    return {**dict.fromkeys(RECORD_KEYS), **fields}
