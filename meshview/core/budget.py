"""A time limit on the database work of one read: a query still running past the deadline is
cancelled (PostgreSQL's statement_timeout, SQLite's progress handler), and the request answers
503 with Retry-After instead of holding a process's CPU and memory for minutes."""

import contextvars
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse

# The monotonic time by which the current read must be done, None outside one.
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("meshview_query_deadline", default=None)
# SQLite calls the progress handler every this many virtual-machine instructions.
_SQLITE_CHECK_EVERY = 10_000
_PG_IN_FAILED_TRANSACTION = 3  # psycopg.pq.TransactionStatus.INERROR


def deadline_passed() -> bool:
    """Whether the current read ran past its deadline."""
    deadline = _deadline.get()
    return deadline is not None and time.monotonic() >= deadline


def _limit_each_query(execute: Callable, sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
    deadline = _deadline.get()
    if deadline is not None:
        raw = context["connection"].connection
        remaining = deadline - time.monotonic()
        if context["connection"].vendor == "postgresql":
            raw.execute(f"SET statement_timeout = {max(int(remaining * 1000), 1)}")
        else:
            raw.set_progress_handler(lambda: int(time.monotonic() >= deadline), _SQLITE_CHECK_EVERY)
    return execute(sql, params, many, context)


@contextmanager
def query_deadline(seconds: float | None = None) -> Iterator[None]:
    """Within the block, the database queries of this thread's connection must be done within
    `seconds` (MESHVIEW_QUERY_TIMEOUT_SECONDS when None) of its start; one still running then is
    cancelled with django.db.OperationalError."""
    limit = settings.MESHVIEW_QUERY_TIMEOUT_SECONDS if seconds is None else seconds
    token = _deadline.set(time.monotonic() + limit)
    try:
        with connection.execute_wrapper(_limit_each_query):
            yield
    finally:
        _deadline.reset(token)
        _lift(connection)


def _lift(conn: Any) -> None:
    raw = conn.connection
    if raw is None:
        return
    try:
        if conn.vendor == "postgresql":
            if raw.info.transaction_status != _PG_IN_FAILED_TRANSACTION:
                raw.execute("SET statement_timeout = 0")
        else:
            raw.set_progress_handler(None, 0)
    except Exception:  # a broken connection: Django closes it at the request's end
        conn.close_if_unusable_or_obsolete()


class QueryBudgetMiddleware:
    """Reads (GET and HEAD) run under query_deadline. Sync only, so that under ASGI it runs in
    the thread of the view and limits that thread's connection."""

    sync_capable, async_capable = True, False

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        with query_deadline():
            return self.get_response(request)
