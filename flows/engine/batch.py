"""The write batch of one tick phase (``Tx``): state changes, hops and counter changes that
the engine commits in one MULTI/EXEC guarded by the run's lease (see ``flows.engine.engine``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class LeaseLost(RuntimeError):
    """Another worker holds the run now; this one must stop writing."""


class Conflict(RuntimeError):
    """The AWS API changed queue state while a phase was deciding: decide again.

    Not an error: the phase is recomputed on what is there now (optimistic concurrency).
    """


DELETE = object()  # marks a hash field or sorted-set member removed in a Tx


@dataclass
class Tx:
    """The writes, hops and counter changes of one phase, committed atomically.

    Hash and sorted-set changes are kept per key with the last change per member
    winning, so a phase that touches thousands of deliveries sends a handful of
    HSET/HDEL/ZADD/ZREM commands, not one per delivery.
    """

    now: int
    hashes: dict[str, dict[str, Any]] = field(default_factory=dict)
    zsets: dict[str, dict[str | bytes, Any]] = field(default_factory=dict)
    lists: dict[str, list[Any]] = field(default_factory=dict)  # RPUSHed values, per key
    writes: list[Callable[[Any], Any]] = field(default_factory=list)
    hops: list[dict[str, Any]] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    def hset(self, key: str, name: str, value: Any) -> None:
        self.hashes.setdefault(key, {})[name] = value

    def hdel(self, key: str, name: str) -> None:
        self.hashes.setdefault(key, {})[name] = DELETE

    def zadd(self, key: str, member: str | bytes, score: float) -> None:
        self.zsets.setdefault(key, {})[member] = score

    def zrem(self, key: str, member: str | bytes) -> None:
        self.zsets.setdefault(key, {})[member] = DELETE

    def rpush(self, key: str, value: Any) -> None:
        self.lists.setdefault(key, []).append(value)

    def empty(self) -> bool:
        return not (
            self.hashes or self.zsets or self.lists or self.writes or self.hops or self.counts
        )

    def commands(self) -> list[list[Any]]:
        """The state changes as plain Redis commands (what ``apply`` sends), for a script
        that applies them atomically under its own guard (``flows.engine.external``);
        ``writes`` (callables) cannot be expressed so and must be empty."""
        if self.writes:
            raise ValueError("a Tx with callable writes cannot be sent as commands")
        out: list[list[Any]] = []
        for key, fields in self.hashes.items():
            gone = [name for name, value in fields.items() if value is DELETE]
            kept = [x for n, v in fields.items() if v is not DELETE for x in (n, v)]
            if gone:
                out.append(["HDEL", key, *gone])
            if kept:
                out.append(["HSET", key, *kept])
        for key, members in self.zsets.items():
            gone = [member for member, score in members.items() if score is DELETE]
            kept = [x for m, s in members.items() if s is not DELETE for x in (int(s), m)]
            if gone:
                out.append(["ZREM", key, *gone])
            if kept:
                out.append(["ZADD", key, *kept])
        for key, values in self.lists.items():
            out.append(["RPUSH", key, *values])
        return out

    def apply(self, pipe: Any) -> None:
        for key, fields in self.hashes.items():
            gone = [name for name, value in fields.items() if value is DELETE]
            kept = {name: value for name, value in fields.items() if value is not DELETE}
            if gone:
                pipe.hdel(key, *gone)
            if kept:
                pipe.hset(key, mapping=kept)
        for key, members in self.zsets.items():
            gone = [member for member, score in members.items() if score is DELETE]
            kept = {member: score for member, score in members.items() if score is not DELETE}
            if gone:
                pipe.zrem(key, *gone)
            if kept:
                pipe.zadd(key, kept)
        for key, values in self.lists.items():
            pipe.rpush(key, *values)
        for write in self.writes:
            write(pipe)

    def count(self, name: str, n: int = 1) -> None:
        self.counts[name] += n

    def node_count(self, node: str, stat: str, n: int = 1) -> None:
        self.counts[f"{node}|{stat}"] += n
