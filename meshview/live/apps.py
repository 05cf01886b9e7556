from django.apps import AppConfig


class LiveConfig(AppConfig):
    name = "meshview.live"
    label = "live"
