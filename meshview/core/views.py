"""Probes, metrics and the browser app's entry page."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.db import connection
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from meshview.celery import app as celery_app
from meshview.core.auth import anonymous_allowed
from meshview.core.metrics import PAIRING_WAITING, SETTLE_QUEUE
from meshview.core.models import WorkerHeartbeat
from meshview.mesh.models import PendingRequest
from meshview.traces.models import SpanHalf

# Beat schedules the heartbeat every 15 s; a few missed beats mean the worker is gone.
HEARTBEAT_STALE_AFTER = timedelta(seconds=60)


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up."""
    return JsonResponse({"status": "ok"})


def _check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def _check_broker() -> str | None:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def _worker_status() -> dict:
    beat = WorkerHeartbeat.objects.order_by("-seen_at").first()
    if beat is None:
        return {"status": "unseen"}
    age = timezone.now() - beat.seen_at
    return {
        "status": "stale" if age > HEARTBEAT_STALE_AFTER else "ok",
        "hostname": beat.hostname,
        "lastSeenSecondsAgo": round(age.total_seconds(), 1),
    }


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Ready when the database and the broker answer; the worker's heartbeat is reported too."""
    checks: dict[str, dict] = {}
    for name, check in (("database", _check_database), ("broker", _check_broker)):
        error = check()
        checks[name] = {"status": "ok"} if error is None else {"status": "failed", "error": error}
    ready = all(c["status"] == "ok" for c in checks.values())
    if checks["database"]["status"] == "ok":
        checks["worker"] = _worker_status()
    return JsonResponse({"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503)


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """meshview's own metrics in Prometheus's text format; queue depths are read at scrape time."""
    SETTLE_QUEUE.set(PendingRequest.objects.count())
    PAIRING_WAITING.set(SpanHalf.objects.count())
    return HttpResponse(generate_latest(), content_type=CONTENT_TYPE_LATEST)


# Paths of the APIs and protocols: an unknown one is a plain 404 for the client that asked.
NOT_APP_PATHS = ("api/", "jaeger/", "kiali/", "v1/", "ws/", "static/", "admin/", "accounts/")


@require_GET
def frontend_not_found(request: HttpRequest, path: str) -> HttpResponseBase:
    """An unknown address outside the APIs: the browser app with status 404, which shows its
    own "page not found" with the navigation; raises Http404 for an API path."""
    if path.startswith(NOT_APP_PATHS):
        raise Http404(path)
    return frontend(request, status=404)


@require_GET
def frontend(request: HttpRequest, status: int = 200, **route: str) -> HttpResponseBase:
    """The browser app's page for every client-side route."""
    if not anonymous_allowed(request.headers) and not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    index = settings.MESHVIEW_FRONTEND_DIR / "index.html"
    if not index.is_file():
        return HttpResponse(
            f"meshview's browser app is not built: run `npm ci && npm run build` in frontend/ (looked for {index}).",
            status=503,
            content_type="text/plain",
        )
    return FileResponse(index.open("rb"), content_type="text/html; charset=utf-8", status=status)
