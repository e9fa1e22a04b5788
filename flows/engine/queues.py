"""Queues as SQS runs them: competing consumers receive, visibility timeouts, FIFO
message groups, dead letters and redrive."""

from __future__ import annotations

from collections.abc import Iterable

import orjson

from flows import ids
from flows.engine.base import MAX_RECEIVE_BATCH, EngineBase
from flows.engine.batch import Tx
from flows.engine.config import ChannelCfg
from flows.engine.delivery import ROUTE_FIELDS, Delivery, rule_of


class QueuesMixin(EngineBase):
    """Point-to-point channels: a message waits until exactly one consumer receives it."""

    def expire_visibility(self, now: int) -> None:
        """Tick phase: received messages whose visibility timeout passed show again."""
        tx = Tx(now)
        external = self.external_version()
        for queue in self._queues():
            due = self.r.zrangebyscore(self.k.inflight(queue.id), "-inf", now)
            for d in self._load(due):
                consumer_id = d.get("consumer")
                if d.get("busy") and consumer_id is not None:
                    # The consumer did not finish within the visibility timeout: its work is
                    # lost and the message shows again, as in SQS.
                    tx.zrem(self.k.busy(consumer_id), d["id"])
                    consumer_node = ids.consumer_node(consumer_id)
                    self.hop(
                        tx,
                        d["msg"],
                        "failed",
                        consumer_node,
                        consumer_node,
                        d.get("edge", ""),
                        d["receives"],
                        error="visibility timeout expired before processing ended",
                    )
                    tx.node_count(consumer_node, "failed")
                elif d.get("ext"):
                    # An external consumer (the AWS API) did not delete it in time.
                    self.hop(
                        tx,
                        d["msg"],
                        "failed",
                        d["ext"],
                        d["ext"],
                        d.get("edge", ""),
                        d["receives"],
                        error="not deleted before the visibility timeout ended",
                    )
                    tx.node_count(d["ext"], "failed")
                d["busy"] = False
                d["consumer"] = None
                d.pop("ext", None)
                self._release_group(tx, queue.id, d)
                tx.zrem(self.k.inflight(queue.id), d["id"])
                tx.zadd(self.k.ready(queue.id), d["id"], now)
                self._store(tx, d)
                self.hop(tx, d["msg"], "redelivered", queue.node, queue.node, "", d["receives"] + 1)
                tx.node_count(queue.node, "redelivered")
        self.commit(tx, external=external)

    def receive(self, now: int) -> None:
        """Tick phase: each queue hands visible messages to its online consumers' free slots."""
        tx = Tx(now)
        external = self.external_version()
        busy = self._busy_counts()
        for queue in self._queues():
            competitors = [(sub, c) for sub, c in self.config.queue_consumers(queue.id) if c.online]
            free = {c.id: max(0, c.concurrency - busy[c.id]) for _, c in competitors}
            capacity = sum(free.values())
            if capacity == 0:
                continue
            due = self.r.zrangebyscore(
                self.k.ready(queue.id),
                "-inf",
                now,
                start=0,
                num=min(MAX_RECEIVE_BATCH, capacity * (4 if queue.fifo else 1)),
            )
            if not due:
                continue
            locked: set[str] = set()
            if queue.fifo:
                locked = {g.decode() for g in self.r.hkeys(self.k.fifo(queue.id))}
            turn = self.rng(queue.id, now, "turn").randrange(len(competitors))
            for d in self._load(due):
                if queue.fifo and d["group"] in locked:
                    continue  # an earlier message of its group is in flight
                # Round-robin over consumers with a free slot: they compete for the queue.
                for _ in range(len(competitors)):
                    sub, consumer = competitors[turn % len(competitors)]
                    turn += 1
                    if free[consumer.id] > 0:
                        break
                else:
                    break
                free[consumer.id] -= 1
                if queue.fifo:
                    locked.add(d["group"])
                if not self.take(tx, queue, d, now + queue.visibility_timeout_ms):
                    continue
                d["edge"] = sub.edge
                self._start(tx, consumer, d, frm=queue.node)
                tx.node_count(queue.node, "received")
                self._mirror(tx, d["msg"], sub, frm=queue.node, body=d["body"])
                if sum(free.values()) == 0:
                    break
        self.commit(tx, external=external)

    def take(self, tx: Tx, queue: ChannelCfg, d: Delivery, deadline: int) -> bool:
        """One receive of a visible message, as SQS counts it, for any consumer (simulated
        here, external in ``flows.engine.external``): the receive count goes up; past the
        queue's max receives the message is dead-lettered instead (False); otherwise it is
        in flight until ``deadline``, holding its FIFO group (True)."""
        tx.zrem(self.k.ready(queue.id), d["id"])
        d["receives"] += 1
        if queue.max_receives is not None and d["receives"] > queue.max_receives:
            self._dead_letter(
                tx,
                d,
                queue.dlq_id,
                f"received {queue.max_receives} times without success (max receives)",
            )
            return False
        if queue.fifo:
            tx.hset(self.k.fifo(queue.id), d["group"], d["id"])
        tx.zadd(self.k.inflight(queue.id), d["id"], deadline)
        return True

    def _enqueue(self, tx: Tx, d: Delivery, queue_id: int, *, frm: str, edge: str) -> None:
        """A delivery waits in a queue (behind its FIFO group) until a consumer receives it."""
        queue = self.config.channels[queue_id]
        d["queue"] = queue_id
        if queue.fifo:
            d["group"] = str(
                d["msg"].get("group")
                or (d["msg"].get("attributes") or {}).get("MessageGroupId", "default")
            )
        self._store(tx, d)
        # SQS DelaySeconds: a message sent with a delay becomes visible only then.
        score = tx.now + int(d["msg"].get("delay_ms") or 0)
        tx.zadd(self.k.ready(queue_id), d["id"], score)
        self.hop(tx, d["msg"], "enqueued", frm, queue.node, edge, body=d["body"], **rule_of(d))
        tx.node_count(queue.node, "enqueued")

    def _release_group(self, tx: Tx, queue_id: int, d: Delivery) -> None:
        """The next message of the delivery's FIFO group may now be received."""
        if d.get("group") is not None:
            tx.hdel(self.k.fifo(queue_id), d["group"])

    def _dead_letter(self, tx: Tx, d: Delivery, dlq_id: int | None, reason: str) -> None:
        """End a delivery as dead-lettered; park it in the dead-letter queue if there is one."""
        self._drop(tx, d)
        frm = (
            self.config.node_of_channel(d["queue"])
            if d.get("queue") is not None
            else ids.consumer_node(d.get("consumer"))
        )
        dlq = self.config.channels.get(dlq_id) if dlq_id is not None else None
        to = dlq.node if dlq else ""
        edge = ids.dead_letter_edge(d["queue"]) if d.get("queue") is not None else d.get("edge", "")
        self.hop(
            tx,
            d["msg"],
            "dead_lettered",
            frm,
            to,
            edge,
            d["receives"] or d["attempt"],
            reason=reason,
            dlq=dlq.name if dlq else None,
        )
        tx.count("dead_lettered")
        tx.node_count(frm, "dead_lettered")
        if to:
            tx.rpush(self.k.parked(dlq_id), orjson.dumps(d))
            tx.node_count(to, "parked")

    def redrive(self, tx: Tx, dlq_id: int) -> None:
        """Move every message parked in a dead-letter queue back to where it failed."""
        key = self.k.parked(dlq_id)
        dlq = self.config.channels[dlq_id]
        parked = self.r.lrange(key, 0, -1)
        tx.writes.append(lambda p: p.ltrim(key, len(parked), -1))
        for raw in parked:
            old = orjson.loads(raw)
            # Its route carries over; its receives, attempts and retries start again.
            fields = {k: old[k] for k in ROUTE_FIELDS if k in old}
            d = self.new_delivery(tx, old["msg"], **fields)
            tx.node_count(dlq.node, "redriven")
            queue_id = old.get("queue")
            if queue_id is not None and queue_id in self.config.channels:
                self._enqueue(tx, d, queue_id, frm=dlq.node, edge=ids.dead_letter_edge(queue_id))
            else:
                self._store(tx, d)
                tx.zadd(self.k.push, d["id"], tx.now)
                self.hop(
                    tx,
                    d["msg"],
                    "redelivered",
                    dlq.node,
                    ids.consumer_node(d.get("consumer")),
                    d.get("edge", ""),
                    redrive=True,
                )

    def _queues(self) -> Iterable[ChannelCfg]:
        return (c for c in self.config.channels.values() if c.kind == "queue")
