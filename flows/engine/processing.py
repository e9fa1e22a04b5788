"""Consumers process deliveries: a due time per delivery, never a sleep; then success
(with duplicates flagged), simulated failure or a schema mismatch."""

from __future__ import annotations

from flows.engine.base import EngineBase
from flows.engine.batch import Tx
from flows.engine.config import ConsumerCfg
from flows.engine.delivery import Delivery, rule_of


class ProcessingMixin(EngineBase):
    """Deliveries handed to consumers, and how their processing ends."""

    def _start(self, tx: Tx, consumer: ConsumerCfg, d: Delivery, *, frm: str) -> None:
        """Hand a delivery to a consumer: it is done (or fails) after its latency."""
        attempt = d["receives"] or d["attempt"]
        rng = self.rng(d["msg"]["id"], consumer.node, attempt, "latency")
        latency = max(0.0, rng.gauss(consumer.latency_mean_ms, consumer.latency_jitter_ms))
        d["busy"] = True
        d["consumer"] = consumer.id
        d["started"] = tx.now
        self._store(tx, d)
        due = tx.now + int(latency)
        tx.zadd(self.k.busy(consumer.id), d["id"], due)
        stage = "received" if d.get("queue") is not None else "delivered"
        self.hop(
            tx,
            d["msg"],
            stage,
            frm,
            consumer.node,
            d.get("edge", ""),
            attempt,
            body=d["body"],
            mirror=bool(d.get("mirror")),
            **rule_of(d),
        )
        tx.node_count(consumer.node, "received")

    def complete_processing(self, now: int) -> None:
        """Tick phase: processing whose due time has come ends (``_finish``)."""
        tx = Tx(now)
        for consumer in self.config.consumers.values():
            due = self.r.zrangebyscore(self.k.busy(consumer.id), "-inf", now)
            deliveries = self._load(due)
            if not deliveries:
                continue
            seen = self.r.smismember(self.k.seen(consumer.id), [d["msg"]["id"] for d in deliveries])
            for d, again in zip(deliveries, seen, strict=True):
                tx.zrem(self.k.busy(consumer.id), d["id"])
                self._finish(tx, consumer, d, seen_before=bool(again))
        self.commit(tx)

    def _finish(self, tx: Tx, consumer: ConsumerCfg, d: Delivery, *, seen_before: bool) -> None:
        """Processing ended: success deletes the message, failure leaves it to be retried.

        A message this consumer processed before (a replay, a redrive, a second copy)
        is flagged ``duplicate``; for a consumer that is not idempotent its effect
        happened twice, which the node's ``duplicates`` counter shows.
        """
        body = d["body"] if d["body"] is not None else d["msg"].get("detail")
        attempt = d["receives"] or d["attempt"]
        node = consumer.node
        error = consumer.schema_error(body)
        # The draw is keyed by message and consumer, not by delivery: a mirror copy or a
        # retry elsewhere never changes what this consumer does with this message.
        if (
            error is None
            and consumer.failure_rate > 0
            and self.rng(d["msg"]["id"], node, attempt, "outcome").random() < consumer.failure_rate
        ):
            error = "the consumer failed (simulated failure rate)"
        queue_id = d.get("queue")
        if error is None:
            if queue_id is not None:
                tx.zrem(self.k.inflight(queue_id), d["id"])
                self._release_group(tx, queue_id, d)
            self._drop(tx, d)
            duplicate = {}
            if seen_before:
                duplicate = {
                    "duplicate": True,
                    "effect": "none: the consumer is idempotent"
                    if consumer.idempotent
                    else "applied twice: the consumer is not idempotent",
                }
                if not consumer.idempotent:
                    tx.node_count(node, "duplicates")
            msg_id = d["msg"]["id"]
            tx.writes.append(lambda p: p.sadd(self.k.seen(consumer.id), msg_id))
            self.hop(
                tx,
                d["msg"],
                "processed",
                node,
                node,
                d.get("edge", ""),
                attempt,
                mirror=bool(d.get("mirror")),
                latency_ms=tx.now - d.get("started", tx.now),
                **duplicate,
            )
            tx.node_count(node, "processed")
            tx.count("processed")
            if d.get("mirror"):
                tx.node_count(node, "mirror_processed")
            return
        self.hop(
            tx,
            d["msg"],
            "failed",
            node,
            node,
            d.get("edge", ""),
            attempt,
            error=error,
            mirror=bool(d.get("mirror")),
        )
        tx.node_count(node, "failed")
        if queue_id is not None:
            # SQS: a failed message stays invisible until its visibility timeout ends.
            d["busy"] = False
            self._store(tx, d)
        else:
            self._retry_push(tx, d, reason=error)
