"""JSON access logs: Istio's encoding, Envoy Gateway's and custom ``json_format`` key sets.

``JsonFormat()`` reads Istio's JSON keys (the canonical keys themselves, in any order, values
string-typed with ``-`` for unset as older Istio prints them, or typed with numbers and nulls as
newer Istio does) and Envoy Gateway's default keys (``:authority``, ``user-agent``,
``x-forwarded-for``, ``x-request-id``, ``x-envoy-origin-path``, ``x-envoy-upstream-service-time``
and the canonical names for the rest), and the spellings custom ``log_format`` maps often give a
header's key (``x_request_id``, ``x_envoy_upstream_service_time``, ``byte_sent``,
``byte_received``: ``COMMON_KEYS``). Other keys, ``istio_policy_status`` among them, are ignored.

``JsonFormat(mapping)`` reads objects written with an Envoy ``json_format`` mapping of keys to
command operators (``{"code": "%RESPONSE_CODE%", "peer": "%DOWNSTREAM_PEER_URI_SAN%"}``): each
key's operator decides its record key exactly as in a text format, operators outside the
canonical keys fill ``extra``, and constant values are ignored.

``parse_json_record(obj)`` reads an already-decoded object and ``parse_json_line(line)`` one line
of text, both with Istio's and Envoy Gateway's keys; both raise ParseError.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from meshview.envoy.formats import Field, command_field, parse_format
from meshview.envoy.record import CANONICAL_KEYS, CONVERTERS, ParseError, complete_record

ENVOY_GATEWAY_KEYS: dict[str, str] = {
    ":authority": "authority",
    "user-agent": "user_agent",
    "x-forwarded-for": "x_forwarded_for",
    "x-request-id": "request_id",
    "x-envoy-origin-path": "path",
    "x-envoy-upstream-service-time": "upstream_service_time",
}

# Keys custom json_format maps name after the header or misspell, and the canonical key of each.
COMMON_KEYS: dict[str, str] = {
    "x_request_id": "request_id",
    "x_envoy_upstream_service_time": "upstream_service_time",
    "byte_sent": "bytes_sent",
    "byte_received": "bytes_received",
}


class JsonFormat:
    """A JSON key set: which key fills which record field and how its value converts."""

    def __init__(self, mapping: Mapping[str, str] | None = None) -> None:
        self._fields: dict[str, Field] = {}
        if mapping is None:
            keys = COMMON_KEYS | ENVOY_GATEWAY_KEYS | {key: key for key in CANONICAL_KEYS}
            self._fields = {name: Field(key, True, CONVERTERS[key]) for name, key in keys.items()}
        else:
            for name, value in mapping.items():
                field = _mapped_field(name, value)
                if field is not None:
                    self._fields[name] = field
        self._has_extras = any(not field.canonical for field in self._fields.values())

    def record(self, obj: Any) -> dict[str, Any]:
        """Return the record for a decoded JSON object.

        Raises ParseError when ``obj`` is not an object, has none of the known keys, or holds a
        value its field cannot take.
        """
        if not isinstance(obj, dict):
            raise ParseError(f"JSON value is not an object but {type(obj).__name__}")
        canonical: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for name, value in obj.items():
            field = self._fields.get(name)
            if field is None:
                continue
            try:
                converted = field.convert(value)
            except ValueError as error:
                raise ParseError(f"{name} {error}") from None
            if field.canonical:
                canonical[field.key] = converted
            else:
                extra[field.key] = converted
        if not canonical and not extra:
            raise ParseError("JSON object has none of the access-log keys")
        record = complete_record(canonical)
        if self._has_extras:
            record["extra"] = extra
        return record

    def parse(self, line: str) -> dict[str, Any]:
        """Return the record for one line of JSON text; raises ParseError."""
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as error:
            raise ParseError(f"invalid JSON: {error.msg} at column {error.colno}") from None
        except RecursionError:
            raise ParseError("invalid JSON: nested too deeply") from None
        return self.record(obj)


def _mapped_field(name: str, value: str) -> Field | None:
    """Return the Field of a ``json_format`` entry, None for a constant or dropped operator.

    Raises ValueError for a value mixing operators with other text, which JSON fields cannot
    be split back into.
    """
    tokens = parse_format(value)
    commands = [token for token in tokens if isinstance(token, tuple)]
    if not commands:
        return None
    if len(tokens) != 1:
        raise ValueError(f"json_format value of {name!r} must be a single command operator: {value!r}")
    return command_field(*commands[0])


ISTIO_JSON = JsonFormat()


def parse_json_record(obj: Any) -> dict[str, Any]:
    """Return the record for a decoded Istio or Envoy Gateway JSON log object; raises ParseError."""
    return ISTIO_JSON.record(obj)


def parse_json_line(line: str) -> dict[str, Any]:
    """Return the record for one Istio or Envoy Gateway JSON log line; raises ParseError."""
    return ISTIO_JSON.parse(line)
