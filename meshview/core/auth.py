"""Who may do what: bearer tokens with scopes, Django sessions, and anonymous loopback use.

Anonymous requests are allowed only when `serve` bound meshview to a loopback address
(MESHVIEW_ANONYMOUS_ACCESS) and the request came through no reverse proxy (no X-Forwarded-For,
Forwarded or X-Real-IP header), unless MESHVIEW_ANONYMOUS=1 allows proxied ones too; otherwise a
session or a token with the needed scope is required. Session users may read; ingest and admin
need a staff account, and their writes pass Django's CSRF check.
"""

from collections.abc import Callable, Mapping
from functools import wraps
from typing import Any

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.utils import timezone
from rest_framework import authentication, exceptions, permissions

from meshview.core.middleware import SAFE_METHODS
from meshview.core.models import ApiToken, hash_token


def token_from_header(header: str) -> ApiToken | None:
    """Return the token an `Authorization: Bearer ...` header names, None when there is no
    bearer header; raise PermissionError for an unknown token."""
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    raw = raw.strip()
    token = ApiToken.objects.filter(key_hash=hash_token(raw)).first() if raw else None
    if token is None:
        raise PermissionError("invalid bearer token")
    now = timezone.now()
    # Record use at most once a minute: a busy shipper must not cost a write per request.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


# Headers a reverse proxy adds: the request did not come from this machine's user alone.
PROXY_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip")


def anonymous_allowed(headers: Mapping[str, str]) -> bool:
    """Whether a request with these `headers` (names in any case for Django's request.headers,
    lowercase otherwise) may go without a session or token."""
    if not settings.MESHVIEW_ANONYMOUS_ACCESS:
        return False
    return settings.MESHVIEW_ANONYMOUS == "1" or not any(name in headers for name in PROXY_HEADERS)


def denial(user: Any, token: ApiToken | None, scope: str, headers: Mapping[str, str]) -> str | None:
    """Return why a caller (its session `user`, None without one, its bearer `token`, and the
    `headers` of its request) may not use `scope`, or None when it may."""
    if token is not None:
        return None if token.has_scope(scope) else f"token lacks the {scope!r} scope"
    if user is not None and user.is_authenticated:
        return None if scope == "read" or user.is_staff else f"{scope!r} needs a staff account or a token"
    if anonymous_allowed(headers):
        return None
    return "authentication required: a session or an Authorization: Bearer token"


class _CsrfCheck(CsrfViewMiddleware):
    def _reject(self, request: HttpRequest, reason: str) -> str:
        return reason


def csrf_failure(request: HttpRequest) -> str | None:
    """Why Django's CSRF check refuses a session user's request, or None when it passes."""
    check = _CsrfCheck(lambda r: HttpResponse())
    check.process_request(request)
    return check.process_view(request, lambda r: HttpResponse(), (), {})  # type: ignore[return-value]


class BearerTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: Any) -> tuple[Any, ApiToken] | None:
        try:
            token = token_from_header(request.META.get("HTTP_AUTHORIZATION", ""))
        except PermissionError as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from None
        if token is None:
            return None
        from django.contrib.auth.models import AnonymousUser

        return AnonymousUser(), token

    def authenticate_header(self, request: Any) -> str:
        return 'Bearer realm="meshview"'


class SessionAuthentication(authentication.SessionAuthentication):
    """DRF's session authentication, with Django's CSRF check run on the underlying request:
    DRF's own runs it on the DRF request, which parses the body first, and an ingest endpoint's
    body is no form (a session user's log lines came back 415)."""

    def enforce_csrf(self, request: Any) -> None:
        failure = csrf_failure(request._request)
        if failure is not None:
            raise exceptions.PermissionDenied(f"CSRF Failed: {failure}")


class ScopePermission(permissions.BasePermission):
    """Checks the view's `required_scope` (default `read`)."""

    def has_permission(self, request: Any, view: Any) -> bool:
        scope = getattr(view, "required_scope", "read")
        token = request.auth if isinstance(request.auth, ApiToken) else None
        reason = denial(request.user, token, scope, request.headers)
        if reason is not None:
            self.message = reason
            return False
        return True


def require_scope(scope: str) -> Callable:
    """Decorate a plain Django view so it answers 401/403 unless the caller has `scope`."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                token = token_from_header(request.headers.get("Authorization", ""))
            except PermissionError as exc:
                return _refusal(str(exc), 401)
            user = getattr(request, "user", None)
            reason = denial(user, token, scope, request.headers)
            if reason is not None:
                return _refusal(reason, 403 if token is not None else 401)
            if token is None and user is not None and user.is_authenticated and request.method not in SAFE_METHODS:
                # The ingest endpoints are CSRF-exempt for exporters; a browser session is not one.
                failure = csrf_failure(request)
                if failure is not None:
                    return _refusal(f"CSRF check failed: {failure}", 403)
            request.auth = token  # type: ignore[attr-defined]  # as DRF names it, for request_access
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def _refusal(message: str, status: int) -> JsonResponse:
    response = JsonResponse({"detail": message}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="meshview"'
    return response


class WebsocketTokenMiddleware(BaseMiddleware):
    """Puts the token of a websocket handshake's `Authorization: Bearer` header in the scope
    (`auth`, as DRF names it), or why it cannot be used in `auth_error` (`auth_unavailable`
    when the database cannot tell)."""

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> Any:
        header = dict(scope.get("headers", [])).get(b"authorization", b"").decode("latin-1")
        scope = {**scope, "auth": None}
        if header:
            try:
                scope["auth"] = await database_sync_to_async(token_from_header)(header)
            except PermissionError as exc:
                scope["auth_error"] = str(exc)
            except DatabaseError:
                scope["auth_unavailable"] = True
        return await super().__call__(scope, receive, send)


def socket_headers(scope: Mapping[str, Any]) -> dict[str, str]:
    """A websocket scope's headers by lowercase name."""
    return {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope.get("headers", [])}
