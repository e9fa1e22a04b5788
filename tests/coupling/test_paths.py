"""Paths over plain data: the topology walked the way the engine routes. No database."""

from __future__ import annotations

from flows.coupling import ConsumerInfo, Link, find_paths
from tests.coupling.plain import ORDER_V1, PING, model, producer


def test_a_direct_call_reaches_its_first_callee_and_that_callee_s_mirrors_only() -> None:
    m = model(
        [(1, "call", "direct")],
        [
            ConsumerInfo(10, "pricing", "pricing"),
            ConsumerInfo(11, "other", "other"),
            ConsumerInfo(12, "shadow", "pricing"),
        ],
        [producer(1, ORDER_V1)],
        [
            Link(1, "sub:1", consumer_id=10),
            Link(1, "sub:2", consumer_id=11),  # never called: a call has one callee
            Link(1, "sub:3", consumer_id=12, mirror_of=10),
        ],
    )
    assert [p.consumer.name for p in find_paths(m)] == ["pricing", "shadow"]


def test_a_rule_that_lists_other_detail_types_carries_none_of_the_producer_s_messages() -> None:
    m = model(
        [(1, "bus", "bus")],
        [ConsumerInfo(10, "billing", "billing"), ConsumerInfo(11, "pinger", "pinger")],
        [producer(1, ORDER_V1, PING)],
        [
            Link(1, "target:1", consumer_id=10, rule="orders", pattern={"detail-type": ["Nope"]}),
            Link(1, "target:2", consumer_id=11, rule="pings", pattern={"detail-type": ["Ping"]}),
        ],
    )
    (path,) = find_paths(m)
    assert path.consumer.name == "pinger"
    assert [e.type for e in path.carries] == [PING]


def test_a_loop_of_topics_ends() -> None:
    m = model(
        [(1, "a", "topic"), (2, "b", "topic")],
        [ConsumerInfo(10, "c", "c")],
        [producer(1, ORDER_V1)],
        [
            Link(1, "sub:1", target_id=2),
            Link(2, "sub:2", target_id=1),
            Link(2, "sub:3", consumer_id=10),
        ],
    )
    assert [[link.edge for link in p.links] for p in find_paths(m)] == [["sub:1", "sub:3"]]
