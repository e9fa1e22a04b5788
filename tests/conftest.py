from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

# Schema violations of the frames sent during the running test (see live_frames_checked).
FRAME_VIOLATIONS: list[str] = []


@pytest.fixture(scope="session", autouse=True)
def redis_url() -> Iterator[str]:
    """The suite's Redis: the embedded server under var/test/, or REDIS_URL when set."""
    from django.conf import settings

    from eventviz import embedded

    if not settings.REDIS_EMBEDDED:
        if not embedded.ping(settings.REDIS_URL):
            pytest.exit(f"REDIS_URL={settings.REDIS_URL} does not answer", returncode=3)
        yield settings.REDIS_URL
        return
    server = embedded.EmbeddedRedis(settings.VAR_DIR)
    started = server.start()
    try:
        yield server.url
    finally:
        if started:
            server.stop()


@pytest.fixture(scope="session", autouse=True)
def live_frames_checked() -> Iterator[None]:
    """Every frame this process sends to a websocket is checked against its type's schema.

    ``flows.live.sender.encode`` is the one chokepoint: the channel-layer sender and the
    websocket consumer both encode through it. A frame that breaks its schema is still
    sent (so the test goes on as it would), and the test fails at its end, naming it.
    (Frames sent by the processes the stack tests start are not seen here.)
    """
    from flows.live import frames, sender

    encode = sender.encode

    def checked(frame: Any) -> str:
        try:
            frames.validate(frame)
        except frames.FrameSchemaError as exc:
            FRAME_VIOLATIONS.append(f"{exc}\n    frame: {str(frame)[:400]}")
        return encode(frame)

    sender.encode = checked
    try:
        yield
    finally:
        sender.encode = encode


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    FRAME_VIOLATIONS.clear()
    result = yield
    if FRAME_VIOLATIONS:
        found = "\n".join(FRAME_VIOLATIONS)
        FRAME_VIOLATIONS.clear()
        pytest.fail(f"frames sent during this test break their schema:\n{found}", pytrace=False)
    return result
