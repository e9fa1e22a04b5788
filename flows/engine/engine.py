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

The engine is composed of parts (mixins), each in its own module and each working on
the run state of ``base.EngineBase`` (config, clock, ids, hops, commit):

- ``queues``: receive, visibility timeouts, FIFO groups, dead letters, redrive;
- ``pushes``: topic fan-out, pushes with retries, mirrors, direct calls;
- ``bus``: rules, input transformers, archive, replay;
- ``producers``: messages at a rate; ``processing``: consumers at work.

This module holds the tick and the routing switch (``publish``, ``_arrive``) that hands a
copy to the part its channel kind belongs to. The delivery record is typed in
``delivery``; the accounting law every copy obeys is defined in ``counters``.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson

from flows.engine import commands, script
from flows.engine.batch import Tx
from flows.engine.bus import BusMixin
from flows.engine.processing import ProcessingMixin
from flows.engine.producers import ProducersMixin
from flows.engine.pushes import PushesMixin
from flows.engine.queues import QueuesMixin
from flows.engine.semantics import MAX_ROUTING_DEPTH

log = logging.getLogger(__name__)

TICK_MS = 50


class Engine(QueuesMixin, PushesMixin, BusMixin, ProducersMixin, ProcessingMixin):
    """One run's engine: ``tick`` it while holding the run's lease (``driver.drive``)."""

    def tick(self, *, producers: bool = True) -> int:
        """One step of the run at Redis time ``now``; returns that time.

        The phases run in this order, each committing its own batch:

        1. ``run_script``: the scenario's steps that are due (overrides, redrive, replay).
        2. ``complete_processing``: processing whose due time has come ends, in success
           or failure. Before 3, so that work that finished by now wins over a
           visibility timeout that also passed.
        3. ``expire_visibility``: received queue messages whose visibility timeout
           passed show again (their consumer's work, if still going, is lost).
           Phases 3 and 7 read queue state the AWS API changes too (external
           consumers): they commit only if the API did not change it meanwhile, and
           decide again otherwise (``retrying``).
        4. ``push_due``: pushes to consumers that are due (topic subscriptions, rule
           targets, retries after backoff).
        5. ``drain_inbox``: commands from outside (publish, redrive, replay).
        6. ``emit``: producers emit what is due (skipped when ``producers`` is False).
        7. ``receive``: queues hand visible messages to their competing consumers, so
           what phases 3-6 enqueued can be received in the same tick.
        """
        now = self.clock()
        self.run_script(now)
        self.complete_processing(now)
        self.retrying(self.expire_visibility, now)
        self.push_due(now)
        self.drain_inbox(now)
        if producers:
            self.emit(now)
        self.retrying(self.receive, now)
        return now

    def run_script(self, now: int) -> None:
        """The script's steps whose time has come, each done once per run."""
        tx = Tx(now)
        if self.started is None:
            self.started = now
            tx.writes.append(lambda p: p.set(self.k.started, now, nx=True))
        elapsed = now - self.started
        for i, step in enumerate(self.config.script):
            if i in self.script_done or step.get("at", 0) * 1000 > elapsed:
                continue
            if "consumer" in step or "producer" in step:
                self.config = script.apply_override(self.config, step)
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

    def drain_inbox(self, now: int) -> None:
        """Commands queued from outside (``flows.engine.commands``), oldest first."""
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

    def publish(
        self,
        tx: Tx,
        msg: dict[str, Any],
        channel_id: int,
        *,
        frm: str,
        edge: str = "",
        counted: bool = False,
        origin: dict[str, Any] | None = None,
    ) -> None:
        """A message enters a channel from ``frm`` (a producer or a client); ``origin``
        (the API operation, key and user agent it came in by) goes into its published hop."""
        channel = self.config.channels[channel_id]
        if not counted:
            self.hop(tx, msg, "published", frm, channel.node, edge, payload=msg, **(origin or {}))
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
