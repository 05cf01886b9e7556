"""meshview's OpenAPI schema covers every endpoint it serves, and fuzzing every operation with
schemathesis (a bounded number of examples each) finds no 5xx and no answer that breaks it."""

import re

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client, override_settings
from django.urls import get_resolver
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from meshview.core.schema import _openapi_path
from tests.core.test_isolation import _routes

EXAMPLES_PER_OPERATION = 20
# Routes that are no API: the browser app's pages, Django's admin and login, the schema itself.
NOT_API = ("admin/", "accounts/", "api/schema/", "api/docs/")
BROWSER_PAGES = {"", "graph", "traces", "traces/<str:trace_id>", "alerts", "dependencies", "(?P<path>.+)"}


def _any_parameter(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


@pytest.mark.django_db
def test_the_schema_covers_every_endpoint(client: Client) -> None:
    with override_settings(MESHVIEW_ANONYMOUS_ACCESS=True):
        paths = {_any_parameter(path) for path in client.get("/api/schema/?format=json").json()["paths"]}
    served = {
        _any_parameter(_openapi_path(route))
        for route in _routes(get_resolver().url_patterns)
        if route not in BROWSER_PAGES and not route.startswith(NOT_API)
    }
    missing = sorted(served - paths)
    assert not missing, (
        f"endpoints missing from /api/schema/: {missing}. A DRF view needs @extend_schema (parameters "
        "and responses); a plain Django view is wrapped in its urls.py with "
        "meshview.core.schema.documented(view, {method: OpenAPI operation}), as meshview/traces/urls.py does."
    )


@pytest.fixture
def api_schema(db):
    # As Django's test client does: a request must not close the test's database connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        with override_settings(MESHVIEW_ANONYMOUS_ACCESS=True):
            yield schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
def test_no_operation_answers_5xx_or_breaks_its_schema(case) -> None:
    case.call_and_validate(checks=[not_a_server_error, response_schema_conformance])
