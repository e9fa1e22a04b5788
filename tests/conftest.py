from __future__ import annotations

from collections.abc import Iterator

import pytest


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
