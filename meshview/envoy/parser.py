"""Reading access-log lines, one at a time or as a stream: ``LogParser``.

``LogParser(fmt)`` takes a built-in layout name (``BUILTIN_FORMATS``), ``"json"``, ``"auto"``, a
literal Envoy format string, or a ``json_format`` mapping of JSON keys to command operators.

``auto`` reads every built-in text layout and JSON. It tries the layout that matched the
previous line first and the others, most specific first, only when that one misses; a line that
starts with ``{`` (after the prefixes below) is read as JSON.

Before giving up on a line, every parser strips a byte-order mark and the prefixes that
``kubectl logs --timestamps`` (``2024-05-01T12:00:00.123456789Z ``) and ``kubectl logs
--prefix`` (``[pod/NAME/CONTAINER] ``) add, in either order. Trailing whitespace and CRLF never
matter. A line longer than ``max_line_length`` characters is rejected unread.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from meshview.envoy.formats import AUTO_ORDER, BUILTIN_FORMATS, CompiledFormat, builtin_format
from meshview.envoy.jsonlog import ISTIO_JSON, JsonFormat
from meshview.envoy.record import ParseError

MAX_LINE_LENGTH = 64 * 1024

_PREFIXES = re.compile(
    r"\ufeff?(?:(?:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)|\[pod/[^\s\]]+\])(?: |\Z))*"
)


def strip_prefixes(line: str) -> str:
    """Return ``line`` without a byte-order mark and kubectl's timestamp and pod prefixes."""
    match = _PREFIXES.match(line)
    return line[match.end() :] if match else line


class LogParser:
    """Reads access-log lines in one format (or ``auto``) into canonical records.

    A parser remembers which layout the last line had, so use one per stream.
    """

    def __init__(self, fmt: str | Mapping[str, str] = "auto", *, max_line_length: int = MAX_LINE_LENGTH) -> None:
        """Raises ValueError for an unknown format name or a malformed format."""
        self.max_line_length = max_line_length
        self._json: JsonFormat | None = None
        self._formats: tuple[CompiledFormat, ...] = ()
        if isinstance(fmt, Mapping):
            self._json = JsonFormat(fmt)
        elif fmt == "auto":
            self._json = ISTIO_JSON
            self._formats = tuple(builtin_format(name) for name in AUTO_ORDER)
        elif fmt == "json":
            self._json = ISTIO_JSON
        elif fmt in BUILTIN_FORMATS:
            self._formats = (builtin_format(fmt),)
        elif "%" in fmt:
            self._formats = (CompiledFormat(fmt),)
        else:
            names = ", ".join([*BUILTIN_FORMATS, "json", "auto"])
            raise ValueError(f"unknown format {fmt!r}: give one of {names} or an Envoy format string")
        self._current = self._formats[0] if self._formats else None
        if len(self._formats) == 1:
            self._miss = f"line does not match {self._formats[0].label}"
        else:
            self._miss = "line does not match any known layout"

    def parse_line(self, line: str) -> dict[str, Any]:
        """Return the canonical record of one line.

        Raises ParseError saying why when the line is empty, too long, matches no layout, or
        holds a value its field cannot take.
        """
        if len(line) > self.max_line_length:
            raise ParseError(f"line longer than {self.max_line_length} characters")
        current = self._current
        if current is not None:
            record = current.match(line)
            if record is not None:
                return record
        return self._parse_unusual(line)

    def parse_lines(
        self, lines: Iterable[str], start: int = 1
    ) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
        """Yield ``(line number, record, None)`` or ``(line number, None, reason)`` per line.

        Lines are numbered from ``start``; blank lines (after prefixes) are skipped. A bad line
        never ends the stream.
        """
        for number, line in enumerate(lines, start):
            try:
                yield number, self.parse_line(line), None
            except ParseError as error:
                if strip_prefixes(line).strip():
                    yield number, None, str(error)

    def _parse_unusual(self, line: str) -> dict[str, Any]:
        """Read a line the current layout missed: strip prefixes, try JSON, the other layouts,
        then the lenient matchers that name a bad field."""
        text = strip_prefixes(line)
        if not text.strip():
            raise ParseError("line is empty")
        if self._json is not None and (not self._formats or text.lstrip().startswith("{")):
            return self._json.parse(text)
        # sorted() is stable: the current layout first, then the others in their own order.
        for candidate in sorted(self._formats, key=lambda other: other is not self._current):
            record = candidate.match(text)
            if record is not None:
                self._current = candidate
                return record
        for candidate in self._formats:
            record = candidate.match_lenient(text)
            if record is not None:
                return record
        raise ParseError(self._miss)
