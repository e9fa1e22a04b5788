"""The schema of every server frame type, and the check that every frame sent matches it."""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

import pytest

from flows import selectors
from flows.formats.scenario import scenario_load_file
from flows.live import frames, sender
from flows.models import Hop, Run
from tests.conftest import FRAME_VIOLATIONS

SCENARIOS = sorted(p.stem for p in (Path(frames.__file__).parents[1] / "scenarios").glob("*.yaml"))


def hop(seq: int = 1, **changes: Any) -> dict[str, Any]:
    return {
        "seq": seq,
        "run": 7,
        "msg": "00000000-0000-4000-8000-000000000001",
        "type": "OrderPlaced",
        "kind": "event",
        "stage": "published",
        "from": "producer:1",
        "to": "bus:2",
        "edge": "prod:1",
        "attempt": 1,
        "at": 1764244800123,
        **changes,
    }


COUNTERS = {
    "run": 7,
    "seq": 12,
    "totals": {"published": 3, "copies": 4, "lost": 0},
    "nodes": {"queue:5": {"depth": 2, "in_flight": 1}},
    "script": {"started": 1764244800000, "done": [0, 1]},
}
GRAPH = {
    "slug": "shop",
    "name": "Shop",
    "description": "",
    "script": [],
    "nodes": [
        {"id": "producer:1", "kind": "producer", "label": "storefront", "paused": False},
        {"id": "bus:2", "kind": "bus", "label": "shop-bus", "fifo": False},
    ],
    "edges": [
        {"id": "prod:1", "source": "producer:1", "target": "bus:2", "kind": "publish", "label": ""}
    ],
}


def built(kind: str) -> dict[str, Any]:
    """A frame of ``kind`` made by its builder (what the server sends)."""
    run = Run(pk=7, seed=42, status="running", last_seq=12)
    row = Hop(
        run_id=7,
        seq=3,
        msg="00000000-0000-4000-8000-000000000001",
        type="OrderPlaced",
        kind="event",
        stage="processed",
        from_node="queue:5",
        to_node="consumer:6",
        edge="sub:9",
        attempt=2,
        at=1764244800200,
        detail={"latency_ms": 80},
    )
    made: dict[str, Any] = {
        "snapshot": frames.snapshot_frame(graph=GRAPH, counters=COUNTERS, run=run, staff=True),
        "hops": frames.hops_frame(7, [frames.hop_payload({**hop(), "detail": {"x": 1}})]),
        "counters": frames.counters_frame(COUNTERS),
        "graph": frames.graph_frame(GRAPH),
        "run": frames.run_frame(run),
        "trace": frames.trace_frame(hop()["msg"], 7, [frames.traced_hop(row)]),
        "ack": frames.ack_frame("run.start", run=7),
        "error": frames.error_frame("no run is running", of="run.stop"),
    }
    return made[kind]


@pytest.mark.parametrize("kind", list(frames.SCHEMAS))
def test_each_frame_type_built_by_its_builder_matches_its_schema(kind: str) -> None:
    frame = built(kind)
    assert frame["type"] == kind
    frames.validate(frame)


@pytest.mark.parametrize("kind", list(frames.SCHEMAS))
def test_each_schema_describes_exactly_the_keys_of_its_typed_definition(kind: str) -> None:
    typed = frames.TYPED[kind]
    schema = frames.SCHEMAS[kind]
    hints = typing.get_type_hints(typed, include_extras=True)
    assert set(hints) == set(schema["properties"])
    optional = {k for k, h in hints.items() if typing.get_origin(h) is typing.NotRequired}
    assert set(schema["required"]) == set(hints) - optional


@pytest.mark.parametrize("kind", list(frames.SCHEMAS))
def test_each_frame_type_refuses_a_key_it_does_not_define(kind: str) -> None:
    with pytest.raises(frames.FrameSchemaError, match="not allowed"):
        frames.validate({**built(kind), "surprise": 1})


