"""meshview: service-mesh observability (service graph, traces, alerts)."""

from meshview.celery import app as celery_app

__all__ = ("celery_app",)
