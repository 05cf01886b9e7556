"""Views that run beside each other under ASGI.

Django runs every sync view in one thread, so two ingest requests never overlap: while one
waits for its database round trips the process sits idle. `in_own_thread` runs a sync view in
a thread of a pool instead, each with its own database connection, so one request's parsing
overlaps another's commit.
"""

import functools
from collections.abc import Callable, Coroutine
from typing import Any

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponse


def in_own_thread(view: Callable[..., HttpResponse]) -> Callable[..., Coroutine[Any, Any, HttpResponse]]:
    """Return an async view that runs the sync `view` in a pool thread. Its attributes (DRF's
    `cls` for the OpenAPI schema, `csrf_exempt`) are kept."""

    def run(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # Django checks connections at the start and end of a request in its own thread only:
        # a pool thread drops a broken or expired connection itself.
        close_old_connections()
        try:
            return view(request, *args, **kwargs)
        finally:
            close_old_connections()

    offloaded = sync_to_async(run, thread_sensitive=False)
    # A request that did not come through the ASGI server (Django's test client) stays in the
    # thread that sent it, with that thread's connection and transaction.
    inline = sync_to_async(view, thread_sensitive=True)

    @functools.wraps(view)
    async def concurrent(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if isinstance(request, ASGIRequest):
            return await offloaded(request, *args, **kwargs)
        return await inline(request, *args, **kwargs)

    return concurrent
