from django.urls import path

from meshview.live.consumers import GraphConsumer, TracesConsumer

websocket_urlpatterns = [
    path("ws/graph/", GraphConsumer.as_asgi()),
    path("ws/traces/", TracesConsumer.as_asgi()),
]
