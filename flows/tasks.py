"""Celery tasks: ids in, one service or engine call out."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from celery import shared_task
from celery.signals import worker_ready, worker_shutting_down

from flows import services
from flows.engine import driver
from flows.redis_state import client

log = logging.getLogger(__name__)

SLICE_SECONDS = 2.0


@shared_task(name="flows.ping")
def ping(value: str = "pong") -> str:
    """Round-trip probe: the smoke test and operators use it to see a worker answer."""
    return value


@shared_task(name=services.DRIVE_RUN_TASK, ignore_result=True)
def drive_run(run_id: int) -> None:
    """Drive a run for one slice, then queue the next slice (any worker may take it)."""
    if services.run_slice(run_id=run_id, seconds=SLICE_SECONDS):
        drive_run.delay(run_id)


# --- the watchdog: a run whose worker died is picked up by another --------------------------

_stop = threading.Event()


def watchdog_pass() -> list[int]:
    """Queue a slice for every active run that no worker holds; returns their ids."""
    kicked = driver.orphaned_runs(client())
    for run_id in kicked:
        drive_run.delay(run_id)
    return kicked


def _watchdog_loop() -> None:
    while not _stop.wait(1.0):
        try:
            watchdog_pass()
        except Exception:  # keep watching whatever one pass hit (Redis restart, ...)
            log.exception("watchdog pass failed")
            time.sleep(1.0)


@worker_ready.connect
def _start_watchdog(**kwargs: Any) -> None:
    _stop.clear()
    threading.Thread(target=_watchdog_loop, name="run-watchdog", daemon=True).start()


@worker_shutting_down.connect
def _stop_watchdog(**kwargs: Any) -> None:
    _stop.set()
