from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client, override_settings

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
