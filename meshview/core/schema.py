"""meshview's OpenAPI schema: the bearer-token scheme, and the plain Django views (protocol
endpoints whose JSON is Jaeger's or OTLP's) that join the DRF views in it."""

import re
from collections.abc import Callable
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "meshview.core.auth.BearerTokenAuthentication"
    name = "bearerToken"

    def get_security_definition(self, auto_schema: object) -> dict:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A token from `manage.py issue_token NAME --scopes ingest,read,admin`.",
        }


def documented(view: Callable, operations: dict[str, dict[str, Any]]) -> Callable:
    """Attach OpenAPI `operations` (by lowercase method) to a plain Django view, so that
    `add_plain_views` puts it in meshview's schema beside the DRF views; returns the view."""
    view.openapi_operations = operations  # type: ignore[attr-defined]
    return view


def _openapi_path(route: str) -> str:
    """The OpenAPI path of a URL conf route (`<str:id>` and regex groups `(?P<id>...)` become
    `{id}`)."""
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", route.lstrip("^").rstrip("$"))
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)


def _plain_views(patterns: list, prefix: str = "") -> list[tuple[str, dict[str, dict[str, Any]]]]:
    found = []
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            found += _plain_views(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern) and hasattr(pattern.callback, "openapi_operations"):
            found.append((_openapi_path(route), pattern.callback.openapi_operations))
    return found


def add_plain_views(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: the plain Django views `documented` describes (the
    protocol endpoints: OTLP, Zipkin, Jaeger's query API) join the schema."""
    for path, operations in _plain_views(get_resolver().url_patterns):
        result["paths"].setdefault(path, {}).update(
            {
                method: {
                    "operationId": f"{method}_{re.sub(r'[^0-9A-Za-z]+', '_', path).strip('_')}",
                    "security": [{"bearerToken": []}, {}],
                    **operation,
                }
                for method, operation in operations.items()
            }
        )
    result["paths"] = dict(sorted(result["paths"].items()))
    return result


def _probe(summary: str, content_type: str, *statuses: int) -> dict[str, dict[str, Any]]:
    answers: dict[str, Any] = {str(status): {"description": summary} for status in statuses}
    answers["200"] = {"description": summary, "content": {content_type: {"schema": {}}}}
    return {"get": {"summary": summary, "tags": ["probes"], "security": [{}], "responses": answers}}


HEALTHZ = _probe("the process is up", "application/json")
READYZ = _probe("the database and the broker answer (503 when one does not)", "application/json", 503)
METRICS = _probe("meshview's own metrics in Prometheus's text format", "text/plain", 503)
