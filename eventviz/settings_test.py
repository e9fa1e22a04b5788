"""Settings for the test suite: the same as production, with its own var/ folder.

The tests start their own embedded Redis (under var/test/) unless REDIS_URL is set,
so a running `make run` in the same checkout is never touched by a test run.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault(
    "EVENTVIZ_VAR_DIR", str(Path(__file__).resolve().parent.parent / "var" / "test")
)

from eventviz.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# A file, not pytest-django's in-memory default: the Celery worker and Daphne started by
# the stack tests run in other processes and must see the same test database.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}  # noqa: F405

# Threads of database_sync_to_async must not keep connections to the test database open.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
