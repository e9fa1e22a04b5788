"""retries-dead-letters-redrive: a flaky consumer's failures are retried, then dead-lettered;
once it is fixed, a redrive sends the parked messages back and they are processed."""

from __future__ import annotations

from collections import Counter

import pytest

from flows.formats.scenario import resolve

pytestmark = pytest.mark.django_db

TEXT = resolve("retries-dead-letters-redrive").read_text(encoding="utf-8")


def test_retries_then_dead_letters_then_processed_after_the_redrive(sim_of) -> None:
    sim = sim_of(TEXT)
    dlq = sim.node("queue", "payments-dlq")
    sim.run_for(39_000, tick=100)
    failed = sim.hops(stage="failed")
    assert len(failed) >= 30
    assert all("simulated failure rate" in h.detail["error"] for h in failed)
    assert sim.hops(stage="redelivered")
    dead = sim.hops(stage="dead_lettered")
    assert len(dead) >= 3 and {h.to_node for h in dead} == {dlq}
    parked = sim.counters()["nodes"][dlq]["parked"]
    assert parked == len(dead)
    # Each dead letter was received max_receives (3) times first, failing each time.
    received = Counter(h.msg for h in sim.hops(stage="received"))
    assert all(received[h.msg] == 3 for h in dead)
    processed_before = {h.msg for h in sim.hops(stage="processed")}
    assert not {h.msg for h in dead} & processed_before
    sim.assert_law()

    sim.run_for(11_000, tick=100)  # fixed at 40 s, redrive at 45 s
    sim.run_for(3_000, producers=False)
    assert sim.counters()["nodes"][dlq]["parked"] == 0
    late = [h for h in sim.hops(stage="failed") if h.seq > dead[-1].seq]
    assert all(h.at - sim.hops(stage="published")[0].at < 40_100 for h in late)
    processed = {h.msg for h in sim.hops(stage="processed")}
    dead_letters = {h.msg for h in sim.hops(stage="dead_lettered")}
    assert dead_letters <= processed  # every parked payment went through after the redrive
    totals = sim.assert_law()
    assert totals["in_flight"] == 0
    assert totals["processed"] == len({h.msg for h in sim.hops(stage="published")})
