"""Process supervision for `make run`: embedded Redis, a Celery worker and Daphne.

Every child is started in its own session with a parent-death signal, and stopped
when the supervisor gets Ctrl-C (SIGINT), SIGTERM or SIGHUP, so nothing is left behind.
Children are stopped all at once, and killed if they have not exited within a few
seconds. When the supervisor runs under `make run`, a signal sent to make alone stops
it too (see ``MakeParent``).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
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
    stop_all([process], timeout=timeout)


def stop_all(processes: Sequence[subprocess.Popen[bytes]], *, timeout: float) -> None:
    """SIGTERM every process group at once; SIGKILL what is left after ``timeout``."""
    running = [process for process in processes if process.poll() is None]
    for process in running:
        _signal_group(process, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for process in running:
        try:
            process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait()


def _signal_group(process: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)


class MakeParent:
    """Notice a signal sent to the `make run` process alone, which make does not pass on.

    GNU make forwards SIGTERM to its recipe, but not SIGINT, SIGHUP or SIGQUIT: it
    assumes the terminal sent those to the whole process group, and waits for its
    children to exit. Its handler, though, first resets the signal to its default
    action, so the signal leaves the "caught" mask make shows in /proc/<pid>/status.
    Seeing that (or make gone), the supervisor stops as if it had got the signal itself.
    """

    WATCHED = (signal.SIGINT, signal.SIGHUP, signal.SIGQUIT)

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.caught = self._caught() & self._mask(self.WATCHED)

    @classmethod
    def detect(cls) -> MakeParent | None:
        pid = os.getppid()
        try:
            with open(f"/proc/{pid}/comm") as comm:
                name = comm.read().strip()
        except OSError:  # not Linux, or no /proc
            return None
        return cls(pid) if name in ("make", "gmake") else None

    def signalled(self) -> bool:
        if os.getppid() != self.pid:
            return True  # make is gone (even kill -9); we were re-parented
        return bool(self.caught & ~self._caught())

    @staticmethod
    def _mask(signals: Sequence[int]) -> int:
        return sum(1 << (int(sig) - 1) for sig in signals)

    def _caught(self) -> int:
        try:
            with open(f"/proc/{self.pid}/status") as status:
                for line in status:
                    if line.startswith("SigCgt:"):
                        return int(line.split()[1], 16)
        except OSError:
            pass
        return 0


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


def wait_for_port(host: str, port: int, *, timeout: float, alive: Callable[[], bool]) -> bool:
    """Poll until something accepts TCP connections on ``host:port``.

    Daphne listens only once the Django app is loaded, so an accepted connection means
    it is ready, and (unlike an HTTP probe) it leaves no line in the access log.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive():
        try:
            with socket.create_connection((host, port), timeout=1):
                return True
        except OSError:
            time.sleep(0.2)
    return False


class Supervisor:
    # Seconds the children get to exit on their own before they are killed. Nothing
    # they hold needs longer: a run slice lasts 2 s and is re-queued if cut short.
    STOP_TIMEOUT = 4.0

    def __init__(self) -> None:
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.cleanups: list[Callable[[], None]] = []
        self.stopping = False
        self.make = MakeParent.detect()

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

    def check_parent(self) -> None:
        """Raise KeyboardInterrupt when `make run` was told to stop (see MakeParent)."""
        if self.make is not None and self.make.signalled():
            raise KeyboardInterrupt

    def wait(self) -> str:
        """Block until a child exits; returns its name."""
        while True:
            for name, process in self.children:
                if process.poll() is not None:
                    return name
            self.check_parent()
            time.sleep(0.2)

    def shutdown(self) -> None:
        if self.stopping:
            return
        self.stopping = True
        # Ignore further Ctrl-C while stopping, so a double press cannot orphan a child.
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        stop_all([process for _name, process in self.children], timeout=self.STOP_TIMEOUT)
        for cleanup in reversed(self.cleanups):
            cleanup()
