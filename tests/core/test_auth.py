from io import StringIO

import pytest
import yaml
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client, override_settings

from meshview.core.actions import issue_token
from meshview.core.models import ApiToken

pytestmark = pytest.mark.django_db


def issue(name: str, scopes: str) -> str:
    out = StringIO()
    call_command("issue_token", name, "--scopes", scopes, stdout=out)
    return out.getvalue().strip()


def test_issue_token_prints_a_token_stored_only_as_a_hash() -> None:
    raw = issue("shipper", "ingest,read")
    assert raw.startswith("mv_") and len(raw) > 30
    token = ApiToken.objects.get(name="shipper")
    assert token.scopes == ["ingest", "read"]
    assert raw not in (token.key_hash, token.prefix)


def test_issue_token_rejects_unknown_scopes_and_duplicate_names() -> None:
    with pytest.raises(CommandError, match="scopes"):
        issue("x", "read,everything")
    issue("dup", "read")
    with pytest.raises(CommandError, match="exists"):
        issue("dup", "read")


def test_anonymous_is_refused_unless_bound_to_loopback(client: Client) -> None:
    response = client.get("/api/v1/tokens")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/").status_code == 302  # the UI sends to the login page
    with override_settings(MESHVIEW_ANONYMOUS_ACCESS=True):
        assert client.get("/api/v1/tokens").status_code == 200


def test_token_scopes_decide_access(client: Client) -> None:
    reader = issue("reader", "read")
    admin = issue("admin", "admin")
    assert client.get("/api/v1/tokens", HTTP_AUTHORIZATION=f"Bearer {reader}").status_code == 403
    response = client.get("/api/v1/tokens", HTTP_AUTHORIZATION=f"Bearer {admin}")
    assert response.status_code == 200
    assert {t["name"] for t in response.json()["results"]} == {"reader", "admin"}
    assert all("token" not in t for t in response.json()["results"])
    assert client.get("/api/v1/tokens", HTTP_AUTHORIZATION="Bearer mv_forged").status_code == 401


def test_admin_can_issue_a_token_over_the_api(client: Client) -> None:
    admin = issue("admin", "admin")
    response = client.post(
        "/api/v1/tokens",
        {"name": "ci", "scopes": ["read"]},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {admin}",
    )
    assert response.status_code == 201
    raw = response.json()["token"]
    assert client.get("/api/schema/", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200


def test_session_users_read_and_staff_administer(client: Client) -> None:
    user = User.objects.create_user("ana", password="pw-123456")
    client.force_login(user)
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/v1/tokens").status_code == 403
    user.is_staff = True
    user.save()
    assert client.get("/api/v1/tokens").status_code == 200


def _issue_over_api(client: Client, issuer: str, **body: object):
    return client.post(
        "/api/v1/tokens", {"name": "minted", "scopes": ["read"], **body},
        content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {issuer}",
    )


def test_a_restricted_token_issues_tokens_only_within_its_namespaces(client: Client) -> None:
    _, issuer = issue_token("team-a-admin", ["admin"], namespaces=["team-a"])
    assert _issue_over_api(client, issuer, namespaces=["team-a", "secret-ns"]).status_code == 403
    response = _issue_over_api(client, issuer)
    assert response.status_code == 201, response.content
    assert response.json()["namespaces"] == ["team-a"]  # null would mean every namespace
    assert ApiToken.objects.get(name="minted").namespaces == ["team-a"]
    ApiToken.objects.filter(name="minted").delete()
    assert _issue_over_api(client, issuer, namespaces=[]).json()["namespaces"] == []


def test_an_unrestricted_admin_issues_tokens_of_any_namespaces(client: Client) -> None:
    _, issuer = issue_token("admin", ["admin"])
    assert _issue_over_api(client, issuer).json()["namespaces"] is None
    ApiToken.objects.filter(name="minted").delete()
    assert _issue_over_api(client, issuer, namespaces=["secret-ns"]).json()["namespaces"] == ["secret-ns"]


def test_the_token_list_answers_what_its_schema_requires(client: Client) -> None:
    _, admin = issue_token("admin", ["admin"])
    schema = yaml.safe_load(client.get("/api/schema/", HTTP_AUTHORIZATION=f"Bearer {admin}").content)
    listed = client.get("/api/v1/tokens", HTTP_AUTHORIZATION=f"Bearer {admin}").json()["results"]
    required = set(schema["components"]["schemas"]["ApiToken"]["required"])
    assert listed and all(required <= set(item) for item in listed)
    issued = _issue_over_api(client, admin).json()
    assert set(schema["components"]["schemas"]["IssuedToken"]["required"]) <= set(issued)
