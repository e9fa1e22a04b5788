"""The run state every part of the engine shares: its config, clock, randomness,
delivery ids, hops, and the lease-guarded commit of a phase's batch."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from typing import Any

import orjson
import redis

from flows.engine import script
from flows.engine.batch import LeaseLost, Tx
from flows.engine.config import TopologyConfig
from flows.engine.delivery import Delivery
from flows.engine.keys import RunKeys

MAX_RECEIVE_BATCH = 500  # deliveries one phase takes from a queue or the push schedule


class EngineBase:
    """What every part of the engine works on; the parts (mixins) subclass it.

    The parts call each other through ``self`` (a queue dead-letters, a bus pushes, ...):
    they are only complete once composed into ``flows.engine.engine.Engine``.
    """

    def __init__(
        self,
        client: redis.Redis,
        *,
        run_id: int,
        seed: int,
        config: TopologyConfig,
        lease_token: str,
        clock: Callable[[], int] | None = None,
    ) -> None:
        self.r = client
        self._clock = clock
        self.run_id = run_id
        self.seed = seed
        self.token = lease_token
        self.k = RunKeys(run_id)
        seq, dseq, started = self.r.mget(self.k.seq, self.k.dseq, self.k.started)
        self.seq = int(seq or 0)
        self.dseq = int(dseq or 0)
        self.started = int(started) if started else None
        self.script_done = {int(i) for i in self.r.smembers(self.k.script)}
        self.set_config(config)

    def set_config(self, config: TopologyConfig) -> None:
        """Use a (re)loaded topology, with the script's overrides of this run so far."""
        for i in sorted(self.script_done):
            if i < len(config.script):
                config = script.apply_override(config, config.script[i])
        self.config = config

    def clock(self) -> int:
        """Milliseconds, from Redis: one clock for every worker on every host."""
        if self._clock is not None:
            return self._clock()
        seconds, micros = self.r.time()
        return int(seconds) * 1000 + int(micros) // 1000

    def rng(self, *parts: object) -> random.Random:
        return random.Random(":".join(map(str, (self.seed, *parts))))

    def new_delivery(self, tx: Tx, msg: dict[str, Any], **fields: Any) -> Delivery:
        self.dseq += 1
        tx.count("copies")
        return {
            "id": f"{self.dseq:012d}",
            "msg": msg,
            "body": None,
            "receives": 0,
            "attempt": 1,
            "retries": 0,
            **fields,
        }

    def hop(
        self,
        tx: Tx,
        msg: dict[str, Any],
        stage: str,
        frm: str,
        to: str,
        edge: str = "",
        attempt: int = 1,
        **detail: Any,
    ) -> None:
        tx.hops.append(
            {
                "msg": msg["id"],
                "type": msg.get("detail-type", ""),
                "kind": msg.get("kind", "event"),
                "stage": stage,
                "from": frm,
                "to": to,
                "edge": edge,
                "attempt": attempt,
                "at": tx.now,
                "detail": detail,
            }
        )

    def commit(self, tx: Tx) -> None:
        if tx.empty():
            return
        lease = self.k.lease
        with self.r.pipeline(transaction=True) as pipe:
            try:
                pipe.watch(lease)
                holder = pipe.get(lease)
                if holder is not None and holder.decode() != self.token:
                    raise LeaseLost(f"run {self.run_id} is driven by another worker")
                pipe.multi()
                tx.apply(pipe)
                for name, n in tx.counts.items():
                    if n:
                        pipe.hincrby(self.k.counters, name, n)
                if tx.hops:
                    for i, hop in enumerate(tx.hops, start=1):
                        hop["seq"] = self.seq + i
                        hop["run"] = self.run_id
                    pipe.xadd(self.k.hops, {"h": orjson.dumps(tx.hops)})
                    pipe.set(self.k.seq, self.seq + len(tx.hops))
                pipe.set(self.k.dseq, self.dseq)
                pipe.execute()
            except redis.WatchError:
                raise LeaseLost(f"run {self.run_id} lease changed during a commit") from None
        self.seq += len(tx.hops)

    def _store(self, tx: Tx, d: Delivery) -> None:
        tx.hset(self.k.deliveries, d["id"], orjson.dumps(d))

    def _drop(self, tx: Tx, d: Delivery) -> None:
        tx.hdel(self.k.deliveries, d["id"])

    def _load(self, delivery_ids: list[bytes]) -> list[Delivery]:
        if not delivery_ids:
            return []
        raw = self.r.hmget(self.k.deliveries, delivery_ids)
        return [orjson.loads(item) for item in raw if item is not None]

    def _busy_counts(self) -> Counter[int]:
        consumer_ids = list(self.config.consumers)
        if not consumer_ids:
            return Counter()
        with self.r.pipeline(transaction=False) as pipe:
            for consumer_id in consumer_ids:
                pipe.zcard(self.k.busy(consumer_id))
            sizes = pipe.execute()
        return Counter(dict(zip(consumer_ids, sizes, strict=True)))
