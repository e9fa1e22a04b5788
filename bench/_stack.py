"""The embedded stack for benchmarks: Redis, SQLite, one Celery worker process, Daphne.

Everything lives in a temporary folder and is stopped when the block ends.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


@dataclass
class Stack:
    base_url: str
    ws_url: str
    worker_pid: int = 0


def setup_django() -> None:
    os.environ.update(
        EVENTVIZ_VAR_DIR=tempfile.mkdtemp(prefix="eventviz-bench-"),
        DJANGO_SETTINGS_MODULE="eventviz.settings",
        LOG_LEVEL="WARNING",
    )
    os.environ.pop("REDIS_URL", None)
    os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()


@contextmanager
def embedded_stack(*, worker_threads: int = 4) -> Iterator[Stack]:
    from django.conf import settings
    from django.core.management import call_command

    from eventviz import embedded, stack
    from tests.stack.conftest import free_port

    redis_server = embedded.EmbeddedRedis(settings.VAR_DIR)
    redis_server.start()
    call_command("migrate", verbosity=0)
    port = free_port()
    env = os.environ.copy()
    worker = stack.spawn(stack.celery_worker_argv(concurrency=worker_threads), env=env)
    daphne = stack.spawn(stack.daphne_argv(host="127.0.0.1", port=port), env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        stack.wait_for_http(base + "/healthz", timeout=60, alive=lambda: True, want=200)
        yield Stack(base_url=base, ws_url=f"ws://127.0.0.1:{port}", worker_pid=worker.pid)
    finally:
        stack.stop(daphne)
        stack.stop(worker)
        redis_server.stop()


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def celery_noop_rate(n: int = 2000) -> float:
    """No-op Celery tasks per second through the worker: the peer figure."""
    import time

    from celery import group

    from flows.tasks import ping

    ping.delay("warm").get(timeout=30)
    started = time.perf_counter()
    group(ping.s(str(i)) for i in range(n))().get(timeout=120)
    return n / (time.perf_counter() - started)
