"""Who may do what: bearer tokens with scopes, Django sessions, and anonymous loopback use.

Anonymous requests are allowed only when `serve` bound meshview to a loopback address
(MESHVIEW_ANONYMOUS_ACCESS); otherwise a session or a token with the needed scope is required.
Session users may read; ingest and admin need a staff account.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from rest_framework import authentication, exceptions, permissions

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


def denial(user: Any, token: ApiToken | None, scope: str) -> str | None:
    """Return why a caller (its session `user`, None without one, and its bearer `token`) may
    not use `scope`, or None when it may."""
    if token is not None:
        return None if token.has_scope(scope) else f"token lacks the {scope!r} scope"
    if user is not None and user.is_authenticated:
        return None if scope == "read" or user.is_staff else f"{scope!r} needs a staff account or a token"
    if settings.MESHVIEW_ANONYMOUS_ACCESS:
        return None
    return "authentication required: a session or an Authorization: Bearer token"


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


class ScopePermission(permissions.BasePermission):
    """Checks the view's `required_scope` (default `read`)."""

    def has_permission(self, request: Any, view: Any) -> bool:
        scope = getattr(view, "required_scope", "read")
        reason = denial(request.user, request.auth if isinstance(request.auth, ApiToken) else None, scope)
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
            reason = denial(getattr(request, "user", None), token, scope)
            if reason is not None:
                return _refusal(reason, 403 if token is not None else 401)
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
    (`auth`, as DRF names it), or why it cannot be used in `auth_error`."""

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> Any:
        header = dict(scope.get("headers", [])).get(b"authorization", b"").decode("latin-1")
        scope = {**scope, "auth": None}
        if header:
            try:
                scope["auth"] = await database_sync_to_async(token_from_header)(header)
            except PermissionError as exc:
                scope["auth_error"] = str(exc)
        return await super().__call__(scope, receive, send)
