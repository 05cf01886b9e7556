"""Envoy access-log format strings: the built-in layouts and the compiler that reads any of them.

``BUILTIN_FORMATS`` holds Envoy's default format and Istio's default TEXT layouts by version:

========== =====================================================================================
name       layout
========== =====================================================================================
envoy      Envoy's default; Istio 1.0 gateways
istio-1.0  Istio 1.0 sidecars: + upstream cluster and the three addresses
istio-1.0-sni  later Istio 1.0 releases: + requested server name (no Mixer status yet)
istio-1.1  + quoted Mixer status after the flags, + requested server name
istio-1.2  + quoted upstream transport failure reason after the Mixer status
istio-1.3  + route name (Istio 1.3 to 1.7)
istio-1.8  Mixer status gone
istio-1.9  + response code details and connection termination details (Istio 1.9 to 1.23)
istio-1.24 ``%UPSTREAM_CLUSTER_RAW%`` instead of ``%UPSTREAM_CLUSTER%`` (today's default)
========== =====================================================================================

``compile_format(fmt)`` turns a format string into a ``CompiledFormat``: one regex with a named
group per command operator. Operators map to record keys (see ``meshview.envoy.record``):

- ``%START_TIME%``, ``%START_TIME(spec)%``, ``%REQ(:METHOD)%``, ``%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%``
  (any ``REQ`` whose first header is ``:PATH`` or ``X-ENVOY-ORIGINAL-PATH``), ``%PROTOCOL%``,
  ``%RESPONSE_CODE%``, ``%RESPONSE_FLAGS%``, ``%RESPONSE_FLAGS_LONG%``, ``%RESPONSE_CODE_DETAILS%``,
  ``%CONNECTION_TERMINATION_DETAILS%``, ``%UPSTREAM_TRANSPORT_FAILURE_REASON%``, ``%BYTES_RECEIVED%``,
  ``%BYTES_SENT%``, ``%DURATION%``, ``%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%``, ``%REQ(X-FORWARDED-FOR)%``,
  ``%REQ(USER-AGENT)%``, ``%REQ(X-REQUEST-ID)%``, ``%REQ(:AUTHORITY)%`` (or ``HOST``),
  ``%UPSTREAM_HOST%``, ``%UPSTREAM_CLUSTER%``, ``%UPSTREAM_CLUSTER_RAW%``, ``%UPSTREAM_LOCAL_ADDRESS%``,
  ``%DOWNSTREAM_LOCAL_ADDRESS%``, ``%DOWNSTREAM_REMOTE_ADDRESS%``, ``%REQUESTED_SERVER_NAME%``,
  ``%ROUTE_NAME%`` fill the canonical keys; a second operator for a key already filled is matched
  and dropped.
- Mixer's policy status, ``%DYNAMIC_METADATA(istio.mixer:status)%`` (Istio 1.1 to 1.7), is
  matched and dropped, as ``istio_policy_status`` is in JSON.
- Every other operator (``%GRPC_STATUS%``, ``%FILTER_STATE(...)%``, ``%DOWNSTREAM_PEER_URI_SAN%``,
  ``%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%``, ...) goes into the record's ``extra`` dict under its
  lowercased name followed by its argument as written: ``grpc_status``,
  ``dynamic_metadata(istio.peer:name)``, ``req(X-B3-TRACEID)``. Durations, byte counts, attempt
  counts, connection ids and ``%GRPC_STATUS(NUMBER)%`` are ints there; the rest are strings.

The truncation suffix (``:N``) does not change matching. ``%%`` is a literal percent sign.
In a request line (``"%REQ(:METHOD)% %REQ(:PATH)% %PROTOCOL%"``) the protocol is the last word
and the path everything between the method and it: Envoy prints a path's raw spaces as they came.
A value is a run of non-blanks, except that an operator directly followed by a ``"`` is a quoted
field, which may hold blanks, commas and quotes (a quote inside counts as the closing one only
when the format's text after the closing quote follows it). Matching ignores trailing whitespace.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from meshview.envoy.record import (
    CANONICAL_KEYS,
    CONVERTERS,
    ISO_MILLIS_PATTERN,
    Converter,
    ParseError,
    complete_record,
    direction,
    to_int,
    to_iso_time,
    to_str,
)
from meshview.envoy.timefmt import TimeFormat

_REQUEST_LINE = (
    '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS%'
)
_COUNTS = (
    '%BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" '
    '"%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"'
)
_ADDRESSES = "%UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS%"
_MIXER = '"%DYNAMIC_METADATA(istio.mixer:status)%"'
_FAILURE_REASON = '"%UPSTREAM_TRANSPORT_FAILURE_REASON%"'
_DETAILS = "%RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS%"

BUILTIN_FORMATS: dict[str, str] = {
    "envoy": f"{_REQUEST_LINE} {_COUNTS}",
    "istio-1.0": f"{_REQUEST_LINE} {_COUNTS} %UPSTREAM_CLUSTER% {_ADDRESSES}",
    "istio-1.0-sni": f"{_REQUEST_LINE} {_COUNTS} %UPSTREAM_CLUSTER% {_ADDRESSES} %REQUESTED_SERVER_NAME%",
    "istio-1.1": f"{_REQUEST_LINE} {_MIXER} {_COUNTS} %UPSTREAM_CLUSTER% {_ADDRESSES} %REQUESTED_SERVER_NAME%",
    "istio-1.2": (
        f"{_REQUEST_LINE} {_MIXER} {_FAILURE_REASON} {_COUNTS} %UPSTREAM_CLUSTER% {_ADDRESSES} %REQUESTED_SERVER_NAME%"
    ),
    "istio-1.3": (
        f"{_REQUEST_LINE} {_MIXER} {_FAILURE_REASON} {_COUNTS} %UPSTREAM_CLUSTER% {_ADDRESSES} "
        "%REQUESTED_SERVER_NAME% %ROUTE_NAME%"
    ),
    "istio-1.8": (
        f"{_REQUEST_LINE} {_FAILURE_REASON} {_COUNTS} %UPSTREAM_CLUSTER% {_ADDRESSES} "
        "%REQUESTED_SERVER_NAME% %ROUTE_NAME%"
    ),
    "istio-1.9": (
        f"{_REQUEST_LINE} {_DETAILS} {_FAILURE_REASON} {_COUNTS} %UPSTREAM_CLUSTER% {_ADDRESSES} "
        "%REQUESTED_SERVER_NAME% %ROUTE_NAME%"
    ),
    "istio-1.24": (
        f"{_REQUEST_LINE} {_DETAILS} {_FAILURE_REASON} {_COUNTS} %UPSTREAM_CLUSTER_RAW% {_ADDRESSES} "
        "%REQUESTED_SERVER_NAME% %ROUTE_NAME%"
    ),
}

# The order in which ``auto`` tries the layouts: the most specific first. Only istio-1.24 and
# istio-1.9 can both match one line; a cluster printed with the 1.24+ ``;`` suffix fails the
# first (a raw cluster name never ends in ``;``) and is read, suffix stripped, by the second.
AUTO_ORDER: tuple[str, ...] = (
    "istio-1.24",
    "istio-1.9",
    "istio-1.8",
    "istio-1.3",
    "istio-1.2",
    "istio-1.1",
    "istio-1.0-sni",
    "istio-1.0",
    "envoy",
)

_COMMAND = re.compile(r"%(?:(%)|([A-Z][A-Z0-9_]*)(?:\(([^)]*)\))?(?::\d+)?%)")

_INTEGER = r"\d+"
_CLUSTER = r'[^\s;"]+(?:;[^\s;"]+)*'

_OPERATOR_KEYS = {
    "PROTOCOL": "protocol",
    "RESPONSE_CODE": "response_code",
    "RESPONSE_CODE_DETAILS": "response_code_details",
    "CONNECTION_TERMINATION_DETAILS": "connection_termination_details",
    "UPSTREAM_TRANSPORT_FAILURE_REASON": "upstream_transport_failure_reason",
    "BYTES_RECEIVED": "bytes_received",
    "BYTES_SENT": "bytes_sent",
    "DURATION": "duration",
    "UPSTREAM_HOST": "upstream_host",
    "UPSTREAM_LOCAL_ADDRESS": "upstream_local_address",
    "DOWNSTREAM_LOCAL_ADDRESS": "downstream_local_address",
    "DOWNSTREAM_REMOTE_ADDRESS": "downstream_remote_address",
    "REQUESTED_SERVER_NAME": "requested_server_name",
    "ROUTE_NAME": "route_name",
}
_REQUEST_HEADER_KEYS = {
    ":METHOD": "method",
    ":PATH": "path",
    "X-ENVOY-ORIGINAL-PATH": "path",
    "X-FORWARDED-FOR": "x_forwarded_for",
    "USER-AGENT": "user_agent",
    "X-REQUEST-ID": "request_id",
    ":AUTHORITY": "authority",
    "HOST": "authority",
}
_RESPONSE_HEADER_KEYS = {"X-ENVOY-UPSTREAM-SERVICE-TIME": "upstream_service_time"}
_DROPPED = frozenset({("DYNAMIC_METADATA", "istio.mixer:status")})
_INTEGER_EXTRAS = frozenset({"UPSTREAM_REQUEST_ATTEMPT_COUNT", "CONNECTION_ID", "UPSTREAM_CONNECTION_ID"})


@dataclass(frozen=True)
class Field:
    """What one command operator contributes to a record.

    ``key`` is a canonical key when ``canonical``, else the key in ``extra``. ``value`` is a
    regex for a well-formed value (None: whatever the operator's place in the line allows) and
    ``suffix`` a regex for text Envoy prints after the value that is not part of it. ``convert``
    checks and converts any raw value; ``post`` converts a value ``value`` already checked, with
    ``-`` arriving as None (None: keep the text).
    """

    key: str
    canonical: bool
    convert: Converter
    value: str | None = None
    suffix: str = ""
    post: Callable[[str | None], Any] | None = None


def _int_or_none(value: str | None) -> int | None:
    return None if value is None else int(value)


def _sorted_flags(value: str | None) -> list[str]:
    return [] if value is None else sorted(value.split(","))


def command_field(name: str, arg: str | None) -> Field | None:
    """Return the Field for operator ``%name(arg)%``, or None for one that is matched and dropped."""
    if (name, arg) in _DROPPED:
        return None
    key = _canonical_key(name, arg)
    if key is None:
        extra_key = name.lower() + (f"({arg})" if arg is not None else "")
        if name in _INTEGER_EXTRAS or name.endswith(("DURATION", "BYTES_SENT", "BYTES_RECEIVED")):
            return Field(extra_key, False, to_int, _INTEGER)
        if name == "GRPC_STATUS" and arg == "NUMBER":
            return Field(extra_key, False, to_int, _INTEGER)
        return Field(extra_key, False, to_str)
    convert = CONVERTERS[key]
    if key == "start_time":
        if arg is None:
            return Field(key, True, to_iso_time, ISO_MILLIS_PATTERN)
        time_format = TimeFormat(arg)
        return Field(key, True, time_format.convert, time_format.pattern, post=time_format.convert)
    if key == "response_flags":
        if name == "RESPONSE_FLAGS_LONG":
            return Field(key, True, convert, r"[A-Za-z]+(?:,[A-Za-z]+)*", post=convert)
        return Field(key, True, convert, r"[A-Z]+(?:,[A-Z]+)*", post=_sorted_flags)
    if key == "upstream_cluster":
        # The raw name is kept as logged; %UPSTREAM_CLUSTER% loses Istio 1.24's trailing ";".
        if name == "UPSTREAM_CLUSTER_RAW":
            return Field(key, True, to_str, _CLUSTER)
        return Field(key, True, convert, _CLUSTER, suffix=";?")
    if convert is to_int:
        return Field(key, True, to_int, _INTEGER, post=_int_or_none)
    return Field(key, True, convert)


def _canonical_key(name: str, arg: str | None) -> str | None:
    if name == "START_TIME":
        return "start_time"
    if name in ("RESPONSE_FLAGS", "RESPONSE_FLAGS_LONG"):
        return "response_flags"
    if name in ("UPSTREAM_CLUSTER", "UPSTREAM_CLUSTER_RAW"):
        return "upstream_cluster"
    if name in ("REQ", "RESP") and arg:
        header = arg.split("?", 1)[0].strip().upper()
        return (_REQUEST_HEADER_KEYS if name == "REQ" else _RESPONSE_HEADER_KEYS).get(header)
    if arg is None:
        return _OPERATOR_KEYS.get(name)
    return None


def parse_format(fmt: str) -> list[str | tuple[str, str | None]]:
    """Split a format string into literal text and ``(name, arg)`` command operators.

    Raises ValueError for a ``%`` that starts neither an operator nor ``%%``.
    """
    tokens: list[str | tuple[str, str | None]] = []
    literal: list[str] = []
    position = 0
    for command in _COMMAND.finditer(fmt):
        text = fmt[position : command.start()]
        if "%" in text:
            break
        literal.append(text)
        position = command.end()
        percent, name, arg = command.groups()
        if percent:
            literal.append("%")
            continue
        if literal:
            tokens.append("".join(literal))
            literal = []
        tokens.append((name, arg))
    rest = fmt[position:]
    if "%" in rest:
        offset = position + rest.index("%")
        raise ValueError(f"malformed command operator at offset {offset} of the format: {fmt[offset : offset + 30]!r}")
    if literal or rest:
        tokens.append("".join(literal) + rest)
    return [token for token in tokens if token != ""]


class CompiledFormat:
    """A format string compiled to one regex; ``match`` reads a line into a record.

    ``strict`` is the regex of well-formed lines, used first and fast. A line it misses is tried
    against a lenient regex (any text where the strict one wants a number, a flag list or a
    time) so that a bad value is reported by name instead of as a mismatch.
    """

    def __init__(self, fmt: str, name: str | None = None) -> None:
        self.name = name
        tokens = parse_format(fmt.rstrip())
        if not any(isinstance(token, tuple) for token in tokens):
            raise ValueError("the format has no command operator")
        strict: list[str] = []
        lenient: list[str] = []
        self._fields: dict[str, Field] = {}
        for index, token in enumerate(tokens):
            if isinstance(token, str):
                strict.append(re.escape(token))
                lenient.append(re.escape(token))
                continue
            field = command_field(*token)
            following = tokens[index + 1] if index + 1 < len(tokens) else None
            after = tokens[index + 2] if index + 2 < len(tokens) else None
            loose = _request_line_value(field, following, after) or _context_value(following, after)
            if field is None or (field.canonical and field.key in self._fields):
                typed = field.value if field is not None and field.value else loose
                strict.append(f"(?:{typed})")
                lenient.append(f"(?:{loose})")
                continue
            group = field.key if field.canonical else f"extra{index}"
            self._fields[group] = field
            strict.append(f"(?:-|(?P<{group}>{field.value or loose}){field.suffix})")
            lenient.append(f"(?P<{group}>{loose})")
        tail = r"\s*\Z"
        # ASCII: a count is ASCII digits, and blanks are what Envoy prints between fields.
        self.strict = re.compile("".join(strict) + tail, re.ASCII)
        self._lenient_source = "".join(lenient) + tail
        self._lenient: re.Pattern[str] | None = None
        posts = [(group, field.post) for group, field in self._fields.items() if field.canonical and field.post]
        # Counts and durations are the most common conversion: done inline, without a call each.
        self._int_groups = tuple(group for group, post in posts if post is _int_or_none)
        self._posts = tuple((group, post) for group, post in posts if post is not _int_or_none)
        self._has_extras = any(not field.canonical for field in self._fields.values())
        # A format with every canonical key in record order needs no filling in or reordering.
        self._complete = tuple(self._fields) == CANONICAL_KEYS

    @property
    def label(self) -> str:
        """How error messages name this format."""
        return f"the {self.name} format" if self.name else "the format"

    def match(self, line: str) -> dict[str, Any] | None:
        """Return the record for a well-formed line, None when the strict regex misses it.

        Raises ParseError for a value the regex admits but its conversion rejects.
        """
        found = self.strict.match(line)
        if found is None:
            return None
        fields = found.groupdict()
        for group in self._int_groups:
            value = fields[group]
            if value is not None:
                fields[group] = int(value)
        try:
            for group, post in self._posts:
                fields[group] = post(fields[group])
        except ValueError as error:
            raise ParseError(f"{self._fields[group].key} {error}") from None
        if self._has_extras:
            return self._assemble(fields, post_done=True)
        if self._complete:
            fields["direction"] = direction(fields["upstream_cluster"])
            return fields
        return complete_record(fields)

    def match_lenient(self, line: str) -> dict[str, Any] | None:
        """Return the record for a line the strict regex missed, None when this format cannot
        have written it at all.

        Raises ParseError naming the field whose value is bad.
        """
        if self._lenient is None:
            self._lenient = re.compile(self._lenient_source, re.ASCII)
        found = self._lenient.match(line)
        if found is None:
            return None
        return self._assemble(found.groupdict(), post_done=False)

    def _assemble(self, fields: dict[str, Any], *, post_done: bool) -> dict[str, Any]:
        """Convert the matched ``fields`` (all of them unless ``post_done``) into a record."""
        canonical: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for group, field in self._fields.items():
            value = fields[group]
            if not post_done or not field.canonical:
                try:
                    value = field.convert(value)
                except ValueError as error:
                    raise ParseError(f"{field.key} {error}") from None
            if field.canonical:
                canonical[group] = value
            else:
                extra[field.key] = value
        record = complete_record(canonical)
        if self._has_extras:
            record["extra"] = extra
        return record


@cache
def builtin_format(name: str) -> CompiledFormat:
    """Return the compiled built-in layout ``name``; raises KeyError for an unknown name."""
    return CompiledFormat(BUILTIN_FORMATS[name], name)


def _request_line_value(field: Field | None, following: str | tuple[str, str | None] | None,
                        after: object) -> str | None:
    """Return the regex of the path or the protocol in a request line, None elsewhere: a path
    followed by `` %PROTOCOL%`` takes words up to the last one before the closing quote, which
    is the protocol's."""
    if field is None or not field.canonical:
        return None
    if field.key == "path" and following == " " and after == ("PROTOCOL", None):
        return r"\S++(?: \S++)*?"
    if field.key == "protocol" and isinstance(following, str) and following.startswith('"'):
        return r'[^\s"]++'
    return None


def _context_value(following: str | tuple[str, str | None] | None, after: object) -> str:
    """Return the regex of a value that ``following`` (the next token, None at the end) ends.

    ``after`` is the token after ``following``.
    """
    if following is None or (isinstance(following, str) and following[0].isspace()):
        return r"\S++"
    if isinstance(following, str) and following[0] == '"':
        # A quote inside the value is one not followed by the format's text after the closing one.
        if len(following) > 1:
            closing = re.escape(following[1:])
        elif after is None:
            closing = r"\s*\Z"
        else:
            return '[^"]*+'
        return rf'[^"]*+(?:"(?!{closing})[^"]*+)*+'
    return r"\S+?"
