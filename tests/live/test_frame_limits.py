"""No frame over the cap, and a declared sample above the hop budget (issue 11)."""

from __future__ import annotations

import itertools
from typing import Any

import orjson
import pytest

from flows import services
from flows.formats.scenario import scenario_load_file
from flows.live import frames, sender
from flows.models import Hop, Run
from tests.live.test_socket import add_hops, with_socket

STAGES = ["published", "enqueued", "received", "processed", "failed", "dead_lettered"]


def hop(seq: int, **changes: Any) -> dict[str, Any]:
    return {
        "seq": seq,
        "run": 7,
        "msg": f"00000000-0000-4000-8000-{seq // 4:012x}",  # four hops a message
        "type": "OrderPlaced" + "x" * 150,
        "kind": "event",
        "stage": STAGES[seq % len(STAGES)],
        "from": "queue:5",
        "to": "consumer:6",
        "edge": f"sub:{seq % 3}",
        "attempt": 1,
        "at": 1764244800000 + seq,
        **changes,
    }


def size(frame: Any) -> int:
    return len(sender.encode(frame).encode())


def test_a_large_tick_goes_out_in_frames_under_the_cap_in_seq_order() -> None:
    hops = [hop(s) for s in range(1, 5001)]
    made = frames.live_hops_frames(7, hops, max_bytes=64 * 1024, budget=10**6)
    assert len(made) > 10
    assert all(size(f) <= 64 * 1024 for f in made)
    assert [h for f in made for h in f["hops"]] == hops
    assert all("sampled" not in f for f in made)


def test_a_resume_answer_is_split_by_bytes_as_well_as_by_count() -> None:
    hops = [hop(s) for s in range(1, 2001)]
    made = frames.resumed_hops_frames(7, hops, max_hops=1000, max_bytes=32 * 1024)
    assert all(size(f) <= 32 * 1024 for f in made)
    assert [h["seq"] for f in made for h in f["hops"]] == list(range(1, 2001))
    assert [f["more"] for f in made] == [True] * (len(made) - 1) + [False]
    assert frames.resumed_hops_frames(7, [], max_hops=1000, max_bytes=32 * 1024) == [
        frames.resumed_hops_frame(7, [], more=False)
    ]


def test_above_the_budget_a_declared_sample_keeps_every_first_hop_and_every_loss() -> None:
    hops = [hop(s) for s in range(1, 3001)]
    made = frames.live_hops_frames(7, hops, max_bytes=64 * 1024, budget=250)
    every = made[0]["sampled"]["every"]
    assert every >= 2 and every & (every - 1) == 0  # a power of two
    sent = [h for f in made for h in f["hops"]]
    # Never sampled out: published, failed, dead_lettered, unmatched.
    for h in hops:
        if h["stage"] in frames.UNSAMPLED_STAGES:
            assert h in sent
    # The rest by the rule the client is told.
    kept = [h for h in hops if frames.sample_kept(h, every)]
    assert sent == kept
    assert all(int(h["msg"][-8:], 16) % every == 0 for h in sent if h["stage"] == "received")
    assert len(sent) < len(hops)
    # The frames cover every seq, in order, with no gap, and count every hop exactly.
    ranges = [(f["sampled"]["first_seq"], f["sampled"]["last_seq"]) for f in made]
    assert ranges[0][0] == 1 and ranges[-1][1] == 3000
    assert all(b[0] == a[1] + 1 for a, b in itertools.pairwise(ranges))
    assert sum(f["sampled"]["hops"] for f in made) == 3000
    edges: dict[str, int] = {}
    for f in made:
        for edge, n in f["sampled"]["edges"].items():
            edges[edge] = edges.get(edge, 0) + n
    assert edges == {"sub:0": 1000, "sub:1": 1000, "sub:2": 1000}
    for f in made:
        frames.validate(f)
        assert size(f) <= 64 * 1024


def test_a_tick_within_the_budget_is_sent_whole() -> None:
    hops = [hop(s) for s in range(1, 201)]
    (made,) = frames.live_hops_frames(7, hops, max_bytes=256 * 1024, budget=250)
    assert made == frames.hops_frame(7, hops)


def test_the_budget_is_per_second_of_the_batch(settings) -> None:
    settings.EVENTVIZ_WS_HOP_BUDGET = 5000
    one_tick = [hop(1, at=1000), hop(2, at=1000)]
    assert services.hop_budget(one_tick) == 250
    # A batch that spans a stall of a second and a tick may carry more.
    assert services.hop_budget([hop(1, at=1000), hop(2, at=2000)]) == 5250


@pytest.mark.django_db(transaction=True)
def test_hops_publish_sends_only_capped_frames_and_stores_every_hop(
    redis_url, settings, monkeypatch
) -> None:
    settings.EVENTVIZ_WS_FRAME_MAX = 16 * 1024
    settings.EVENTVIZ_WS_HOP_BUDGET = 1000  # 50 a tick
    run_obj = Run.objects.create(topology=scenario_load_file("shop"), seed=1)
    sent: list[Any] = []
    monkeypatch.setattr(sender, "send_all", lambda slug, made: sent.extend(made))
    hops = [{**hop(s, run=run_obj.pk, at=1000), "detail": {}} for s in range(1, 1001)]
    services.hops_publish(run_id=run_obj.pk, slug="shop", hops=hops)
    assert all(size(f) <= 16 * 1024 for f in sent)
    assert sum(f["sampled"]["hops"] for f in sent) == 1000
    assert sum(len(f["hops"]) for f in sent) < 1000
    # The database has every hop: resumes and traces answer completely.
    assert Hop.objects.filter(run=run_obj).count() == 1000


@pytest.mark.django_db(transaction=True)
def test_a_resume_answer_keeps_to_the_frame_cap(redis_url, settings) -> None:
    settings.EVENTVIZ_WS_FRAME_MAX = 16 * 1024
    run_obj = Run.objects.create(topology=scenario_load_file("shop"), seed=1)
    add_hops(run_obj, range(1, 1201))

    async def body(ws, snapshot):
        await ws.send_json_to({"type": "resume", "run": run_obj.pk, "after_seq": 0})
        got = []
        while not got or got[-1]["more"]:
            output = await ws.receive_output(timeout=5)
            got.append(orjson.loads(output["text"]))
            assert len(output["text"].encode()) <= 16 * 1024
        return got

    got = with_socket(None, body)
    assert len(got) > 1
    assert [h["seq"] for f in got for h in f["hops"]] == list(range(1, 1201))
