from django.apps import AppConfig


class MeshConfig(AppConfig):
    name = "meshview.mesh"
    label = "mesh"
