"""The AWS API's side of a run: messages sent in and received out by external code.

Receive, delete and change-visibility must answer at once, not at the run's next tick, so
the API changes a run's live state itself, next to the worker that ticks it. Optimistic
concurrency keeps the two apart:

1. The API decides with the engine's own code: ``External`` is the engine without its
   Redis connection, so a send is routed by ``Engine.publish`` (rules, filter policies,
   transformers, archives, mirrors, direct calls) and a receive is ``QueuesMixin.take``
   (receive count, max receives and dead letters, visibility deadline, FIFO group),
   into a ``Tx`` like any phase's.
2. Each decision carries guards: what must still hold for it to apply (the message is
   still visible with the score it was read with, its FIFO group is free, the receipt
   is the current one). ``APPLY`` checks the guards and applies each decision's commands,
   hops (numbered from the run's seq key, as ``base.APPEND_HOPS`` does) and counters in
   one atomic script; a decision whose guard fails is skipped, never half applied.
3. A change to existing queue state bumps the run's external version; the engine's
   phases that read queue state (``expire_visibility``, ``receive``) commit only if it
   did not move, and decide again otherwise (``EngineBase.retrying``). A send only adds
   new deliveries, which no decision of the engine depends on, so it bumps nothing.

Pure Python and ``redis.asyncio``: no Django. ``flows.dataplane`` finds the run and the
topology; ``flows.aws`` handlers translate the wire.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from flows import ids
from flows.engine.batch import Tx
from flows.engine.config import ChannelCfg, TopologyConfig
from flows.engine.delivery import Delivery, rule_of
from flows.engine.engine import Engine
from flows.engine.keys import ACTIVE_RUNS, RunKeys, config_version

# Guards: ["zscore", key, member, score] | ["zhas", key, member] | ["heq", key, field, value]
# | ["hfree", key, field] | ["hhas", key, field] | ["eq", key, value].
# KEYS: seq, hop stream, counters, external version. ARGV[1]: {"e": [decision, ...],
# "x": bump the external version}. Returns the (1-based) indexes of applied decisions.
APPLY = """
local spec = cjson.decode(ARGV[1])
local applied, hops, counts = {}, {}, {}
for i, e in ipairs(spec.e) do
  local ok = true
  for _, g in ipairs(e.g) do
    local kind = g[1]
    if kind == 'zscore' then
      local s = redis.call('ZSCORE', g[2], g[3])
      ok = (s ~= false) and tonumber(s) == tonumber(g[4])
    elseif kind == 'zhas' then
      ok = redis.call('ZSCORE', g[2], g[3]) ~= false
    elseif kind == 'heq' then
      ok = redis.call('HGET', g[2], g[3]) == g[4]
    elseif kind == 'hfree' then
      ok = redis.call('HEXISTS', g[2], g[3]) == 0
    elseif kind == 'hhas' then
      ok = redis.call('HEXISTS', g[2], g[3]) == 1
    elseif kind == 'eq' then
      ok = (redis.call('GET', g[2]) or '') == g[3]
    end
    if not ok then break end
  end
  if ok then
    for _, c in ipairs(e.c) do redis.call(unpack(c)) end
    for _, h in ipairs(e.h) do hops[#hops + 1] = h end
    for _, n in ipairs(e.n) do counts[n[1]] = (counts[n[1]] or 0) + n[2] end
    applied[#applied + 1] = i
  end
end
if #applied > 0 then
  for name, n in pairs(counts) do
    if n ~= 0 then redis.call('HINCRBY', KEYS[3], name, n) end
  end
  if #hops > 0 then
    local last = redis.call('INCRBY', KEYS[1], #hops)
    redis.call('XADD', KEYS[2], '*', 'h', '[' .. table.concat(hops, ',') .. ']',
               's', last - #hops + 1)
  end
  if spec.x then redis.call('INCR', KEYS[4]) end
end
return applied
"""

# What a receive decides on, in one read: Redis time, the visible messages (with the
# score each was read with), their records, and the FIFO groups held.
# KEYS: ready, deliveries, fifo. ARGV: how many to read.
PEEK = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'WITHSCORES', 'LIMIT', 0,
                       tonumber(ARGV[1]))
local records = {}
if #due > 0 then
  local names = {}
  for i = 1, #due, 2 do names[#names + 1] = due[i] end
  records = redis.call('HMGET', KEYS[2], unpack(names))
end
return {now, due, records, redis.call('HKEYS', KEYS[3])}
"""


@dataclass
class Decision:
    """One guarded change: applied entirely if every guard holds, else not at all."""

    tx: Tx
    guards: list[list[Any]] = field(default_factory=list)
    result: Any = None


def encode(decisions: Sequence[Decision], *, bump: bool) -> bytes:
    """The ``APPLY`` script's argument."""
    entries = []
    for decision in decisions:
        tx = decision.tx
        entries.append(
            {
                "g": [[_text(x) for x in g] for g in decision.guards],
                "c": [[_text(x) for x in c] for c in tx.commands()],
                "h": [orjson.dumps(h).decode() for h in tx.hops],
                "n": [[name, n] for name, n in tx.counts.items() if n],
            }
        )
    return orjson.dumps({"e": entries, "x": bump})


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode()
    return str(value)


_ids = itertools.count()
_PROCESS = secrets.token_hex(2)


def delivery_id(now: int) -> str:
    """Ids of deliveries the API creates: apart from the engine's (``0000...``), and in
    creation order within one process (a zset orders equal scores by member)."""
    return f"e{now:011x}{_PROCESS}{next(_ids) % 0x1000000:06x}"


class External(Engine):
    """The engine's decisions without its Redis connection or lease (see module doc)."""

    def __init__(self, *, run_id: int, seed: int, config: TopologyConfig) -> None:
        self.r = None  # type: ignore[assignment]  # nothing here reads Redis
        self._clock = None
        self.run_id = run_id
        self.seed = seed
        self.token = ""
        self.k = RunKeys(run_id)
        self.dseq = 0
        self.started = None
        self.script_done = set()
        self.config = config

    def new_delivery(self, tx: Tx, msg: dict[str, Any], **fields: Any) -> Delivery:
        tx.count("copies")
        return {
            "id": delivery_id(tx.now),
            "msg": msg,
            "body": None,
            "receives": 0,
            "attempt": 1,
            "retries": 0,
            **fields,
        }

    # --- sends ----------------------------------------------------------------------------

    def send(
        self, now: int, msg: dict[str, Any], channel_id: int, *, frm: str, origin: dict[str, Any]
    ) -> Decision:
        """A message enters a channel from an external producer, routed as the engine routes."""
        tx = Tx(now)
        edge = ids.api_send_edge(frm, channel_id)
        self.publish(tx, msg, channel_id, frm=frm, edge=edge, origin=origin)
        tx.node_count(frm, "published")
        return Decision(tx)

    # --- receives -------------------------------------------------------------------------

    def receive_external(
        self,
        queue: ChannelCfg,
        peeked: list[Any],
        *,
        consumer: str,
        visibility_ms: int,
        limit: int,
        rng: Any = None,
    ) -> list[Decision]:
        """Decisions for up to ``limit`` messages of a ``PEEK`` answer, for ``consumer``.

        Receivers racing for the same messages would mostly lose to each other if all
        took the oldest: each takes ``limit`` at random among those read (in a FIFO
        queue, the first of each free group, in order), and a guard settles the rest.
        """
        now, due, records, held = int(peeked[0]), peeked[1], peeked[2], peeked[3]
        locked = {g.decode() if isinstance(g, bytes) else g for g in held}
        candidates: list[tuple[Delivery, Any]] = []
        for i in range(0, len(due), 2):
            raw = records[i // 2]
            if raw is not None:
                candidates.append((orjson.loads(raw), due[i + 1]))
        if queue.fifo:
            first: list[tuple[Delivery, Any]] = []
            for d, score in candidates:
                if d.get("group") not in locked:
                    locked.add(d.get("group", ""))
                    first.append((d, score))
            candidates = first
        elif len(candidates) > limit:
            candidates = (rng or secrets.SystemRandom()).sample(candidates, len(candidates))
        edge = ids.api_receive_edge(consumer, queue.id)
        decisions: list[Decision] = []
        received = 0
        for d, score in candidates:
            if received >= limit:
                break
            tx = Tx(now)
            guards: list[list[Any]] = [["zscore", self.k.ready(queue.id), d["id"], score]]
            if queue.fifo:
                guards.append(["hfree", self.k.fifo(queue.id), d.get("group", "")])
            if d.pop("receipt", None):
                tx.hdel(self.k.receipts, d["id"])
            if not self.take(tx, queue, d, now + visibility_ms):
                decisions.append(Decision(tx, guards))  # dead-lettered: nothing to hand out
                continue
            receipt = secrets.token_hex(8)
            d.update(ext=consumer, receipt=receipt, edge=edge, consumer=None, busy=False)
            self._store(tx, d)
            tx.hset(self.k.receipts, d["id"], receipt)
            self.hop(
                tx,
                d["msg"],
                "received",
                queue.node,
                consumer,
                edge,
                d["receives"],
                body=d["body"],
                **rule_of(d),
            )
            tx.node_count(consumer, "received")
            tx.node_count(queue.node, "received")
            decisions.append(Decision(tx, guards, (d, receipt_handle(self.run_id, queue, d))))
            received += 1
        return decisions

    def delete(self, now: int, queue: ChannelCfg, handle: Receipt) -> list[Decision]:
        """DeleteMessage: what ``processed`` means for an external consumer. Two exclusive
        decisions: the message is in flight (its FIFO group is released), or its visibility
        timeout already ended and nobody received it again (SQS deletes it all the same)."""
        decisions = []
        for where in ("inflight", "ready"):
            tx = Tx(now)
            key = getattr(self.k, where)(queue.id)
            tx.zrem(key, handle.delivery)
            if where == "inflight" and handle.group is not None:
                tx.hdel(self.k.fifo(queue.id), handle.group)
            tx.hdel(self.k.deliveries, handle.delivery)
            tx.hdel(self.k.receipts, handle.delivery)
            msg = {"id": handle.msg, "detail-type": handle.type, "kind": handle.kind}
            self.hop(
                tx, msg, "processed", handle.consumer, handle.consumer, handle.edge,
                handle.receives, deleted=True,
            )  # fmt: skip
            tx.node_count(handle.consumer, "processed")
            tx.count("processed")
            guards = [
                ["heq", self.k.receipts, handle.delivery, handle.receipt],
                ["zhas", key, handle.delivery],
            ]
            decisions.append(Decision(tx, guards, where))
        return decisions

    def change_visibility(
        self, now: int, queue: ChannelCfg, handle: Receipt, timeout_ms: int
    ) -> Decision:
        """ChangeMessageVisibility: a new deadline for a message still in flight (0: it
        shows again at the run's next tick, counted as a redelivery there)."""
        tx = Tx(now)
        tx.zadd(self.k.inflight(queue.id), handle.delivery, now + timeout_ms)
        guards = [
            ["heq", self.k.receipts, handle.delivery, handle.receipt],
            ["zhas", self.k.inflight(queue.id), handle.delivery],
        ]
        return Decision(tx, guards)

    def purge(self, now: int, queue: ChannelCfg, visible: list[tuple[Any, Any]]) -> list[Decision]:
        """PurgeQueue: every visible message ends ``purged`` (its own terminal state);
        messages in flight stay with their consumers."""
        decisions = []
        for raw_id, raw in visible:
            if raw is None:
                continue
            d: Delivery = orjson.loads(raw)
            tx = Tx(now)
            tx.zrem(self.k.ready(queue.id), d["id"])
            self._drop(tx, d)
            self.hop(tx, d["msg"], "purged", queue.node, queue.node, "", d["receives"] or 1)
            tx.node_count(queue.node, "purged")
            tx.count("purged")
            decisions.append(Decision(tx, [["zhas", self.k.ready(queue.id), raw_id]]))
        return decisions


# --- receipt handles ----------------------------------------------------------------------


@dataclass(frozen=True)
class Receipt:
    """What a receipt handle says: the receive it came from, and what the delete's hop
    shows (so a delete is one guarded write, no read)."""

    run: int
    queue: int
    delivery: str
    receipt: str
    msg: str
    type: str
    kind: str
    receives: int
    consumer: str
    edge: str
    group: str | None


_HANDLE_PREFIX = "EVZ1"


def receipt_handle(run_id: int, queue: ChannelCfg, d: Delivery) -> str:
    msg = d["msg"]
    fields = [
        run_id,
        queue.id,
        d["id"],
        d.get("receipt", ""),
        msg["id"],
        msg.get("detail-type", ""),
        msg.get("kind", "event"),
        d["receives"],
        d.get("ext", ""),
        d.get("edge", ""),
        d.get("group") if queue.fifo else None,
    ]
    return _HANDLE_PREFIX + base64.urlsafe_b64encode(orjson.dumps(fields)).decode()


def parse_receipt(handle: str) -> Receipt | None:
    """The receipt a handle carries; None when it is not one of ours."""
    if not handle.startswith(_HANDLE_PREFIX):
        return None
    try:
        fields = orjson.loads(base64.urlsafe_b64decode(handle[len(_HANDLE_PREFIX) :]))
        return Receipt(
            int(fields[0]), int(fields[1]), *map(str, fields[2:7]), int(fields[7]),
            str(fields[8]), str(fields[9]), fields[10],
        )  # fmt: skip
    except (binascii.Error, orjson.JSONDecodeError, ValueError, TypeError, IndexError):
        return None


# --- Redis (asyncio) ----------------------------------------------------------------------


class Scripts:
    """The two scripts, registered once per async client."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.apply_script = client.register_script(APPLY)
        self.peek_script = client.register_script(PEEK)

    async def apply(
        self, run_id: int, decisions: Sequence[Decision], *, bump: bool, guards: list[Any] = ()
    ) -> list[Decision]:
        """Apply what still holds; returns the decisions applied. ``guards`` are added to
        every decision (the run is still running, the topology unchanged)."""
        if not decisions:
            return []
        for decision in decisions:
            decision.guards[:0] = list(guards)
        k = RunKeys(run_id)
        applied = await self.apply_script(
            keys=[k.seq, k.hops, k.counters, k.external], args=[encode(decisions, bump=bump)]
        )
        return [decisions[int(i) - 1] for i in applied]

    async def peek(self, run_id: int, queue: ChannelCfg, count: int) -> list[Any]:
        k = RunKeys(run_id)
        return await self.peek_script(
            keys=[k.ready(queue.id), k.deliveries, k.fifo(queue.id)], args=[count]
        )


def run_guards(run_id: int, topology_id: int, version: bytes | None) -> list[list[Any]]:
    """What every API decision needs: the run still runs and the topology it was decided
    with is the current one (else the caller reloads both and decides again)."""
    return [
        ["hhas", ACTIVE_RUNS, str(run_id)],
        ["eq", config_version(topology_id), (version or b"").decode()],
    ]
