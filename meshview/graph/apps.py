from django.apps import AppConfig


class GraphConfig(AppConfig):
    name = "meshview.graph"
    label = "graph"
