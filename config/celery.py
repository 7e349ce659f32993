"""Celery app. Used for one thing: the beat task that refreshes Xero tokens."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("bankfeeds")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
