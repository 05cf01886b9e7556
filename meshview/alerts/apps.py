from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "meshview.alerts"
    label = "alerts"