def test_a_snapshot_without_a_run_has_null_run_and_counters_and_last_seq_0() -> None:
    frame = frames.snapshot_frame(graph=GRAPH, counters=None, run=None, staff=False)
    frames.validate(frame)
    assert (frame["run"], frame["counters"], frame["last_seq"]) == (None, None, 0)


def test_a_hop_is_exactly_the_design_documents_hop_event() -> None:
    payload = frames.hop_payload({**hop(), "detail": {"payload": {}}})
    assert list(payload) == [
        "seq", "run", "msg", "type", "kind", "stage", "from", "to", "edge", "attempt", "at",
    ]  # fmt: skip
    for bad in (
        hop(stage="teleported"),
        hop(kind="rumour"),
        hop(seq=0),
        hop(attempt=0),
        {k: v for k, v in hop().items() if k != "edge"},
    ):
        with pytest.raises(frames.FrameSchemaError):
            frames.validate(frames.hops_frame(7, [bad]))


def test_a_resumed_batch_always_says_whether_more_follows_and_a_live_one_never() -> None:
    frames.validate(frames.resumed_hops_frame(7, [hop()], more=True))
    frames.validate(frames.resumed_hops_frame(7, [], more=False))
    with pytest.raises(frames.FrameSchemaError, match="more"):
        frames.validate({"type": "hops", "run": 7, "hops": [], "resumed": True})
    with pytest.raises(frames.FrameSchemaError, match="resumed"):
        frames.validate({"type": "hops", "run": 7, "hops": [], "more": False})


def test_an_ack_names_its_control_frame_and_exactly_one_thing_it_acted_on() -> None:
    for of, ref in (
        ("run.stop", {"run": 1}),
        ("producer.pause", {"producer": 2}),
        ("consumer.online", {"consumer": 3}),
        ("publish", {"msg": "00000000-0000-4000-8000-000000000001"}),
        ("redrive", {"channel": 4}),
    ):
        frames.validate(frames.ack_frame(of, **ref))
    for bad in (
        frames.ack_frame("dance", run=1),
        frames.ack_frame("run.start"),
        frames.ack_frame("run.start", run=1, channel=2),
        frames.ack_frame("run.start", run="1"),
    ):
        with pytest.raises(frames.FrameSchemaError):
            frames.validate(bad)


def test_counters_are_whole_numbers_per_total_and_per_node() -> None:
    with pytest.raises(frames.FrameSchemaError):
        frames.validate(frames.counters_frame({**COUNTERS, "totals": {"published": "3"}}))
    with pytest.raises(frames.FrameSchemaError):
        frames.validate(frames.counters_frame({**COUNTERS, "nodes": {"queue:5": {"depth": 1.5}}}))


def test_an_error_has_a_message_and_names_the_refused_frame_only_when_there_was_one() -> None:
    assert frames.error_frame("malformed JSON") == {"type": "error", "error": "malformed JSON"}
    with pytest.raises(frames.FrameSchemaError):
        frames.validate(frames.error_frame(""))


def test_an_unknown_frame_type_is_no_server_frame() -> None:
    with pytest.raises(frames.FrameSchemaError, match="not a server frame type"):
        frames.validate({"type": "resume", "run": 1, "after_seq": 0})


@pytest.mark.django_db
@pytest.mark.parametrize("slug", SCENARIOS)
def test_every_shipped_scenarios_graph_frame_matches_the_schema(redis_url: str, slug: str) -> None:
    topology = scenario_load_file(slug)
    frames.validate(frames.graph_frame(selectors.topology_graph(topology)))


def test_a_frame_that_breaks_its_schema_is_caught_where_every_frame_is_encoded() -> None:
    # What the suite-wide check (tests/conftest.py) sees when a frame goes out wrong.
    sender.encode({"type": "run", "run": {"id": 1, "status": "paused", "seed": 1}})
    caught = list(FRAME_VIOLATIONS)
    FRAME_VIOLATIONS.clear()  # this test made it on purpose: do not fail it
    assert len(caught) == 1 and "run frame at run/status" in caught[0]
