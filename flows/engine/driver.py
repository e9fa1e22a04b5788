"""Drives one run for a slice of time while holding its lease.

The Celery task ``flows.drive_run`` calls ``drive`` and re-queues itself; the watchdog in
every worker re-queues it when no worker holds a running run's lease (after a kill -9),
so a run keeps going as long as one worker is alive.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import redis

from flows.engine import keys
from flows.engine.batch import LeaseLost
from flows.engine.config import TopologyConfig
from flows.engine.engine import TICK_MS, Engine
from flows.engine.keys import RunKeys

log = logging.getLogger(__name__)

LEASE_MS = 4000

# Extend or release the lease only if we still hold it.
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


@dataclass
class RunHandle:
    run_id: int
    topology_id: int
    seed: int
    slug: str = ""
    counters_at: int = 0  # when the last counters frame went out (ms)


HopSink = Callable[[RunHandle, list[dict[str, Any]]], None]
ConfigLoader = Callable[[int], TopologyConfig]


def entry_hops(run_id: int, fields: dict[bytes, bytes]) -> list[dict[str, Any]]:
    """The hops of one stream entry, numbered from its first seq (``base.APPEND_HOPS``)."""
    hops = orjson.loads(fields[b"h"])
    if b"s" not in fields:  # written already numbered
        return hops
    first = int(fields[b"s"])
    for i, hop in enumerate(hops):
        hop["seq"] = first + i
        hop["run"] = run_id
    return hops


def pending_hops(client: redis.Redis, run_id: int) -> list[dict[str, Any]]:
    """Hops committed in Redis and not yet handed to the sink."""
    entries = client.xrange(RunKeys(run_id).hops)
    return [hop for _entry_id, fields in entries for hop in entry_hops(run_id, fields)]


def flush_hops(client: redis.Redis, run: RunHandle, sink: HopSink, *, limit: int = 200) -> int:
    """Hand the hops in the run's stream to ``sink``, then delete them; returns how many.

    If ``sink`` raises, the entries stay and are handed over again next time: the sink
    must be idempotent (it is: hops are unique by run and seq).
    """
    key = RunKeys(run.run_id).hops
    entries = client.xrange(key, count=limit)
    if not entries:
        return 0
    hops: list[dict[str, Any]] = []
    for _entry_id, fields in entries:
        hops.extend(entry_hops(run.run_id, fields))
    sink(run, hops)
    client.xdel(key, *[entry_id for entry_id, _ in entries])
    return len(hops)


def drive(
    client: redis.Redis,
    run: RunHandle,
    *,
    load_config: ConfigLoader,
    sink: HopSink,
    seconds: float = 2.0,
    on_tick: Callable[[RunHandle, TopologyConfig, int], None] | None = None,
) -> bool:
    """Tick ``run`` for about ``seconds``. Returns False when the run is over or not ours.

    1. Take the lease (SET NX PX); if another worker has it, leave at once.
    2. Each tick: reload the topology if an edit bumped its version, run the engine's
       phases, flush hops to the sink, renew the lease.
    3. Release the lease so the next slice (any worker) can take it.
    """
    k = RunKeys(run.run_id)
    token = uuid.uuid4().hex
    if not client.set(k.lease, token, nx=True, px=LEASE_MS):
        return False
    renew = client.register_script(_RENEW)
    release = client.register_script(_RELEASE)
    version_key = keys.config_version(run.topology_id)
    version = client.get(version_key)
    config = load_config(run.topology_id)
    engine = Engine(client, run_id=run.run_id, seed=run.seed, config=config, lease_token=token)
    deadline = time.monotonic() + seconds
    keep_going = True
    try:
        while True:
            started = time.monotonic()
            if client.exists(k.stop):
                keep_going = False
                break
            current = client.get(version_key)
            if current != version:
                version = current
                engine.set_config(load_config(run.topology_id))
                config = engine.config
            now = engine.tick()
            flush_hops(client, run, sink)
            if on_tick is not None:
                on_tick(run, config, now)
            if not renew(keys=[k.lease], args=[token, LEASE_MS]):
                log.warning("run %s: lease lost; another worker drives it now", run.run_id)
                return False
            if started > deadline:
                break
            time.sleep(max(0.0, TICK_MS / 1000 - (time.monotonic() - started)))
    except LeaseLost as exc:
        log.warning("%s", exc)
        return False
    finally:
        flush_hops(client, run, sink, limit=10_000)
        release(keys=[k.lease], args=[token])
    if not keep_going:
        expire_run(client, run.run_id)
    return keep_going


def orphaned_runs(client: redis.Redis) -> list[int]:
    """Active runs that no worker holds, each claimed for one kick per lease period.

    A run whose worker died (kill -9) keeps its lease until it expires; after that the
    first watchdog (of any worker) to claim the run's kick key queues a slice for it.
    """
    claimed = []
    for raw in client.hkeys(keys.ACTIVE_RUNS):
        k = RunKeys(int(raw))
        if client.exists(k.lease):
            continue
        if client.set(k.kick, 1, nx=True, px=LEASE_MS):
            claimed.append(k.run_id)
    return claimed


STOPPED_RUN_TTL_S = 3600


def expire_run(client: redis.Redis, run_id: int, seconds: int = STOPPED_RUN_TTL_S) -> None:
    """A stopped run's live state goes after a while (its counters are kept in the database)."""
    with client.pipeline(transaction=False) as pipe:
        for key in client.scan_iter(match=keys.run_pattern(run_id), count=1000):
            pipe.expire(key, seconds)
        pipe.execute()
