"""The one namespace rule: what a token, a session user or an anonymous caller may see."""

import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.test import override_settings

from meshview.core.access import NamespaceAccess, namespace_access, request_access
from meshview.core.actions import issue_token

pytestmark = pytest.mark.django_db


def test_everyone_sees_everything_when_nothing_restricts() -> None:
    assert namespace_access(None, None) == NamespaceAccess(None)
    assert namespace_access(AnonymousUser(), None).allows("secret-ns")
    token, _ = issue_token("all", ["read"])
    assert not namespace_access(None, token).restricted


def test_accessible_namespaces_restrict_every_principal() -> None:
    user = User.objects.create_user("ana", password="pw-123456", is_staff=True)
    token, _ = issue_token("all", ["admin"])
    with override_settings(MESHVIEW_ACCESSIBLE_NAMESPACES=["team-a", "team-b"]):
        for principal in ((None, None), (AnonymousUser(), None), (user, None), (None, token)):
            access = namespace_access(*principal)
            assert access.namespaces == {"team-a", "team-b"}
            assert access.allows("team-a") and not access.allows("secret-ns")


def test_a_token_narrows_and_never_widens() -> None:
    narrow, _ = issue_token("narrow", ["read"], namespaces=["team-a", "secret-ns"])
    assert namespace_access(None, narrow).namespaces == {"team-a", "secret-ns"}
    with override_settings(MESHVIEW_ACCESSIBLE_NAMESPACES=["team-a", "team-b"]):
        assert namespace_access(None, narrow).namespaces == {"team-a"}
    empty, _ = issue_token("nothing", ["read"], namespaces=[])
    assert namespace_access(None, empty).namespaces == frozenset()
    assert not namespace_access(None, empty).allows("team-a")


def test_hosts_of_hidden_namespaces_are_not_named() -> None:
    access = NamespaceAccess(frozenset({"team-a"}))
    assert access.allows_host("api.team-a.svc.cluster.local")
    assert access.allows_host("api.team-a.svc.cluster.local:8080")
    assert not access.allows_host("db.secret-ns.svc.cluster.local")
    assert not access.allows_host("db.secret-ns.svc.cluster.local:5432")
    assert access.allows_host("edition.cnn.com")
    assert NamespaceAccess(None).allows_host("db.secret-ns.svc.cluster.local")


def test_request_access_reads_drf_requests_django_requests_and_socket_scopes(rf) -> None:
    token, _ = issue_token("narrow", ["read"], namespaces=["team-a"])
    request = rf.get("/")
    request.user, request.auth = AnonymousUser(), token
    assert request_access(request).namespaces == {"team-a"}
    assert request_access({"user": AnonymousUser()}).namespaces is None
    assert request_access({"user": AnonymousUser(), "auth": token}).namespaces == {"team-a"}
