"""Silence matchers as Alertmanager's API v2 writes them: `{name, value, isRegex, isEqual}`."""

import re
from collections.abc import Mapping, Sequence
from typing import Any


def check_matchers(matchers: Any) -> list[dict[str, Any]]:
    """Return the matchers with defaults filled in (`isRegex` false, `isEqual` true); raise
    ValueError naming the matcher and field that is wrong."""
    if not isinstance(matchers, list) or not matchers:
        raise ValueError("must be a non-empty list of {name, value, isRegex, isEqual}")
    checked = []
    for i, matcher in enumerate(matchers):
        if not isinstance(matcher, dict):
            raise ValueError(f"{i}: must be an object")
        unknown = set(matcher) - {"name", "value", "isRegex", "isEqual"}
        if unknown:
            raise ValueError(f"{i}.{sorted(unknown)[0]}: not a matcher field")
        name, value = matcher.get("name"), matcher.get("value")
        if not isinstance(name, str) or not name:
            raise ValueError(f"{i}.name: must be a non-empty string")
        if not isinstance(value, str):
            raise ValueError(f"{i}.value: must be a string")
        is_regex, is_equal = matcher.get("isRegex", False), matcher.get("isEqual", True)
        if not isinstance(is_regex, bool) or not isinstance(is_equal, bool):
            raise ValueError(f"{i}.isRegex: isRegex and isEqual must be booleans")
        if is_regex:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"{i}.value: not a regular expression: {exc}") from None
        checked.append({"name": name, "value": value, "isRegex": is_regex, "isEqual": is_equal})
    return checked


def matches(matchers: Sequence[Mapping[str, Any]], labels: Mapping[str, str]) -> bool:
    """Whether every matcher matches the labels; a missing label reads as the empty string,
    and a regular expression must match the whole value, as in Alertmanager."""
    for matcher in matchers:
        value = labels.get(matcher["name"], "")
        hit = re.fullmatch(matcher["value"], value) is not None if matcher["isRegex"] else value == matcher["value"]
        if hit != matcher["isEqual"]:
            return False
    return True
