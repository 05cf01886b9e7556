"""Request middleware of the core domain: answers when storage is down, and refusal of
cross-site state changes."""

import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.deprecation import MiddlewareMixin

from meshview.core.budget import deadline_passed

logger = logging.getLogger(__name__)

# A database that cannot be reached, refuses connections or is locked past the busy timeout.
STORAGE_UNAVAILABLE = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 5
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# Fetch metadata that a browser sends with a request one site's page makes to another.
CROSS_SITE_FETCHES = frozenset({"cross-site", "same-site"})


def storage_unavailable(exc: Exception) -> JsonResponse:
    """The 503 with Retry-After meshview answers when the database cannot serve a request."""
    response = JsonResponse(
        {"detail": f"storage unavailable, try again later: {type(exc).__name__}"}, status=503
    )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class StorageUnavailableMiddleware(MiddlewareMixin):
    """Turns a database that cannot be reached into a 503 with Retry-After on every path, token
    lookup and session loading included, never a 500: a client retries a 503 (OTLP exporters
    keep the batch), it drops what a 500 refused."""

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, STORAGE_UNAVAILABLE) and deadline_passed():
            response = JsonResponse(
                {
                    "detail": f"the query ran past the limit of {settings.MESHVIEW_QUERY_TIMEOUT_SECONDS} s "
                    "(MESHVIEW_QUERY_TIMEOUT): ask for a shorter window, fewer results or more conditions"
                },
                status=503,
            )
            response["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return response
        if isinstance(exception, STORAGE_UNAVAILABLE):
            logger.warning("%s %s: storage unavailable: %s", request.method, request.path, exception)
            return storage_unavailable(exception)
        return None


def cross_site(request: HttpRequest) -> bool:
    """Whether a browser sent the request from another site's page: its Origin names another
    host than the request's (and is not in CSRF_TRUSTED_ORIGINS), or, without an Origin, its
    Sec-Fetch-Site says so."""
    origin = request.headers.get("Origin")
    if origin is not None:
        if origin in settings.CSRF_TRUSTED_ORIGINS:
            return False
        return origin == "null" or urlsplit(origin).netloc.lower() != request.get_host().lower()
    return request.headers.get("Sec-Fetch-Site", "").lower() in CROSS_SITE_FETCHES


class CrossSiteWriteMiddleware(MiddlewareMixin):
    """Refuses (403) a state-changing request that another site's page made without a bearer
    token: a page in the user's browser must not ingest fake traffic or issue tokens through an
    anonymous meshview on loopback. Clients with tokens (exporters, shippers) are unaffected;
    session users' writes also pass Django's CSRF check."""

    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        if request.method not in SAFE_METHODS and "Authorization" not in request.headers and cross_site(request):
            return JsonResponse(
                {"detail": "cross-site request refused: send it from meshview's own pages or with a bearer token"},
                status=403,
            )
        return None
