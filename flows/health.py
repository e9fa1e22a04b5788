"""Liveness of the parts /healthz reports: database, Redis, Celery workers.

The check is shared, bounded and cheap, because anyone may call /healthz as often and as
concurrently as they like:

1. One check runs at a time per process (a single worker thread), and every caller in
   the next ``EVENTVIZ_HEALTH_CACHE_SECONDS`` gets its result. A thousand callers cost one
   database query, one Redis PING and one worker ping.
2. A caller waits for a running check at most ``EVENTVIZ_HEALTH_TIMEOUT`` seconds; past
   that it gets "down (timed out)" rather than a hung request.
3. The worker ping uses a Celery app of its own with a pool of two broker connections, so
   it never takes a connection from the pool the web process uses to queue tasks. (The
   shared pool of 10 is how 20 parallel checks used to deadlock Daphne: each thread held
   one pooled connection while waiting for a second one to publish the ping.)

Reports name no hosts, ports or driver messages; the raw errors go to the log.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from celery import Celery
from django.conf import settings
from django.core.signals import setting_changed
from django.db import connection
from django.dispatch import receiver

from eventviz import embedded

log = logging.getLogger(__name__)

Report = dict[str, Any]


def check_database() -> Report:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # any driver error means "down"; its text may name hosts: log only
        log.warning("health: the database does not answer", exc_info=True)
        return {"ok": False, "error": "the database does not answer"}
    finally:
        # The check thread is long-lived: hold no database connection between checks.
        connection.close()
    return {"ok": True, "vendor": connection.vendor}


def check_redis() -> Report:
    ok = embedded.ping(settings.REDIS_URL, timeout=settings.EVENTVIZ_HEALTH_TIMEOUT / 2)
    result: Report = {"ok": ok, "embedded": settings.REDIS_EMBEDDED}
    if not ok:
        result["error"] = "Redis does not answer"
    return result


_ping_app: Celery | None = None


def _worker_ping_app() -> Celery:
    """A Celery app used only to ping workers, with its own two broker connections."""
    global _ping_app
    if _ping_app is None:
        app = Celery("eventviz-health", set_as_current=False)
        app.config_from_object("django.conf:settings", namespace="CELERY")
        app.conf.broker_pool_limit = 2
        app.conf.broker_connection_timeout = settings.EVENTVIZ_HEALTH_TIMEOUT / 2
        _ping_app = app
    return _ping_app


def check_workers(redis_ok: bool) -> Report:
    if not redis_ok:
        return {"ok": False, "workers": 0, "error": "no broker"}
    try:
        replies = _worker_ping_app().control.ping(timeout=settings.EVENTVIZ_HEALTH_TIMEOUT / 2)
    except Exception:  # broker errors of any kind mean "no worker reachable"
        log.warning("health: the worker ping failed", exc_info=True)
        return {"ok": False, "workers": 0, "error": "the broker refused the worker ping"}
    # A count, not the names: worker names carry host names.
    workers = sum(len(reply) for reply in replies)
    result: Report = {"ok": workers > 0, "workers": workers}
    if not workers:
        result["error"] = "no Celery worker answered"
    return result


def check_all() -> Report:
    database = check_database()
    redis_status = check_redis()
    workers = check_workers(redis_status["ok"])
    return {
        "ok": database["ok"] and redis_status["ok"] and workers["ok"],
        "database": database,
        "redis": redis_status,
        "celery": workers,
    }


class SharedCheck:
    """Run ``check`` on one thread at most, and share its result for ``max_age`` seconds.

    Module state on purpose: the point is that every request thread of this process
    shares one result and one running check.
    """

    def __init__(self, check: Any) -> None:
        self._check = check
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="healthz")
        self._running: Future[Report] | None = None
        self._report: Report | None = None
        self._at = 0.0
        self._down: set[str] = set()

    def clear(self) -> None:
        with self._lock:
            self._report = None

    def report(self, *, max_age: float, timeout: float) -> Report:
        with self._lock:
            if self._report is not None and time.monotonic() - self._at < max_age:
                return self._report
            if self._running is None or self._running.done():
                self._running = self._executor.submit(self._run)
            running = self._running
        try:
            return running.result(timeout=timeout)
        except FutureTimeout:
            return {"ok": False, "error": f"the health check took over {timeout:g} s"}

    def _run(self) -> Report:
        report = self._check()
        with self._lock:
            self._report, self._at = report, time.monotonic()
            down = {part for part, status in report.items() if part != "ok" and not status["ok"]}
            for part in sorted(down - self._down):
                log.warning("health: %s is down: %s", part, report[part].get("error"))
            for part in sorted(self._down - down):
                log.info("health: %s is up again", part)
            self._down = down
        return report


_shared = SharedCheck(check_all)


def health() -> Report:
    """The full report (database, redis, celery), at most a couple of seconds old."""
    return _shared.report(
        max_age=settings.EVENTVIZ_HEALTH_CACHE_SECONDS, timeout=settings.EVENTVIZ_HEALTH_TIMEOUT
    )


@receiver(setting_changed)
def _forget_on_setting_change(*, setting: str, **kwargs: Any) -> None:
    # Tests point REDIS_URL elsewhere; a cached report of the old Redis would be wrong.
    if setting.startswith(("REDIS_", "EVENTVIZ_HEALTH_", "DATABASES", "CELERY_")):
        global _ping_app
        _ping_app = None
        _shared.clear()
