"""flows.health.SharedCheck: one check at a time, shared, bounded in time."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from flows.health import SharedCheck


def test_concurrent_callers_share_one_check() -> None:
    calls = 0
    gate = threading.Event()

    def check() -> dict:
        nonlocal calls
        calls += 1
        gate.wait(2)
        return {"ok": True}

    shared = SharedCheck(check)
    with ThreadPoolExecutor(max_workers=50) as pool:
        futures = [pool.submit(shared.report, max_age=10, timeout=5) for _ in range(50)]
        time.sleep(0.2)
        gate.set()
        reports = [future.result() for future in futures]
    assert reports == [{"ok": True}] * 50
    assert calls == 1


def test_a_fresh_result_is_reused_and_a_stale_one_is_not() -> None:
    calls = 0

    def check() -> dict:
        nonlocal calls
        calls += 1
        return {"ok": True}

    shared = SharedCheck(check)
    shared.report(max_age=60, timeout=1)
    shared.report(max_age=60, timeout=1)
    assert calls == 1
    shared.report(max_age=0, timeout=1)
    assert calls == 2


def test_a_hung_check_answers_down_within_the_timeout() -> None:
    release = threading.Event()
    shared = SharedCheck(lambda: release.wait(5) and {"ok": True})
    started = time.monotonic()
    report = shared.report(max_age=1, timeout=0.3)
    assert time.monotonic() - started < 1
    assert report["ok"] is False
    release.set()
