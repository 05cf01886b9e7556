from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "meshview.core"
    label = "core"
    verbose_name = "meshview core"

    def ready(self) -> None:
        from meshview.core import schema  # noqa: F401  (registers the OpenAPI auth extension)
