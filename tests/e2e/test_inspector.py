"""The trace inspector (static/flows/dashboard/inspector.js), run in chromium."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

# The trace panel's elements, stand-ins for the other parts, and a recorder of sent frames.
SCRIPT = """
async (currentRun) => {
  document.body.innerHTML = `
    <button id="trace-refresh"></button><p id="trace-empty"></p><div id="trace-detail"></div>
    <p id="trace-msg"></p><span id="trace-type"></span><span id="trace-kind"></span>
    <p id="trace-summary"></p><ol id="trace-timeline"></ol>`;
  const { Inspector } = await import("/static/flows/dashboard/inspector.js");
  const sent = [];
  const inspector = new Inspector({
    root: document.body,
    graph: { label: (id) => id, edgesById: new Map(), setTraced() {} },
    tokens: { setHighlight() {} },
    log: { markSelected() {} },
    send: (frame) => { sent.push(frame); return true; },
    showTab() {},
    currentRun: () => currentRun,
  });
  inspector.open("00000000-0000-4000-8000-000000000001");
  return sent;
}
"""


def test_a_trace_request_names_the_run_on_screen(module_page: Page) -> None:
    # Another run of the same seed has the same message ids, and the server caps a trace
    # at 500 hops ordered by run: without the run, this run's hops could be cut off.
    sent = module_page.evaluate(SCRIPT, 42)
    assert sent == [{"type": "trace", "msg": "00000000-0000-4000-8000-000000000001", "run": 42}]


def test_a_trace_request_without_a_run_on_screen_names_none(module_page: Page) -> None:
    sent = module_page.evaluate(SCRIPT, None)
    assert sent == [{"type": "trace", "msg": "00000000-0000-4000-8000-000000000001"}]
