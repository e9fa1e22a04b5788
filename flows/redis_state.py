"""The process's Redis client for live simulation state (thread-safe connection pool)."""

from __future__ import annotations

import functools

import redis
import redis.asyncio
from django.conf import settings


@functools.cache
def client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, health_check_interval=30)


_async_clients: dict[int, redis.asyncio.Redis] = {}


def aclient() -> redis.asyncio.Redis:
    """The running event loop's asyncio Redis client (a client belongs to one loop)."""
    import asyncio

    loop = asyncio.get_running_loop()
    found = _async_clients.get(id(loop))
    if found is None or getattr(found, "_loop", None) is not loop:
        found = redis.asyncio.Redis.from_url(settings.REDIS_URL, health_check_interval=30)
        found._loop = loop  # type: ignore[attr-defined]
        _async_clients[id(loop)] = found
    return found
