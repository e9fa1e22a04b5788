"""The frames the dashboard sends (static/flows/dashboard/protocol.js), run in chromium.

The server's side of each is tested in tests/live/test_socket.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

SCRIPT = """
async () => {
  const p = await import("/static/flows/dashboard/protocol.js");
  return {
    resume: p.resumeFrame(3, 120),
    trace: p.traceFrame("m", 3),
    startRandom: p.runStartFrame(),
    startSeeded: p.runStartFrame(0),
    stop: p.runStopFrame(),
    pause: p.producerFrame(4, true),
    unpause: p.producerFrame(4, false),
    offline: p.consumerFrame(5, false),
    online: p.consumerFrame(5, true),
    publish: p.publishFrame(6, { detail: {} }),
    redrive: p.redriveFrame(7),
    server: Object.values(p.SERVER),
  };
}
"""


def test_every_outgoing_frame_has_the_shape_the_server_reads(module_page: Page) -> None:
    out = module_page.evaluate(SCRIPT)
    assert out["resume"] == {"type": "resume", "run": 3, "after_seq": 120}
    assert out["trace"] == {"type": "trace", "msg": "m", "run": 3}
    assert out["startRandom"] == {"type": "run.start"}
    assert out["startSeeded"] == {"type": "run.start", "seed": 0}
    assert out["stop"] == {"type": "run.stop"}
    assert out["pause"] == {"type": "producer.pause", "producer": 4}
    assert out["unpause"] == {"type": "producer.resume", "producer": 4}
    assert out["offline"] == {"type": "consumer.offline", "consumer": 5}
    assert out["online"] == {"type": "consumer.online", "consumer": 5}
    assert out["publish"] == {"type": "publish", "channel": 6, "message": {"detail": {}}}
    assert out["redrive"] == {"type": "redrive", "channel": 7}


def test_the_dashboard_knows_every_frame_type_the_server_sends(module_page: Page) -> None:
    from flows.live import frames

    assert sorted(module_page.evaluate(SCRIPT)["server"]) == sorted(frames.SCHEMAS)
