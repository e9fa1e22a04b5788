"""Liveness of the parts /healthz reports: database, Redis, Celery workers."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connection

from eventviz import embedded
from eventviz.celery import app


def check_database() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "down"
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    return {"ok": True, "vendor": connection.vendor}


def check_redis() -> dict[str, Any]:
    ok = embedded.ping(settings.REDIS_URL, timeout=settings.EVENTVIZ_HEALTH_TIMEOUT)
    result: dict[str, Any] = {"ok": ok, "embedded": settings.REDIS_EMBEDDED}
    if not ok:
        result["error"] = "Redis does not answer"
    return result


def check_workers(redis_ok: bool) -> dict[str, Any]:
    if not redis_ok:
        return {"ok": False, "workers": [], "error": "no broker"}
    try:
        replies = app.control.ping(timeout=settings.EVENTVIZ_HEALTH_TIMEOUT / 2)
    except Exception as exc:  # broker errors of any kind mean "no worker reachable"
        return {"ok": False, "workers": [], "error": f"{type(exc).__name__}: {exc}"}
    workers = sorted(name for reply in replies for name in reply)
    result: dict[str, Any] = {"ok": bool(workers), "workers": workers}
    if not workers:
        result["error"] = "no Celery worker answered"
    return result


def health() -> dict[str, Any]:
    database = check_database()
    redis_status = check_redis()
    workers = check_workers(redis_status["ok"])
    return {
        "ok": database["ok"] and redis_status["ok"] and workers["ok"],
        "database": database,
        "redis": redis_status,
        "celery": workers,
    }
