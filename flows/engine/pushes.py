"""Pushes to consumers as SNS delivers them: topic fan-out through filter policies,
pushes to subscribers and rule targets with retries and backoff, traffic mirrors, and
direct (synchronous) calls."""

from __future__ import annotations

from typing import Any

from flows import ids
from flows.engine.base import MAX_RECEIVE_BATCH, EngineBase
from flows.engine.batch import Tx
from flows.engine.config import SubscriptionCfg
from flows.engine.delivery import Delivery
from flows.engine.semantics import direct_callee

PUSH_BACKOFF_MS = (200, 400, 800, 1600, 3200, 5000)
CAPACITY_RETRY_MS = 25


class PushesMixin(EngineBase):
    """Copies pushed to consumers: no queue holds them, a failed push is retried."""

    def push_due(self, now: int) -> None:
        """Tick phase: due pushes reach their consumer, fail and retry, or wait for a slot."""
        tx = Tx(now)
        due = self.r.zrangebyscore(self.k.push, "-inf", now, start=0, num=MAX_RECEIVE_BATCH)
        if not due:
            return
        busy = self._busy_counts()
        for d in self._load(due):
            tx.zrem(self.k.push, d["id"])
            consumer = self.config.consumers.get(d["consumer"])
            if consumer is None:
                self._dead_letter(tx, d, None, "the subscriber was removed from the topology")
                continue
            if not consumer.online:
                self.hop(
                    tx,
                    d["msg"],
                    "failed",
                    d["from"],
                    consumer.node,
                    d.get("edge", ""),
                    d["attempt"],
                    error="consumer offline: the push failed",
                )
                tx.node_count(consumer.node, "failed")
                self._retry_push(tx, d, reason="consumer offline")
                continue
            if busy[consumer.id] >= consumer.concurrency:
                # Waiting for a free slot is not a failed attempt.
                tx.zadd(self.k.push, d["id"], now + CAPACITY_RETRY_MS)
                continue
            busy[consumer.id] += 1
            self._start(tx, consumer, d, frm=d["from"])
        self.commit(tx)

    def _retry_push(self, tx: Tx, d: Delivery, *, reason: str) -> None:
        """A failed push is tried again after a backoff, until its retries run out."""
        if d["retries"] < d.get("max_retries", 3):
            delay = PUSH_BACKOFF_MS[min(d["retries"], len(PUSH_BACKOFF_MS) - 1)]
            d["retries"] += 1
            d["attempt"] += 1
            self._store(tx, d)
            tx.zadd(self.k.push, d["id"], tx.now + delay)
            return
        self._dead_letter(tx, d, d.get("dlq"), f"{reason}; retries exhausted")

    def _push(
        self,
        tx: Tx,
        msg: dict[str, Any],
        consumer_id: int | None,
        *,
        frm: str,
        edge: str,
        body: Any,
        max_retries: int,
        dlq: int | None,
        counted: bool,
        mirror: bool = False,
        rule: dict[str, Any] | None = None,
    ) -> Delivery:
        """A copy for a consumer, pushed as soon as the push phase runs."""
        d = self.new_delivery(
            tx,
            msg,
            body=body,
            consumer=consumer_id,
            edge=edge,
            max_retries=max_retries,
            dlq=dlq,
            mirror=mirror,
            **{"from": frm},
            **({"rule": rule} if rule else {}),
        )
        if counted:
            tx.count("copies", -1)  # the arriving copy becomes this delivery
        self._store(tx, d)
        tx.zadd(self.k.push, d["id"], tx.now)
        return d

    def _fan_out(
        self, tx: Tx, msg: dict[str, Any], topic_id: int, *, body: Any, depth: int
    ) -> None:
        """A topic gives each subscription a copy, unless its filter policy rejects it."""
        topic = self.config.channels[topic_id]
        subs = self.config.subs_by_channel.get(topic_id, [])
        if not subs:
            self.hop(
                tx,
                msg,
                "unmatched",
                topic.node,
                topic.node,
                reason="the topic has no subscriptions",
            )
            tx.count("unmatched")
            tx.node_count(topic.node, "unmatched")
            return
        tx.count("copies", len(subs) - 1)
        for sub in subs:
            if sub.policy is not None:
                target = (
                    msg.get("detail")
                    if sub.policy.scope == "MessageBody"
                    else msg.get("attributes")
                ) or {}
                if not sub.policy.matches(target):
                    to = (
                        ids.consumer_node(sub.consumer_id)
                        if sub.consumer_id is not None
                        else self.config.node_of_channel(sub.target_channel_id or 0)
                    )
                    self.hop(
                        tx,
                        msg,
                        "filtered",
                        topic.node,
                        to,
                        sub.edge,
                        policy=sub.policy.policy,
                        why=[m.as_dict() for m in sub.policy.explain(target)][:5],
                    )
                    tx.count("filtered")
                    tx.node_count(topic.node, "filtered")
                    continue
            tx.node_count(topic.node, "delivered")
            if sub.target_channel_id is not None:
                self._arrive(
                    tx,
                    msg,
                    sub.target_channel_id,
                    frm=topic.node,
                    edge=sub.edge,
                    depth=depth + 1,
                    body=body,
                    extra={"sub": sub.id},
                )
            else:
                self._push(
                    tx,
                    msg,
                    sub.consumer_id,
                    frm=topic.node,
                    edge=sub.edge,
                    body=body,
                    max_retries=sub.max_retries,
                    dlq=sub.dlq_id,
                    counted=True,
                )
                self._mirror(tx, msg, sub, frm=topic.node, body=body)

    def _mirror(
        self, tx: Tx, msg: dict[str, Any], primary: SubscriptionCfg, *, frm: str, body: Any
    ) -> None:
        """Traffic mirroring: every message the primary gets, its shadows get a copy of."""
        for shadow in self.config.mirrors_of.get(primary.id, []):
            if shadow.consumer_id is None:
                continue
            self._push(
                tx,
                msg,
                shadow.consumer_id,
                frm=frm,
                edge=shadow.edge,
                body=body,
                max_retries=0,
                dlq=None,
                counted=False,
                mirror=True,
            )
            self.hop(
                tx,
                msg,
                "mirrored",
                frm,
                ids.consumer_node(shadow.consumer_id),
                shadow.edge,
                primary=primary.edge,
            )

    def _call(self, tx: Tx, msg: dict[str, Any], direct_id: int, frm: str) -> None:
        """A synchronous call: the caller waits; an offline callee fails it at once."""
        channel = self.config.channels[direct_id]
        sub = direct_callee(self.config.subs_by_channel.get(direct_id, []))
        callee = self.config.consumers.get(sub.consumer_id) if sub else None
        if callee is None or not callee.online:
            to = callee.node if callee else channel.node
            why = "the callee is offline" if callee else "nobody answers this call"
            self.hop(
                tx,
                msg,
                "failed",
                frm,
                to,
                sub.edge if sub else "",
                error=f"direct call failed at once: {why}",
            )
            tx.node_count(frm, "failed")
            tx.node_count(channel.node, "failed_calls")
            tx.count("failed_calls")
            return
        d = self.new_delivery(
            tx,
            msg,
            consumer=callee.id,
            edge=sub.edge,
            max_retries=0,
            dlq=None,
            **{"from": channel.node},
        )
        tx.node_count(channel.node, "calls")
        self._start(tx, callee, d, frm=channel.node)
        self._mirror(tx, msg, sub, frm=channel.node, body=None)
