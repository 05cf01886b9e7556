"""Numbers and dates out of any range the database holds are 400s naming the parameter, never 500s."""

import pytest
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db
V3_MAX = "query.startTimeMax=2030-01-01T00:00:00Z"


@pytest.fixture(autouse=True)
def anonymous():
    with override_settings(MESHVIEW_ANONYMOUS_ACCESS=True):
        yield


@pytest.mark.parametrize(
    ("path", "named"),
    [
        ("/jaeger/api/traces?start=9999999999999999999", "start"),
        ("/jaeger/api/traces?end=9223372036854775807", "end"),
        ("/jaeger/api/traces?start=-5", "start"),
        ("/jaeger/api/dependencies?lookback=99999999999999999", "lookback"),
        ("/jaeger/api/dependencies?endTs=9999999999999999", "endTs"),
        (f"/jaeger/api/v3/traces?query.startTimeMin=0001-01-01T00:00:00%2B01:00&{V3_MAX}", "query.startTimeMin"),
        (f"/jaeger/api/v3/trace-summaries?query.startTimeMin=9999-12-31T23:59:59Z&{V3_MAX}", "query.startTimeMin"),
        ("/api/v1/traces?start=9999999999999999999", "start"),
        ("/api/v1/traces?end=99999999999999999", "end"),
        ("/api/v1/traces/request-ids/abc?start=9999999999999999999", "start"),
        ("/api/v1/tokens?offset=9223372036854775808", "offset"),
    ],
)
def test_out_of_range_numbers_and_dates_are_400s(client: Client, path: str, named: str) -> None:
    response = client.get(path)
    assert response.status_code == 400, response.content
    assert named in response.content.decode()


def test_a_huge_page_size_is_cut_to_the_largest(client: Client) -> None:
    response = client.get("/api/v1/tokens?limit=9223372036854775808")
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("path", ["/api/v1/alerts/deliveries", "/api/v1/alerts"])
def test_a_rule_id_past_any_the_database_holds_finds_nothing(client: Client, path: str) -> None:
    response = client.get(f"{path}?rule=12779684379278635433984")
    assert response.status_code == 200, response.content
    assert response.json()["results"] == []
