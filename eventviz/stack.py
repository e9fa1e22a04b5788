"""Process supervision for `make run`: embedded Redis, a Celery worker and Daphne.

Every child is started in its own session with a parent-death signal, and stopped
when the supervisor gets Ctrl-C (SIGINT), SIGTERM or SIGHUP, so nothing is left behind.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Runs in the child before exec: get SIGTERM if the supervisor dies, even by kill -9."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


def spawn(argv: Sequence[str], *, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        list(argv),
        env=env,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
    )


def stop(process: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def celery_worker_argv(*, concurrency: int, hostname: str = "worker@%h") -> list[str]:
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "eventviz",
        "worker",
        "--pool",
        "threads",
        "--concurrency",
        str(concurrency),
        "--hostname",
        hostname,
        "--loglevel",
        "WARNING",
        "--without-gossip",
        "--without-mingle",
    ]


# Daphne's own limit, stated: a websocket message over it is closed with 1009 (see
# eventviz/web.py); below it the app answers oversize frames with an error frame.
WEBSOCKET_MAX_MESSAGE_BYTES = 1024 * 1024


def daphne_argv(*, host: str, port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "eventviz.web",
        "-b",
        host,
        "-p",
        str(port),
        "--websocket-max-message-size",
        str(WEBSOCKET_MAX_MESSAGE_BYTES),
        "--websocket-max-frame-size",
        str(WEBSOCKET_MAX_MESSAGE_BYTES),
        "eventviz.asgi:application",
    ]


def wait_for_http(
    url: str, *, timeout: float, alive: Callable[[], bool], want: int | None = None
) -> int | None:
    """Poll ``url`` until it answers (with ``want``, if given) or ``timeout``.

    Returns the last status seen, None if nothing ever answered.
    """
    deadline = time.monotonic() + timeout
    status: int | None = None
    while time.monotonic() < deadline and alive():
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                status = int(response.status)
        except urllib.error.HTTPError as exc:
            status = int(exc.code)
        except (urllib.error.URLError, OSError):
            status = None
        if status is not None and (want is None or status == want):
            return status
        time.sleep(0.25)
    return status


class Supervisor:
    def __init__(self) -> None:
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.cleanups: list[Callable[[], None]] = []
        self.stopping = False

    def start(self, name: str, argv: Sequence[str]) -> subprocess.Popen[bytes]:
        process = spawn(argv, env=os.environ.copy())
        self.children.append((name, process))
        return process

    def on_stop(self, cleanup: Callable[[], None]) -> None:
        self.cleanups.append(cleanup)

    def install_signal_handlers(self) -> None:
        def handler(signum: int, frame: object) -> None:
            raise KeyboardInterrupt

        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, handler)

    def wait(self) -> str:
        """Block until a child exits; returns its name."""
        while True:
            for name, process in self.children:
                if process.poll() is not None:
                    return name
            time.sleep(0.5)

    def shutdown(self) -> None:
        if self.stopping:
            return
        self.stopping = True
        # Ignore further Ctrl-C while stopping, so a double press cannot orphan a child.
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        for _name, process in reversed(self.children):
            stop(process)
        for cleanup in reversed(self.cleanups):
            cleanup()
