"""Login throttling: after MAX_FAILED_LOGINS wrong passwords for one user name from one address
within LOGIN_WINDOW_SECONDS, every login of that name from that address fails until the window
has passed, the right password included. Counted in the cache (Redis when REDIS_URL is set, so
across web processes)."""

import hashlib
from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_login_failed
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.http import HttpRequest

MAX_FAILED_LOGINS = 5
LOGIN_WINDOW_SECONDS = 15 * 60


def _key(request: HttpRequest | None, username: str) -> str:
    address = request.META.get("REMOTE_ADDR", "") if request is not None else ""
    digest = hashlib.blake2b(f"{address}\n{username}".encode(), digest_size=16).hexdigest()
    return f"meshview:login-failures:{digest}"


def throttled(request: HttpRequest | None, username: str) -> bool:
    """Whether logins of `username` from the request's address are refused for now."""
    return int(cache.get(_key(request, username), 0)) >= MAX_FAILED_LOGINS


class ThrottledModelBackend(ModelBackend):
    """Django's user-and-password backend, refusing a name and address that failed too often."""

    def authenticate(self, request: HttpRequest | None, username: str | None = None, password: str | None = None,
                     **kwargs: Any) -> Any:
        if username is not None and throttled(request, username):
            raise PermissionDenied("too many failed logins; try again later")
        return super().authenticate(request, username=username, password=password, **kwargs)


@receiver(user_login_failed)
def count_failed_login(sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None,
                       **kwargs: Any) -> None:
    key = _key(request, str(credentials.get("username", "")))
    cache.add(key, 0, LOGIN_WINDOW_SECONDS)
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, LOGIN_WINDOW_SECONDS)
