"""A client that asks for a lot and reads nothing cannot make Daphne buffer without bound.

Issue 16.4: 150 anonymous ``resume {run, after_seq: 0}`` frames (44 bytes each, ~1 MB
answer each) from a client that reads nothing grew Daphne by 141 MB. These tests start a
real Daphne (its transport is what buffers) and measure its resident memory.
"""

from __future__ import annotations

import base64
import os
import socket
import struct
import subprocess
import time
from collections.abc import Iterator

import orjson
import pytest

from eventviz import stack
from flows.formats.scenario import scenario_load_file
from flows.models import Hop, Run
from tests.stack.conftest import child_env, free_port

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.stack]

RESUMES = 150
DRAIN_TIMEOUT = 3  # seconds (EVENTVIZ_WS_DRAIN_TIMEOUT of the Daphne started here)


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.fixture
def daphne(redis_url: str) -> Iterator[tuple[int, int]]:
    """A Daphne process on the test database: (pid, port)."""
    env = child_env()
    env["EVENTVIZ_WS_DRAIN_TIMEOUT"] = str(DRAIN_TIMEOUT)
    port = free_port()
    process = subprocess.Popen(
        stack.daphne_argv(host="127.0.0.1", port=port), env=env, start_new_session=True
    )
    try:
        status = stack.wait_for_http(
            f"http://127.0.0.1:{port}/healthz", timeout=60, alive=lambda: process.poll() is None
        )
        assert status is not None, "daphne did not start"
        yield process.pid, port
    finally:
        stack.stop(process)


def masked_text_frame(text: str) -> bytes:
    payload = text.encode()
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    assert len(payload) < 126
    return struct.pack("!BB", 0x81, 0x80 | len(payload)) + mask + masked


def open_non_reading_socket(port: int) -> socket.socket:
    """A websocket opened by hand, with a tiny receive window, that will read nothing more."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            "GET /ws/topologies/shop/ HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{port}\r\nOrigin: http://127.0.0.1:{port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


def test_a_client_that_reads_nothing_cannot_grow_daphne(daphne) -> None:
    pid, port = daphne
    run_obj = Run.objects.create(topology=scenario_load_file("shop"), seed=1, status="stopped")
    Hop.objects.bulk_create(
        Hop(
            run=run_obj,
            seq=s,
            msg=f"00000000-0000-4000-8000-{s:012d}",
            type="OrderPlaced",
            kind="event",
            stage="processed",
            from_node="queue:12345",
            to_node="consumer:12345",
            edge="sub:12345",
            at=1764244800000 + s,
        )
        for s in range(1, 5001)
    )
    frame = masked_text_frame(
        orjson.dumps({"type": "resume", "run": run_obj.pk, "after_seq": 0}).decode()
    )
    # Warm Daphne up (imports, the first database connection) before the baseline.
    warm = open_non_reading_socket(port)
    warm.close()
    time.sleep(1.0)
    before = rss_bytes(pid)

    sock = open_non_reading_socket(port)
    sock.sendall(frame * RESUMES)
    peak = before
    # Unbounded, Daphne had buffered all 150 answers well within this time.
    deadline = time.monotonic() + DRAIN_TIMEOUT + 12
    while time.monotonic() < deadline:
        peak = max(peak, rss_bytes(pid))
        time.sleep(0.25)
    ended = connection_ended(sock, timeout=5)
    sock.close()
    time.sleep(1.0)
    after_close = rss_bytes(pid)

    grown, kept = (peak - before) / 2**20, (after_close - before) / 2**20
    print(
        f"daphne RSS before {before / 2**20:.1f} MiB, peak +{grown:.1f} MiB, "
        f"after close +{kept:.1f} MiB"
    )
    assert grown < 40, f"Daphne grew by {grown:.0f} MiB for a client that reads nothing"
    # The client was disconnected, not kept waiting: what it had not read is gone.
    assert ended


def connection_ended(sock: socket.socket, *, timeout: float) -> bool:
    """Read what is left; True when the server has closed (EOF or reset) within ``timeout``."""
    sock.settimeout(timeout)
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return True
