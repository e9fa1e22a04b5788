"""A phase's write batch sends one command per key, the last change per member winning."""

from __future__ import annotations

from typing import Any

from flows.engine.batch import Tx


class RecordingPipe:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any, ...]] = []

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: self.calls.append((name, *args, kwargs))


def test_the_last_change_per_member_wins_and_each_key_gets_one_command() -> None:
    tx = Tx(now=1)
    tx.hset("h", "a", b"1")
    tx.hset("h", "b", b"2")
    tx.hdel("h", "a")
    tx.zadd("z", "x", 5)
    tx.zrem("z", "x")
    tx.zadd("z", "y", 7)
    pipe = RecordingPipe()
    tx.apply(pipe)
    assert pipe.calls == [
        ("hdel", "h", "a", {}),
        ("hset", "h", {"mapping": {"b": b"2"}}),
        ("zrem", "z", "x", {}),
        ("zadd", "z", {"y": 7}, {}),
    ]


def test_a_batch_with_only_counts_is_not_empty() -> None:
    tx = Tx(now=1)
    assert tx.empty()
    tx.node_count("queue:1", "enqueued")
    assert not tx.empty()
    assert tx.counts == {"queue:1|enqueued": 1}
