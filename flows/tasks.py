from __future__ import annotations

from celery import shared_task


@shared_task(name="flows.ping")
def ping(value: str = "pong") -> str:
    """Round-trip probe: the smoke test and operators use it to see a worker answer."""
    return value
