"""ASGI entry point: Django for HTTP, Channels consumers for websockets."""

import os
from collections.abc import Callable

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "meshview.settings")
# Django must be set up before the consumers (and the models they import) are loaded.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from meshview.core.auth import WebsocketTokenMiddleware  # noqa: E402
from meshview.live.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(WebsocketTokenMiddleware(URLRouter(websocket_urlpatterns)))
        ),
    }
)


async def otlp_application(scope: dict, receive: Callable, send: Callable) -> None:
    """The OTLP/HTTP port (4318 by convention): only `/v1/traces`, served by the same views."""
    if scope["type"] == "http" and scope["path"] == "/v1/traces":
        await django_asgi_app(scope, receive, send)
        return
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 404, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"only /v1/traces is served on this port"})
