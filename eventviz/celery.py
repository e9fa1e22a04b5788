from __future__ import annotations

import os
import warnings

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eventviz.settings")

# Containers and CI run as root; the worker only accepts JSON, so the pickle risk that
# warning is about does not apply.
warnings.filterwarnings("ignore", message="You're running the worker with superuser")

app = Celery("eventviz")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
