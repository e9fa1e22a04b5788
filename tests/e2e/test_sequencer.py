"""The dashboard's hop sequencer (static/flows/dashboard/socket.js), run in chromium."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

# A fake clock and a recorder around the sequencer; each step returns what it saw.
SCRIPT = """
async () => {
  const { HopSequencer } = await import("/static/flows/dashboard/socket.js");
  let t = 0;
  const delivered = [];
  const asks = [];
  const seq = new HopSequencer({
    now: () => t,
    deliver: (entries) => delivered.push(...entries.map((e) => [e.hop.seq, e.live])),
    requestResume: (run, after) => { asks.push([run, after]); return true; },
  });
  const hops = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => ({ seq: a + i }));
  const out = {};
  seq.reset(1, 0);
  seq.accept({ run: 1, hops: hops(1, 5) });
  seq.accept({ run: 1, hops: hops(4, 7) });
  seq.accept({ run: 1, hops: hops(11, 12) });
  out.gap = { delivered: delivered.map((d) => d[0]), asks: asks.slice() };
  t += 1200;
  seq.accept({ run: 1, resumed: true, hops: hops(8, 12) });
  out.resumed = { delivered: delivered.map((d) => d[0]), live: delivered.map((d) => d[1]),
                  duplicates: seq.stats.duplicates, pending: seq.pending.size };
  seq.onCounters(1, 20);
  t += 2000;
  seq.tick();
  out.tail = asks.slice(-1)[0];
  seq.accept({ run: 1, resumed: true, hops: hops(13, 14) });
  seq.accept({ run: 1, hops: hops(30, 31) });
  t += 9000;
  seq.tick();
  out.skipped = { last: seq.lastSeq, missed: seq.stats.missed };
  seq.accept({ run: 2, hops: hops(1, 2) });
  seq.accept({ run: 1, hops: hops(32, 33) });
  out.newRun = { run: seq.run, last: seq.lastSeq };
  // A resume answer stays open until a frame says no more follows, whatever its size.
  seq.reset(3, 0);
  seq.accept({ run: 3, hops: hops(5, 5) });
  seq.accept({ run: 3, resumed: true, more: true, hops: hops(1, 2) });
  const openAfterPart = seq.resumeOpen;
  t += 1500;
  seq.tick();
  const asksWhileOpen = asks.filter((a) => a[0] === 3).length;
  seq.accept({ run: 3, resumed: true, more: false, hops: hops(3, 4) });
  out.more = { openAfterPart, asksWhileOpen, openAfterLast: seq.resumeOpen, last: seq.lastSeq };
  return out;
}
"""


def test_hops_are_delivered_once_in_seq_order_and_gaps_are_resumed(module_page: Page) -> None:
    out = module_page.evaluate(SCRIPT)
    # 4 and 5 came twice: delivered once. 11 and 12 wait for 8..10; a resume is asked.
    assert out["gap"] == {"delivered": [1, 2, 3, 4, 5, 6, 7], "asks": [[1, 7]]}
    resumed = out["resumed"]
    assert resumed["delivered"] == list(range(1, 13))
    assert resumed["duplicates"] == 2 + 2  # 4, 5 twice; 11, 12 again in the resumed frame
    assert resumed["pending"] == 0
    # Resumed hops are history (not animated); the ones that waited were live.
    assert resumed["live"][7:10] == [False, False, False]
    assert resumed["live"][10:12] == [True, True]
    # Counters say seq 20 exists, no hop came: the sequencer asks for the tail.
    assert out["tail"] == [1, 12]
    # A gap the database cannot fill is skipped after a while, and counted.
    assert out["skipped"] == {"last": 31, "missed": 15}
    # A newer run takes over; hops of the older one are ignored.
    assert out["newRun"] == {"run": 2, "last": 2}
    # A resume answered in several frames: the client waits for the one with more: false
    # (it does not ask again meanwhile) and does not guess the end from a frame's size.
    assert out["more"] == {
        "openAfterPart": True,
        "asksWhileOpen": 1,
        "openAfterLast": False,
        "last": 5,
    }


SAMPLED = """
async () => {
  const { HopSequencer } = await import("/static/flows/dashboard/socket.js");
  let t = 0;
  const delivered = [];
  const asks = [];
  const seq = new HopSequencer({
    now: () => t,
    deliver: (entries) => delivered.push(...entries.map((e) => e.hop.seq)),
    requestResume: (run, after) => { asks.push([run, after]); return true; },
  });
  const at = (...seqs) => seqs.map((s) => ({ seq: s }));
  const sampled = (first, last) => ({
    every: 4, first_seq: first, last_seq: last, hops: last - first + 1, stages: {}, edges: {},
  });
  const out = {};
  seq.reset(1, 0);
  // Two frames of one sampled tick, then one that kept no hop at all.
  seq.accept({ run: 1, hops: at(1, 4, 9), sampled: sampled(1, 10) });
  seq.accept({ run: 1, hops: at(12, 15), sampled: sampled(11, 20) });
  seq.accept({ run: 1, hops: [], sampled: sampled(21, 30) });
  out.asksWhileSampled = asks.length;
  out.sampled = { delivered: delivered.slice(), last: seq.lastSeq, skipped: seq.stats.sampled };
  // Whole frames again; a real gap after sampling is still resumed.
  seq.accept({ run: 1, hops: at(31, 32, 35) });
  t += 2000;
  seq.tick();
  out.gap = { last: seq.lastSeq, asks: asks.slice() };
  return out;
}
"""


def test_hops_sampled_out_are_passed_over_and_never_resumed(module_page: Page) -> None:
    out = module_page.evaluate(SAMPLED)
    # What the frames carried is delivered in order; the rest of their ranges is passed over.
    assert out["sampled"] == {"delivered": [1, 4, 9, 12, 15], "last": 30, "skipped": 25}
    assert out["asksWhileSampled"] == 0
    # No resume was asked for sampled-out hops; 33..34 are a real gap and are.
    assert out["gap"] == {"last": 32, "asks": [[1, 32]]}
