"""meshview's one Celery app; tasks live in each domain's tasks.py."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "meshview.settings")

app = Celery("meshview")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
