"""Envoy and Istio access logs: formats, and the parser that reads them into canonical records.

Pure Python, no Django. The public API:

- ``LogParser(fmt="auto", *, max_line_length=65536)``: ``parse_line(line) -> dict`` (raises
  ``ParseError``) and ``parse_lines(lines, start=1)`` yielding ``(line number, record or None,
  error or None)``, blank lines skipped (``meshview.envoy.parser``).
- ``parse_json_record(obj) -> dict`` and ``parse_json_line(line) -> dict`` for Istio and Envoy
  Gateway JSON; ``JsonFormat(mapping)`` for custom ``json_format`` key sets
  (``meshview.envoy.jsonlog``).
- ``BUILTIN_FORMATS``: Envoy's default and Istio's default TEXT layouts by version;
  ``CompiledFormat`` compiles any format string (``meshview.envoy.formats``).
- ``CANONICAL_KEYS``, ``RECORD_KEYS``, ``ParseError``, ``start_time_epoch_ms(record)``: the record
  and its rules (``meshview.envoy.record``).
"""

from meshview.envoy.formats import BUILTIN_FORMATS, CompiledFormat
from meshview.envoy.jsonlog import JsonFormat, parse_json_line, parse_json_record
from meshview.envoy.parser import MAX_LINE_LENGTH, LogParser
from meshview.envoy.record import CANONICAL_KEYS, RECORD_KEYS, ParseError, start_time_epoch_ms

__all__ = [
    "BUILTIN_FORMATS",
    "CANONICAL_KEYS",
    "MAX_LINE_LENGTH",
    "RECORD_KEYS",
    "CompiledFormat",
    "JsonFormat",
    "LogParser",
    "ParseError",
    "parse_json_line",
    "parse_json_record",
    "start_time_epoch_ms",
]
