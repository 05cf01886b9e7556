"""The canonical access-log record and the value conversions every reader shares.

A record is a plain dict whose keys are Istio's JSON access-log names (``CANONICAL_KEYS``) and
the derived ``direction`` (``RECORD_KEYS``, in that order). A record read through a format that
has command operators outside those keys also has ``extra``: a dict of those values keyed by the
operator (see ``meshview.envoy.formats``).

Values:

- ``-`` (and JSON null) is None, and so is a field the format does not have;
- the ``INTEGER_KEYS`` are ints;
- ``response_flags`` is a sorted list of short flag names (``[]`` for ``-``), long names such as
  ``UpstreamOverflow`` mapped to their short form (``UO``);
- ``start_time`` is ISO-8601 UTC with milliseconds (``2024-05-01T12:00:00.123Z``), or the string
  as logged when a custom ``%START_TIME(...)%`` form cannot be read back as a time;
- ``upstream_cluster`` loses the trailing ``;`` that Istio 1.24+ puts on ``%UPSTREAM_CLUSTER%``;
- ``direction`` is ``inbound`` for an ``inbound|`` cluster and InboundPassthroughCluster,
  ``outbound`` for ``outbound|``, PassthroughCluster and BlackHoleCluster, else None.

The converters (``to_int``, ``to_str``, ...) take a raw value, text or decoded JSON, and raise
ValueError with a message meant to follow the field's name (``is not an integer: 'abc'``).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from meshview.mesh.clusters import cluster_direction

Converter = Callable[[Any], Any]

CANONICAL_KEYS: tuple[str, ...] = (
    "start_time",
    "method",
    "path",
    "protocol",
    "response_code",
    "response_flags",
    "response_code_details",
    "connection_termination_details",
    "upstream_transport_failure_reason",
    "bytes_received",
    "bytes_sent",
    "duration",
    "upstream_service_time",
    "x_forwarded_for",
    "user_agent",
    "request_id",
    "authority",
    "upstream_host",
    "upstream_cluster",
    "upstream_local_address",
    "downstream_local_address",
    "downstream_remote_address",
    "requested_server_name",
    "route_name",
)
RECORD_KEYS: tuple[str, ...] = (*CANONICAL_KEYS, "direction")
INTEGER_KEYS = frozenset({"response_code", "bytes_received", "bytes_sent", "duration", "upstream_service_time"})

# Envoy's %RESPONSE_FLAGS_LONG% names and the short names %RESPONSE_FLAGS% prints.
RESPONSE_FLAG_SHORT_NAMES: dict[str, str] = {
    "NoHealthyUpstream": "UH",
    "UpstreamConnectionFailure": "UF",
    "UpstreamOverflow": "UO",
    "NoRouteFound": "NR",
    "UpstreamRetryLimitExceeded": "URX",
    "NoClusterFound": "NC",
    "DurationTimeout": "DT",
    "DownstreamConnectionTermination": "DC",
    "FailedLocalHealthCheck": "LH",
    "UpstreamRequestTimeout": "UT",
    "LocalReset": "LR",
    "UpstreamRemoteReset": "UR",
    "UpstreamConnectionTermination": "UC",
    "DelayInjected": "DI",
    "FaultInjected": "FI",
    "RateLimited": "RL",
    "UnauthorizedExternalService": "UAEX",
    "RateLimitServiceError": "RLSE",
    "InvalidEnvoyRequestHeaders": "IH",
    "StreamIdleTimeout": "SI",
    "DownstreamProtocolError": "DPE",
    "UpstreamProtocolError": "UPE",
    "UpstreamMaxStreamDurationReached": "UMSDR",
    "ResponseFromCacheFilter": "RFCF",
    "NoFilterConfigFound": "NFCF",
    "OverloadManagerTerminated": "OM",
    "DnsResolutionFailed": "DF",
    "DropOverload": "DO",
    "DownstreamRemoteReset": "DR",
    "UnconditionalDropOverload": "UDO",
}

_EMPTY_RECORD: dict[str, Any] = dict.fromkeys(RECORD_KEYS)
# Envoy's own %START_TIME% form, which is already canonical: checking it is all it needs.
ISO_MILLIS_PATTERN = r"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z"
_ISO_MILLIS = re.compile(ISO_MILLIS_PATTERN, re.ASCII)
_FLAG = re.compile(r"[A-Z][A-Za-z]*")  # a short name, or a long one Envoy added since


class ParseError(ValueError):
    """A line or object that is not an access-log record; ``str(error)`` says why."""


def complete_record(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Return a record in ``RECORD_KEYS`` order from canonical ``fields``, the others None,
    with ``direction`` derived from ``upstream_cluster``."""
    record = {**_EMPTY_RECORD, **fields}
    record["direction"] = direction(record["upstream_cluster"])
    return record


