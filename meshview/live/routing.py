from django.urls import path

from meshview.live.consumers import TracesConsumer

websocket_urlpatterns = [
    path("ws/traces/", TracesConsumer.as_asgi()),
]
