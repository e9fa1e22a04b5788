"""One run's simulation step ("tick"), with every bit of live state in Redis.

How a tick stays correct when workers die (kill -9) or several compete:

1. Only the holder of the run's lease ticks. Each phase of a tick reads what it needs,
   decides in Python, then writes all its changes, its hops and its counters in one
   MULTI/EXEC that WATCHes the lease: a phase happened entirely or not at all, and a
   worker that lost its lease cannot write.
2. Hops are appended to a Redis stream in the same transaction as the state change they
   describe; the driver then hands them to the dashboards and the database, and trims the
   stream only after that, so a crash in between loses nothing (the stream is replayed,
   inserts are idempotent, clients drop a seq they already have).
3. Processing is simulated by due times (a consumer's busy set), never by sleeping, so a
   crashed worker holds no message: the next lease holder completes it on time.

Accounting (DESIGN.md): every copy of a message on its way to one subscriber is a live
delivery (a field of the ``dlv`` hash) until it ends processed, dead_lettered, filtered or
unmatched. ``copies`` counts every copy ever made, so
``copies == processed + dead_lettered + filtered + unmatched + HLEN(dlv)`` always.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import orjson
import redis

from flows import ids
from flows.engine import commands, generators, script
from flows.engine.batch import LeaseLost, Tx
from flows.engine.config import ConsumerCfg, ProducerCfg, SubscriptionCfg, TopologyConfig
from flows.engine.delivery import ROUTE_FIELDS, Delivery, rule_of
from flows.engine.keys import RunKeys
from flows.engine.semantics import MAX_ROUTING_DEPTH, direct_callee

log = logging.getLogger(__name__)

TICK_MS = 50
MAX_RECEIVE_BATCH = 500
PUSH_BACKOFF_MS = (200, 400, 800, 1600, 3200, 5000)
CAPACITY_RETRY_MS = 25


def iso(ms: float) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Engine:
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
        self.config = config
        for i in sorted(self.script_done):
            if i < len(config.script):
                script.apply_override(config, config.script[i])

    # --- clock, randomness, ids -------------------------------------------------------

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

    # --- committing ---------------------------------------------------------------------

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

    # --- the tick -----------------------------------------------------------------------

    def tick(self, *, producers: bool = True) -> int:
        """One step of the run at Redis time ``now``; returns that time."""
        now = self.clock()
        self.run_script(now)
        # Completions first: work that finished by now wins over a timeout that also passed.
        self.complete_processing(now)
        self.expire_visibility(now)
        self.push_due(now)
        self.drain_inbox(now)
        if producers:
            self.emit(now)
        self.receive(now)
        return now

    # phase 0: the scenario's script ---------------------------------------------------

    def run_script(self, now: int) -> None:
        tx = Tx(now)
        if self.started is None:
            self.started = now
            tx.writes.append(lambda p: p.set(self.k.started, now, nx=True))
        elapsed = now - self.started
        for i, step in enumerate(self.config.script):
            if i in self.script_done or step.get("at", 0) * 1000 > elapsed:
                continue
            if "consumer" in step or "producer" in step:
                script.apply_override(self.config, step)
            elif "redrive" in step:
                dlq = self.config.channel_named(step["redrive"])
                if dlq is not None and dlq.kind == "queue":
                    self.redrive(tx, dlq.id)
            elif "replay" in step:
                bus = self.config.channel_named(step["replay"]["bus"])
                if bus is not None and bus.kind == "bus":
                    start = self.started + int(step["replay"].get("from", 0) * 1000)
                    self.replay(tx, bus.id, start, self.started + int(step["replay"]["to"] * 1000))
            self.script_done.add(i)
            tx.writes.append(lambda p, i=i: p.sadd(self.k.script, i))
        self.commit(tx)

    # phase 1: visibility timeouts ------------------------------------------------------

    def expire_visibility(self, now: int) -> None:
        tx = Tx(now)
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
                d["busy"] = False
                d["consumer"] = None
                self._release_group(tx, queue.id, d)
                tx.zrem(self.k.inflight(queue.id), d["id"])
                tx.zadd(self.k.ready(queue.id), d["id"], now)
                self._store(tx, d)
                self.hop(tx, d["msg"], "redelivered", queue.node, queue.node, "", d["receives"] + 1)
                tx.node_count(queue.node, "redelivered")
        self.commit(tx)

    # phase 2: processing that is due -------------------------------------------------

    def complete_processing(self, now: int) -> None:
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

    # phase 3: pushes to consumers (topic subscriptions, rule targets) ------------------

    def push_due(self, now: int) -> None:
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
        if d["retries"] < d.get("max_retries", 3):
            delay = PUSH_BACKOFF_MS[min(d["retries"], len(PUSH_BACKOFF_MS) - 1)]
            d["retries"] += 1
            d["attempt"] += 1
            self._store(tx, d)
            tx.zadd(self.k.push, d["id"], tx.now + delay)
            return
        self._dead_letter(tx, d, d.get("dlq"), f"{reason}; retries exhausted")

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

    # phase 4: commands from outside (publish, redrive, replay) ----------------------------

    def drain_inbox(self, now: int) -> None:
        items = self.r.lrange(self.k.inbox, 0, 199)
        if not items:
            return
        tx = Tx(now)
        for raw in items:
            try:
                self._command(tx, commands.parse_command(raw))
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                # Services validate commands before queueing them; this is a bug, not input.
                log.exception("run %s: ignored a malformed command %r", self.run_id, raw[:200])
        count = len(items)
        tx.writes.append(lambda p: p.ltrim(self.k.inbox, count, -1))
        self.commit(tx)

    def _command(self, tx: Tx, command: commands.Command) -> None:
        if isinstance(command, commands.Publish):
            if command.channel not in self.config.channels:
                raise ValueError(f"channel {command.channel} is not in the topology")
            self.publish(tx, command.envelope, command.channel, frm=command.frm)
        elif isinstance(command, commands.Redrive):
            self.redrive(tx, command.queue)
        else:
            self.replay(tx, command.bus, command.start, command.end)

    # phase 5: producers ------------------------------------------------------------------

    def emit(self, now: int) -> None:
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

    # routing ---------------------------------------------------------------------------

    def publish(
        self,
        tx: Tx,
        msg: dict[str, Any],
        channel_id: int,
        *,
        frm: str,
        edge: str = "",
        counted: bool = False,
    ) -> None:
        """A message enters a channel from ``frm`` (a producer or a client)."""
        channel = self.config.channels[channel_id]
        if not counted:
            self.hop(tx, msg, "published", frm, channel.node, edge, payload=msg)
            tx.count("published")
        if channel.kind == "direct":
            self._call(tx, msg, channel.id, frm)
            return
        tx.count("copies")  # the copy that arrives at the channel
        self._arrive(tx, msg, channel.id, frm=frm, edge=edge, depth=0)

    def _arrive(
        self,
        tx: Tx,
        msg: dict[str, Any],
        channel_id: int,
        *,
        frm: str,
        edge: str,
        depth: int,
        body: Any = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        """One (already counted) copy arrives at a queue, topic or bus."""
        channel = self.config.channels[channel_id]
        if depth > MAX_ROUTING_DEPTH:
            self.hop(
                tx,
                msg,
                "dead_lettered",
                frm,
                channel.node,
                edge,
                reason="routing loop: too many channel hops",
            )
            tx.count("dead_lettered")
            return
        if channel.kind == "queue":
            d = self.new_delivery(tx, msg, body=body, queue=channel.id, edge="", **(extra or {}))
            tx.count("copies", -1)  # the arriving copy becomes this delivery
            self._enqueue(tx, d, channel.id, frm=frm, edge=edge)
        elif channel.kind == "topic":
            self._fan_out(tx, msg, channel.id, body=body, depth=depth)
        elif channel.kind == "bus":
            self._route_bus(tx, msg, channel.id, depth=depth)
        else:  # a direct call reached through a rule or topic: call it
            tx.count("copies", -1)
            self._call(tx, msg, channel.id, frm)

    def _enqueue(self, tx: Tx, d: Delivery, queue_id: int, *, frm: str, edge: str) -> None:
        queue = self.config.channels[queue_id]
        d["queue"] = queue_id
        if queue.fifo:
            d["group"] = str((d["msg"].get("attributes") or {}).get("MessageGroupId", "default"))
        self._store(tx, d)
        score = tx.now
        tx.zadd(self.k.ready(queue_id), d["id"], score)
        self.hop(tx, d["msg"], "enqueued", frm, queue.node, edge, body=d["body"], **rule_of(d))
        tx.node_count(queue.node, "enqueued")

    def _fan_out(
        self, tx: Tx, msg: dict[str, Any], topic_id: int, *, body: Any, depth: int
    ) -> None:
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
                    if sub.policy_scope == "MessageBody"
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
                        policy=sub.policy_json,
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

    def _route_bus(self, tx: Tx, msg: dict[str, Any], bus_id: int, *, depth: int) -> None:
        bus = self.config.channels[bus_id]
        if bus.archive_all or (
            bus.archive_pattern is not None and bus.archive_pattern.matches(msg)
        ):
            raw = orjson.dumps(msg)
            tx.zadd(self.k.archive(bus_id), raw, tx.now)
            self.hop(tx, msg, "archived", bus.node, bus.node, "")
            tx.node_count(bus.node, "archived")
        index = self.config.rule_index.get(bus_id)
        matched = sorted(index.matching(msg)) if index is not None else []
        targets = [t for rule_id in matched for t in self.config.targets_by_rule.get(rule_id, [])]
        if not targets:
            reason = "no rule matched" if not matched else "the matching rules have no targets"
            self.hop(
                tx,
                msg,
                "unmatched",
                bus.node,
                bus.node,
                "",
                reason=reason,
                rules=[self.config.rules[r][0] for r in matched],
            )
            tx.count("unmatched")
            tx.node_count(bus.node, "unmatched")
            return
        tx.count("copies", len(targets) - 1)
        tx.node_count(bus.node, "matched")
        for target in targets:
            to = (
                ids.consumer_node(target.consumer_id)
                if target.consumer_id is not None
                else self.config.node_of_channel(target.channel_id or 0)
            )
            body = None
            rule = {
                "rule": target.rule_name,
                "rule_id": target.rule_id,
                "rule_version": target.rule_version,
            }
            if target.transformer is not None:
                try:
                    result = target.transformer.transform(msg, rule_name=target.rule_name)
                except ValueError as exc:
                    self.hop(
                        tx,
                        msg,
                        "dead_lettered",
                        bus.node,
                        to,
                        target.edge,
                        reason=f"input transformer failed: {exc}",
                        **rule,
                    )
                    tx.count("dead_lettered")
                    continue
                body = result.value
                missing = [m.path for m in result.missing]
                self.hop(
                    tx,
                    msg,
                    "transformed",
                    bus.node,
                    to,
                    target.edge,
                    input=body,
                    missing=missing,
                    **rule,
                )
                tx.node_count(bus.node, "transformed")
            if target.channel_id is not None:
                self._arrive(
                    tx,
                    msg,
                    target.channel_id,
                    frm=bus.node,
                    edge=target.edge,
                    depth=depth + 1,
                    body=body,
                    extra={"rule": rule},
                )
            else:
                self._push(
                    tx,
                    msg,
                    target.consumer_id,
                    frm=bus.node,
                    edge=target.edge,
                    body=body,
                    max_retries=target.max_retries,
                    dlq=target.dlq_id,
                    counted=True,
                    rule=rule,
                )

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
            parked = orjson.dumps(d)
            tx.writes.append(lambda p: p.rpush(self.k.parked(dlq_id), parked))
            tx.node_count(to, "parked")

    def _release_group(self, tx: Tx, queue_id: int, d: Delivery) -> None:
        if d.get("group") is not None:
            tx.hdel(self.k.fifo(queue_id), d["group"])

    # phase 6: queues hand messages to their competing consumers -----------------------

    def receive(self, now: int) -> None:
        tx = Tx(now)
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
                    tx.hset(self.k.fifo(queue.id), d["group"], d["id"])
                tx.zrem(self.k.ready(queue.id), d["id"])
                d["receives"] += 1
                if queue.max_receives is not None and d["receives"] > queue.max_receives:
                    self._release_group(tx, queue.id, d)
                    self._dead_letter(
                        tx,
                        d,
                        queue.dlq_id,
                        f"received {queue.max_receives} times without success (max receives)",
                    )
                    continue
                deadline = now + queue.visibility_timeout_ms
                tx.zadd(self.k.inflight(queue.id), d["id"], deadline)
                d["edge"] = sub.edge
                self._start(tx, consumer, d, frm=queue.node)
                tx.node_count(queue.node, "received")
                self._mirror(tx, d["msg"], sub, frm=queue.node, body=d["body"])
                if sum(free.values()) == 0:
                    break
        self.commit(tx)

    # operations on parked (dead-lettered) messages and the archive --------------------

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

    def replay(self, tx: Tx, bus_id: int, start_ms: int, end_ms: int) -> None:
        """Send the archived events of [start, end] back into their bus."""
        bus = self.config.channels[bus_id]
        for raw in self.r.zrangebyscore(self.k.archive(bus_id), start_ms, end_ms):
            msg = orjson.loads(raw)
            msg = {**msg, "replay-name": f"replay-{start_ms}-{end_ms}"}
            self.hop(tx, msg, "replayed", bus.node, bus.node, "")
            tx.node_count(bus.node, "replayed")
            tx.count("copies")
            self._route_bus(tx, msg, bus_id, depth=0)

    # helpers ---------------------------------------------------------------------------

    def _queues(self) -> Iterable[Any]:
        return (c for c in self.config.channels.values() if c.kind == "queue")

    def _busy_counts(self) -> Counter[int]:
        consumer_ids = list(self.config.consumers)
        if not consumer_ids:
            return Counter()
        with self.r.pipeline(transaction=False) as pipe:
            for consumer_id in consumer_ids:
                pipe.zcard(self.k.busy(consumer_id))
            sizes = pipe.execute()
        return Counter(dict(zip(consumer_ids, sizes, strict=True)))
