"""Producers: messages at a rate with jitter and bursts, each the same for the same seed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from flows.engine import generators
from flows.engine.base import EngineBase
from flows.engine.batch import Tx
from flows.engine.config import ProducerCfg


def iso(ms: float) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class ProducersMixin(EngineBase):
    """Producers emit their due messages into their channel."""

    def emit(self, now: int) -> None:
        """Tick phase: every running producer emits the messages due by ``now``."""
        tx = Tx(now)
        for producer in self.config.producers.values():
            if producer.paused or producer.rate <= 0 or not producer.emissions:
                continue
            self._emit_producer(tx, producer, now)
        self.commit(tx)

    def _emit_producer(self, tx: Tx, producer: ProducerCfg, now: int) -> None:
        key = self.k.producer(producer.id)
        state = self.r.hgetall(key)
        n = int(state.get(b"n", 0))
        next_at = float(state.get(b"next_at", now))
        # After a pause or a stall, do not flood: catch up at most one second.
        next_at = max(next_at, now - 1000.0)
        burst_at = float(state.get(b"burst_at", now + producer.burst_every * 1000))
        interval = 1000.0 / producer.rate
        due: list[float] = []
        while next_at <= now and len(due) < 5000:
            due.append(next_at)
            jitter = self.rng(producer.id, n + len(due), "jitter").uniform(-1, 1)
            next_at += interval * max(0.05, 1 + producer.jitter * jitter)
        if producer.burst_size and producer.burst_every > 0 and burst_at <= now:
            due.extend([float(now)] * producer.burst_size)
            burst_at = now + producer.burst_every * 1000
        for at in due:
            msg = self.make_message(producer, n, at)
            n += 1
            self.hop(
                tx,
                msg,
                "published",
                producer.node,
                self.config.node_of_channel(producer.channel_id),
                producer.edge,
                payload=msg,
            )
            tx.node_count(producer.node, "published")
            tx.count("published")
            self.publish(
                tx,
                msg,
                producer.channel_id,
                frm=producer.node,
                edge=producer.edge,
                counted=True,
            )
        mapping = {"n": n, "next_at": next_at, "burst_at": burst_at}
        tx.writes.append(lambda p: p.hset(key, mapping=mapping))

    def make_message(self, producer: ProducerCfg, n: int, at: float) -> dict[str, Any]:
        """The producer's ``n``-th message: the same for the same seed and topology."""
        rng = self.rng(producer.id, n, "message")
        emissions = producer.emissions
        emission = emissions[0]
        weights = [e.weight for e in emissions]
        if len(emissions) > 1 and sum(weights) > 0:
            emission = rng.choices(emissions, weights=weights)[0]
        time = iso(at)
        detail = generators.render(emission.template, rng=rng, number=n, time=time)
        attributes = generators.render(emission.attributes, rng=rng, number=n, time=time)
        return {
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "kind": emission.kind,
            "source": emission.source or producer.name,
            "detail-type": emission.type_name,
            "time": time,
            "schema_version": emission.version,
            "attributes": attributes,
            "detail": detail,
        }
