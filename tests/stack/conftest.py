"""Real processes for the stack tests: a Celery worker and Daphne on the test database."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.db import connection

from eventviz import stack


@dataclass
class Stack:
    base_url: str
    ws_url: str
    worker: subprocess.Popen[bytes]
    daphne: subprocess.Popen[bytes]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def child_env() -> dict[str, str]:
    """The environment of a child process that must use this test run's database."""
    env = os.environ.copy()
    env["DJANGO_SETTINGS_MODULE"] = "eventviz.settings_test"
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{db['NAME']}"
    else:
        user = db["USER"] or ""
        password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
        auth = f"{user}{password}@" if user else ""
        env["DATABASE_URL"] = (
            f"postgres://{auth}{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        )
    return env


@pytest.fixture
def live_stack(transactional_db: None, redis_url: str) -> Iterator[Stack]:
    env = child_env()
    port = free_port()
    worker = subprocess.Popen(
        stack.celery_worker_argv(concurrency=2, hostname=f"test-{port}@%h"),
        env=env,
        start_new_session=True,
    )
    daphne = subprocess.Popen(
        stack.daphne_argv(host="127.0.0.1", port=port), env=env, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        status = stack.wait_for_http(
            base + "/healthz", timeout=60, alive=lambda: daphne.poll() is None
        )
        assert status is not None, "daphne did not start"
        yield Stack(base_url=base, ws_url=f"ws://127.0.0.1:{port}", worker=worker, daphne=daphne)
    finally:
        stack.stop(daphne)
        stack.stop(worker)
