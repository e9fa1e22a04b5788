"""/healthz under load against a real Daphne: bounded, cached, never a deadlock."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

pytestmark = pytest.mark.stack


def get_status(url: str, timeout: float = 15) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as exc:
        exc.read()
        return int(exc.code)
    except (urllib.error.URLError, OSError):
        return None


def test_two_hundred_concurrent_health_checks_leave_daphne_answering(live_stack) -> None:
    url = live_stack.base_url + "/healthz"
    with ThreadPoolExecutor(max_workers=200) as pool:
        statuses = list(pool.map(lambda _: get_status(url), range(200)))
    # Every caller got an answer (up or down), none timed out...
    assert None not in statuses, statuses.count(None)
    # ...and a later, ordinary call still answers quickly.
    assert get_status(url, timeout=5) in (200, 503)


def test_anonymous_health_check_says_only_up_or_down(live_stack) -> None:
    try:
        with urllib.request.urlopen(live_stack.base_url + "/healthz", timeout=10) as response:
            body = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        body = json.loads(exc.read())
    assert set(body) == {"ok"}
