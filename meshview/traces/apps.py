from django.apps import AppConfig


class TracesConfig(AppConfig):
    name = "meshview.traces"
    label = "traces"