def direction(upstream_cluster: str | None) -> str | None:
    """Return ``"inbound"``, ``"outbound"`` or None for an upstream cluster name."""
    return cluster_direction(upstream_cluster)


def to_str(value: Any) -> str | None:
    """Return a text field: None for ``-`` and null; numbers as their decimal text."""
    if value is None or value == "-":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise ValueError(f"is not a string: {value!r}")


def to_int(value: Any) -> int | None:
    """Return a count or duration as an int, None for ``-`` and null; raises ValueError for
    anything else, a negative number included."""
    if value is None or value == "-":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"is negative: {value}")
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    raise ValueError(f"is not an integer: {value!r}")


def to_flags(value: Any) -> list[str]:
    """Return response flags as a sorted list of short names, ``[]`` for ``-``, null and empty."""
    if value is None or value == "-" or value == "":
        return []
    if not isinstance(value, str):
        raise ValueError(f"is not a list of response flags: {value!r}")
    flags = sorted(RESPONSE_FLAG_SHORT_NAMES.get(flag, flag) for flag in value.split(","))
    for flag in flags:
        if not _FLAG.fullmatch(flag):
            raise ValueError(f"has an unknown response flag: {flag!r}")
    return flags


def to_cluster(value: Any) -> str | None:
    """Return an ``%UPSTREAM_CLUSTER%`` name without the stats-name ``;`` Istio 1.24+ appends."""
    name = to_str(value)
    if name is not None and name.endswith(";"):
        return name[:-1]
    return name


def to_iso_time(value: Any) -> str | None:
    """Return an ISO-8601 time normalized to UTC milliseconds (``YYYY-MM-DDTHH:MM:SS.mmmZ``).

    A time without an offset is taken as UTC, as Envoy logs it.
    """
    if value is None or value == "-":
        return None
    if not isinstance(value, str):
        raise ValueError(f"is not an ISO-8601 timestamp: {value!r}")
    if _ISO_MILLIS.fullmatch(value):
        return value
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"is not an ISO-8601 timestamp: {value!r}") from None
    return format_utc(moment)


def format_utc(moment: datetime) -> str:
    """Return ``moment`` (naive means UTC) as ``YYYY-MM-DDTHH:MM:SS.mmmZ``, truncated to ms."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


CONVERTERS: dict[str, Converter] = {key: to_int if key in INTEGER_KEYS else to_str for key in CANONICAL_KEYS} | {
    "start_time": to_iso_time,
    "response_flags": to_flags,
    "upstream_cluster": to_cluster,
}


def start_time_epoch_ms(record: Mapping[str, Any]) -> int | None:
    """Return the record's ``start_time`` as milliseconds since the Unix epoch.

    Returns None when the record has no start time or keeps it in a custom form.
    """
    value = record.get("start_time")
    if not isinstance(value, str) or _ISO_MILLIS.fullmatch(value) is None:
        return None
    return _epoch_seconds(value[:19]) * 1000 + int(value[20:23])


@lru_cache(maxsize=4096)
def _epoch_seconds(second: str) -> int:
    # A stream's records share their seconds, so this cache saves most of the arithmetic.
    fields = (second[0:4], second[5:7], second[8:10], second[11:13], second[14:16], second[17:19])
    return calendar.timegm(tuple(int(field) for field in fields))
