"""traffic-mirroring: the new version gets a copy of all the live version's traffic and
changes nothing for the producer or the live version."""

from __future__ import annotations

import pytest

from flows.formats.scenario import resolve

pytestmark = pytest.mark.django_db

TEXT = resolve("traffic-mirroring").read_text(encoding="utf-8")
MIRROR_LINE = "  - {channel: quotes, consumer: pricing-v2, mirror_of: pricing-v1}\n"


def outcomes(sim, node: str) -> list[tuple[str, str, int]]:
    return [
        (str(h.msg), h.stage, h.attempt)
        for h in sim.hops(stage__in=["processed", "failed"])
        if h.to_node == node
    ]


def test_mirror_gets_every_message_and_never_changes_the_primary(sim_of) -> None:
    assert MIRROR_LINE in TEXT
    # Seed 3: pricing-v1 fails now and then too, so failures are compared as well.
    alone = sim_of(TEXT.replace(MIRROR_LINE, ""), seed=3)
    alone.run_for(12_000, tick=100)
    alone.run_for(6_000, producers=False)
    live_alone = outcomes(alone, alone.node("consumer", "pricing-v1"))
    published_alone = [h.detail["payload"] for h in alone.hops(stage="published")]
    alone.assert_law()
    alone.run.status = "stopped"
    alone.run.save()

    sim = sim_of(TEXT, seed=3)
    sim.run_for(12_000, tick=100)
    sim.run_for(6_000, producers=False)
    v1, v2 = sim.node("consumer", "pricing-v1"), sim.node("consumer", "pricing-v2")
    # The producer and the live version do exactly what they did without the mirror.
    assert [h.detail["payload"] for h in sim.hops(stage="published")] == published_alone
    assert outcomes(sim, v1) == live_alone
    assert any(stage == "failed" for _, stage, _ in live_alone)
    # Every message pricing-v1 received, pricing-v2 got a copy of, marked as a mirror.
    received = {h.msg for h in sim.hops(stage="received") if h.to_node == v1}
    mirrored = {h.msg for h in sim.hops(stage="mirrored") if h.to_node == v2}
    assert len(received) >= 30 and mirrored == received
    shadow = outcomes(sim, v2)
    assert {msg for msg, _, _ in shadow} == {str(m) for m in received}
    assert all(h.detail["mirror"] for h in sim.hops(stage="failed") if h.to_node == v2)
    # Side by side: the two versions' outcomes differ (v2 fails more often).
    v1_failed = sum(1 for _, stage, _ in live_alone if stage == "failed")
    v2_failed = sum(1 for _, stage, _ in shadow if stage == "failed")
    assert v2_failed > v1_failed
    totals = sim.assert_law()
    assert totals["in_flight"] == 0
