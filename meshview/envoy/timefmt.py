"""Reading back the times that ``%START_TIME(...)%`` prints with a strftime-style argument.

``TimeFormat(spec)`` knows the strftime directives, Envoy's fractional seconds (``%f`` is nine
digits, ``%1f`` to ``%9f`` that many) and ``%s`` (seconds since the epoch). Its ``pattern`` is a
regex (without groups) matching what Envoy prints, and ``convert`` turns such a value into the
canonical ``YYYY-MM-DDTHH:MM:SS.mmmZ``. A spec that does not name a full date and time (only
``%H:%M``, say) or uses a directive meshview does not read back (``%j``, ``%c``, ...) still
matches, and ``convert`` then keeps the value as logged.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from meshview.envoy.record import format_utc

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DIRECTIVE = re.compile(r"%(\d?)([A-Za-z%])")
_COMPOSITES = {"T": "%H:%M:%S", "F": "%Y-%m-%d", "D": "%m/%d/%y", "R": "%H:%M"}
# directive -> (the group its value feeds, or None when it carries nothing meshview needs; regex)
_DIRECTIVES: dict[str, tuple[str | None, str]] = {
    "Y": ("year", r"\d{4}"),
    "y": ("year2", r"\d\d"),
    "m": ("month", r"\d\d"),
    "b": ("month_name", r"[A-Za-z]{3}"),
    "h": ("month_name", r"[A-Za-z]{3}"),
    "B": ("month_name", r"[A-Za-z]{3,9}"),
    "d": ("day", r"\d\d"),
    "e": ("day", r"[ \d]\d"),
    "H": ("hour", r"\d\d"),
    "M": ("minute", r"\d\d"),
    "S": ("second", r"\d\d"),
    "s": ("epoch", r"\d+"),
    "z": ("offset", r"[+-]\d\d:?\d\d|Z"),
    "Z": (None, r"[A-Za-z]+"),
    "a": (None, r"[A-Za-z]{3}"),
    "A": (None, r"[A-Za-z]{6,9}"),
}


class TimeFormat:
    """A ``%START_TIME(spec)%`` argument: its regex and the conversion back to a timestamp."""

    def __init__(self, spec: str) -> None:
        self.spec = spec
        parts: list[str] = []
        named: list[str] = []
        readable = True
        position = 0
        expanded = _expand(spec)
        for directive in _DIRECTIVE.finditer(expanded):
            parts.append(re.escape(expanded[position : directive.start()]))
            position = directive.end()
            width, letter = directive.groups()
            if letter == "%":
                parts.append("%")
                continue
            group: str | None
            if letter == "f":
                group, value = "fraction", rf"\d{{{int(width or 9)}}}"
            elif letter in _DIRECTIVES and not width:
                group, value = _DIRECTIVES[letter]
            else:
                group, value, readable = None, r".+?", False
            if group is not None and group not in named:
                named.append(group)
                parts.append(f"(?P<{group}>{value})")
            else:
                parts.append(f"(?:{value})")
        parts.append(re.escape(expanded[position:]))
        self._regex = re.compile("".join(parts), re.ASCII)
        # The line regex embeds this one, where its groups would clash with the line's own.
        self.pattern = re.sub(r"\(\?P<\w+>", "(?:", self._regex.pattern)
        has_date = "year" in named or "year2" in named
        has_date = has_date and ("month" in named or "month_name" in named) and "day" in named
        self.readable = readable and ("epoch" in named or (has_date and "hour" in named and "minute" in named))

    def convert(self, value: Any) -> str | None:
        """Return the canonical UTC timestamp for a value printed with this spec, None for ``-``.

        Returns the value unchanged when the spec cannot be read back; raises ValueError when the
        value does not match the spec or names an impossible time.
        """
        if value is None or value == "-":
            return None
        text = value if isinstance(value, str) else str(value)
        match = self._regex.fullmatch(text)
        if match is None:
            raise ValueError(f"does not match %START_TIME({self.spec})%: {text!r}")
        if not self.readable:
            return text
        fields = {group: text for group, text in match.groupdict().items() if text is not None}
        try:
            moment = _moment(fields)
        except (ValueError, OverflowError):
            raise ValueError(f"is not a valid time: {text!r}") from None
        fraction = fields.get("fraction")
        if fraction:
            moment = moment.replace(microsecond=int(fraction[:6].ljust(6, "0")))
        return format_utc(moment)


def _expand(spec: str) -> str:
    """Return ``spec`` with %T, %F, %D and %R spelled out (a literal ``%%`` stays)."""

    def spelled_out(directive: re.Match[str]) -> str:
        width, letter = directive.groups()
        return directive.group(0) if width else _COMPOSITES.get(letter, directive.group(0))

    return _DIRECTIVE.sub(spelled_out, spec)


def _moment(fields: dict[str, str]) -> datetime:
    """Return the aware datetime the matched fields name (fraction not included).

    Raises ValueError (or OverflowError) for an impossible time.
    """
    if "epoch" in fields:
        return _EPOCH + timedelta(seconds=int(fields["epoch"]))
    year = int(fields["year"]) if "year" in fields else 2000 + int(fields["year2"])
    month_name = fields.get("month_name")
    month = _MONTHS.index(month_name[:3].lower()) + 1 if month_name else int(fields["month"])
    hour, minute, second = int(fields["hour"]), int(fields["minute"]), int(fields.get("second", "0"))
    moment = datetime(year, month, int(fields["day"]), hour, minute, second, tzinfo=UTC)
    offset = fields.get("offset", "Z")
    if offset != "Z":
        digits = offset[1:].replace(":", "")
        delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        moment -= delta if offset[0] == "+" else -delta
    return moment
