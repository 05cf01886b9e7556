"""Go duration strings, as Jaeger's query API takes them (``minDuration=1.5ms``)."""

from __future__ import annotations

import re

NANOSECOND = 1
MICROSECOND = 1000
MILLISECOND = 1000 * MICROSECOND
SECOND = 1000 * MILLISECOND
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE

# Go's units; both micro signs (U+00B5 and U+03BC) spell microseconds, as in time.ParseDuration.
UNITS = {
    "ns": NANOSECOND, "us": MICROSECOND, "\u00b5s": MICROSECOND, "\u03bcs": MICROSECOND,
    "ms": MILLISECOND, "s": SECOND, "m": MINUTE, "h": HOUR,
}
MAX_DURATION_NS = 2**63 - 1  # Go's time.Duration is an int64 of nanoseconds

_COMPONENT = re.compile(r"([0-9]*)(?:\.([0-9]*))?([^0-9.]+)")


def parse_go_duration(text: str) -> int:
    """Return the nanoseconds of a Go duration string: a sequence of decimal numbers, each with
    an optional fraction and a unit (``ns``, ``us``/``µs``, ``ms``, ``s``, ``m``, ``h``), such
    as ``4500ns``, ``1.5ms``, ``2s`` or ``1h2m3.5s``; an optional leading ``+``; ``0`` alone.
    Fractions below a nanosecond are truncated, as Go does.

    Raises ValueError naming the input when it is not such a string, is negative, or does not
    fit Go's int64 nanoseconds."""
    body = text[1:] if text.startswith("+") else text
    if body == "0":
        return 0
    if text.startswith("-"):
        raise ValueError(f"duration {text!r} is negative")
    if not body:
        raise ValueError(f"duration {text!r} is empty; expected a number and a unit such as 1.5ms")
    total = 0
    position = 0
    while position < len(body):
        match = _COMPONENT.match(body, position)
        if match is None or not (match[1] or match[2]):
            raise ValueError(f"duration {text!r} is not a Go duration such as 4500ns, 1.5ms or 1h2m3.5s")
        whole, fraction, unit = match[1], match[2] or "", match[3]
        scale = UNITS.get(unit)
        if scale is None:
            raise ValueError(f"duration {text!r} has unknown unit {unit!r} (use ns, us, µs, ms, s, m or h)")
        total += int(whole or "0") * scale + (int(fraction) * scale // 10 ** len(fraction) if fraction else 0)
        if total > MAX_DURATION_NS:
            raise ValueError(f"duration {text!r} overflows Go's int64 nanoseconds")
        position = match.end()
    return total


def _decimal(value: int, scale: int) -> str:
    """``value / scale`` with the fraction's trailing zeros removed (Go's formatting)."""
    whole, fraction = divmod(value, scale)
    if not fraction:
        return str(whole)
    digits = str(fraction).rjust(len(str(scale)) - 1, "0").rstrip("0")
    return f"{whole}.{digits}"


def format_go_duration(ns: int) -> str:
    """Return nanoseconds as Go's ``time.Duration.String`` writes them: ``0s``, ``300ns``,
    ``4.5µs``, ``1.5ms``, ``2s``, ``2m0s``, ``1h2m3.5s``; negative durations with a ``-``."""
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    magnitude = abs(ns)
    if magnitude < MICROSECOND:
        return f"{sign}{magnitude}ns"
    if magnitude < MILLISECOND:
        return f"{sign}{_decimal(magnitude, MICROSECOND)}\u00b5s"
    if magnitude < SECOND:
        return f"{sign}{_decimal(magnitude, MILLISECOND)}ms"
    hours, rest = divmod(magnitude, HOUR)
    minutes, rest = divmod(rest, MINUTE)
    seconds = f"{_decimal(rest, SECOND)}s"
    if hours:
        return f"{sign}{hours}h{minutes}m{seconds}"
    if minutes:
        return f"{sign}{minutes}m{seconds}"
    return f"{sign}{seconds}"
