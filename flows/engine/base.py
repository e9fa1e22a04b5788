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
from flows.engine.batch import Conflict, LeaseLost, Tx
from flows.engine.config import TopologyConfig
from flows.engine.delivery import Delivery
from flows.engine.keys import RunKeys

MAX_RECEIVE_BATCH = 500  # deliveries one phase takes from a queue or the push schedule

# Hop seqs are shared with the AWS API, which appends hops of its own (flows.engine.
# external): a batch takes its seqs from the run's seq key in the same atomic step that
# appends it to the stream, so the stream is in seq order and no seq is used twice. The
# entry carries its first seq (``s``); readers number the batch's hops from it.
APPEND_HOPS = """
local n = tonumber(ARGV[1])
local last = redis.call('INCRBY', KEYS[1], n)
redis.call('XADD', KEYS[2], '*', 'h', ARGV[2], 's', last - n + 1)
return last
"""


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
        dseq, started = self.r.mget(self.k.dseq, self.k.started)
        self.dseq = int(dseq or 0)
        self.started = int(started) if started else None
        self.script_done = {int(i) for i in self.r.smembers(self.k.script)}
        self._append_hops = self.r.register_script(APPEND_HOPS)
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

    def external_version(self) -> bytes | None:
        """Read at the start of a phase that reads queue state the AWS API also changes
        (ready, in flight, FIFO groups); pass it to ``commit`` as ``external``."""
        return self.r.get(self.k.external)

    def commit(self, tx: Tx, *, external: bytes | bool | None = False) -> None:
        """Write a phase's batch in one MULTI/EXEC that watches the lease.

        ``external`` (the value ``external_version`` returned when the phase began) also
        watches the API's changes: if the API moved queue state meanwhile, nothing is
        written and ``Conflict`` is raised, so the phase decides again (``retrying``).
        """
        if tx.empty():
            return
        lease = self.k.lease
        watching = external is not False
        with self.r.pipeline(transaction=True) as pipe:
            try:
                pipe.watch(lease, self.k.external) if watching else pipe.watch(lease)
                holder = pipe.get(lease)
                if holder is not None and holder.decode() != self.token:
                    raise LeaseLost(f"run {self.run_id} is driven by another worker")
                if watching and pipe.get(self.k.external) != external:
                    raise Conflict(f"run {self.run_id}: the API changed queue state")
                pipe.multi()
                tx.apply(pipe)
                for name, n in tx.counts.items():
                    if n:
                        pipe.hincrby(self.k.counters, name, n)
                if tx.hops:
                    self._append_hops(
                        keys=[self.k.seq, self.k.hops],
                        args=[len(tx.hops), orjson.dumps(tx.hops)],
                        client=pipe,
                    )
                pipe.set(self.k.dseq, self.dseq)
                results = pipe.execute()
            except redis.WatchError:
                holder = self.r.get(lease)
                if watching and (holder is None or holder.decode() == self.token):
                    raise Conflict(f"run {self.run_id}: the API changed queue state") from None
                raise LeaseLost(f"run {self.run_id} lease changed during a commit") from None
        if tx.hops:
            last = int(results[-2])
            for i, hop in enumerate(tx.hops, start=last - len(tx.hops) + 1):
                hop["seq"] = i
                hop["run"] = self.run_id

    def retrying(self, phase: Callable[[int], None], now: int, attempts: int = 5) -> None:
        """Run a phase that commits with ``external``; decide again after a ``Conflict``.

        Only the delivery id counter lives outside Redis between attempts: it is rolled
        back, so a recomputed phase hands out the same ids. After ``attempts`` conflicts
        in a row the phase waits for the next tick (the API was busier than the tick).
        """
        for _ in range(attempts):
            dseq = self.dseq
            try:
                phase(now)
                return
            except Conflict:
                self.dseq = dseq

    def _store(self, tx: Tx, d: Delivery) -> None:
        tx.hset(self.k.deliveries, d["id"], orjson.dumps(d))

    def _drop(self, tx: Tx, d: Delivery) -> None:
        tx.hdel(self.k.deliveries, d["id"])
        if d.get("receipt"):
            tx.hdel(self.k.receipts, d["id"])

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
