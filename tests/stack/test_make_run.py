"""`make run` itself: what it prints, and how it stops (Ctrl-C, kill, SIGINT to make).

Each test starts the real `make run` (the requirements stamp taken as up to date) on a
free port with its own var/ folder, SQLite file and embedded Redis.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.sync.client import connect

from tests.stack.conftest import free_port

pytestmark = pytest.mark.stack

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def var_dir() -> Iterator[Path]:
    # Short: the embedded Redis' unix socket path must stay under 108 bytes.
    path = Path(tempfile.mkdtemp(prefix="ev-run-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


class MakeRun:
    def __init__(self, var_dir: Path) -> None:
        self.port = free_port()
        self.log = var_dir.parent / f"{var_dir.name}-{self.port}.log"
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "MAKEFLAGS", "MAKELEVEL")
        }
        env |= {
            "DJANGO_SETTINGS_MODULE": "eventviz.settings",
            "EVENTVIZ_VAR_DIR": str(var_dir),
            "CELERY_CONCURRENCY": "2",
        }
        self.env = env
        with open(self.log, "wb") as out:
            # A session of its own, like a terminal's foreground job: its process group
            # is what Ctrl-C signals.
            self.make = subprocess.Popen(
                [
                    "make",
                    "--no-print-directory",
                    "-o",
                    ".venv/.installed",
                    "run",
                    f"PORT={self.port}",
                ],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_until_ready(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while "EventViz is running at" not in self.output():
            assert self.make.poll() is None, self.output()
            assert time.monotonic() < deadline, self.output()
            time.sleep(0.5)
        time.sleep(0.5)  # the lines after the URL

    def tree(self) -> set[int]:
        """make and every process below it."""
        children: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                children.setdefault(ppid, []).append(int(entry.name))
        found, todo = set(), [self.make.pid]
        while todo:
            pid = todo.pop()
            found.add(pid)
            todo.extend(children.get(pid, []))
        return found

    def kill_leftovers(self) -> None:
        for pid in self.tree():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                group = os.getpgid(pid)
                if group != os.getpgrp():  # never the test run's own group
                    os.killpg(group, signal.SIGKILL)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@pytest.fixture
def make_run(var_dir: Path) -> Iterator[MakeRun]:
    run = MakeRun(var_dir)
    try:
        run.wait_until_ready()
        yield run
    finally:
        run.kill_leftovers()
        run.make.wait(timeout=10)


@pytest.mark.parametrize(
    "how",
    ["ctrl-c (SIGINT to the process group)", "kill (SIGTERM to make)", "SIGINT to make alone"],
)
def test_every_process_is_gone_within_seconds(make_run: MakeRun, how: str) -> None:
    # A run in progress: the worker is busy when the signal comes.
    subprocess.run(
        [str(ROOT / ".venv/bin/python"), "manage.py", "runstart", "shop", "--seed", "1"],
        cwd=ROOT,
        env=make_run.env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    # A dashboard open: Daphne waits for open sockets' apps when asked to stop.
    base = f"127.0.0.1:{make_run.port}"
    with connect(f"ws://{base}/ws/topologies/shop/", origin=f"http://{base}") as socket:
        socket.recv(timeout=10)
        time.sleep(2)
        processes = make_run.tree()
        assert len(processes) >= 4, processes  # make, runstack, worker, daphne (+ redis)
        started = time.monotonic()
        if how.startswith("ctrl-c"):
            os.killpg(make_run.make.pid, signal.SIGINT)
        elif how.startswith("kill"):
            os.kill(make_run.make.pid, signal.SIGTERM)
        else:
            os.kill(make_run.make.pid, signal.SIGINT)
        while time.monotonic() - started < 6:
            make_run.make.poll()
            left = {pid for pid in processes if alive(pid)}
            if not left:
                break
            time.sleep(0.1)
    assert not left, f"still running after 6 s: {sorted(left)}\n{make_run.output()[-2000:]}"


def test_the_last_lines_are_the_url_the_login_and_the_password(make_run: MakeRun) -> None:
    lines = [line for line in make_run.output().splitlines() if line.strip()]
    url = f"http://127.0.0.1:{make_run.port}/"
    assert lines[-4:-2] == [
        f"EventViz is running at {url}  (Ctrl-C stops it)",
        f"Admin:    {url}admin/",
    ], lines[-6:]
    assert lines[-2] == "Login:    admin"
    assert lines[-1].startswith("Password: ")


def test_the_generated_password_stays_out_of_the_log(make_run: MakeRun, var_dir: Path) -> None:
    password_file = var_dir / "admin_password"
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    for path in var_dir.rglob("*"):
        if not path.is_socket():
            assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path
    password = password_file.read_text().strip()
    assert len(password) >= 12
    output = make_run.output()
    assert password not in output  # stdout is a file here, not a terminal
    assert str(password_file) in output


def test_start_up_probes_leave_no_error_in_the_log(make_run: MakeRun) -> None:
    output = make_run.output()
    assert "Service Unavailable" not in output
    assert "/healthz" not in output  # no probe in Daphne's access log either
