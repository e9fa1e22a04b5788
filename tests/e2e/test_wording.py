"""Counts and their nouns agree everywhere the UI writes them (static/flows/helpers.js plural)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

STATIC = Path(__file__).resolve().parents[2] / "static" / "flows"

PLURAL = """
async () => {
  const { plural } = await import("/static/flows/helpers.js");
  return [plural(0, "hop"), plural(1, "dead letter"), plural(2, "dead letter"),
          plural(1, "copy", "copies"), plural(12345, "event"), plural(undefined, "run")];
}
"""

# The node panel of a dead-letter queue holding one message, in a page made for the test.
REDRIVE = """
async (parked) => {
  document.body.innerHTML = `
    <form id="run-controls"><input id="run-seed"><button id="run-start" data-staff-only></button>
      <button id="run-stop" data-staff-only></button><p id="staff-note"></p></form>
    <span id="run-status"></span><span id="acct-lost-item"></span>
    <p id="node-empty"></p>
    <div id="node-detail"><span id="node-kind"></span><span id="node-label"></span>
      <p id="node-state"></p><table id="node-stats"><tbody></tbody></table>
      <div id="node-actions"></div></div>`;
  const { Controls } = await import("/static/flows/dashboard/controls.js");
  const dlq = { id: "queue:2", kind: "queue", label: "orders-dlq" };
  const graph = {
    nodesById: new Map([[dlq.id, dlq]]),
    data: {
      nodes: [dlq],
      edges: [{ id: "dl:1", kind: "dead_letter", source: "queue:1", target: "queue:2" }],
    },
    label: (id) => id,
    select: () => {},
  };
  const none = () => {};
  const controls = new Controls({
    graph, send: () => true, toast: none, showTab: none, onPublishTo: none,
  });
  controls.setStaff(true);
  controls.setCounters({ totals: {}, nodes: { "queue:2": { parked } } });
  controls.showNode("queue:2");
  return document.getElementById("node-redrive").textContent;
}
"""


def test_a_count_and_its_noun_agree(module_page: Page) -> None:
    assert module_page.evaluate(PLURAL) == [
        "0 hops",
        "1 dead letter",
        "2 dead letters",
        "1 copy",
        "12,345 events",
        "0 runs",
    ]


@pytest.mark.parametrize(
    ("parked", "label"),
    [(1, "Redrive 1 dead letter"), (3, "Redrive 3 dead letters"), (0, "Redrive 0 dead letters")],
)
def test_the_redrive_button_counts_its_dead_letters_in_agreement(
    module_page: Page, parked: int, label: str
) -> None:
    assert module_page.evaluate(REDRIVE, parked) == label


def test_no_script_writes_a_count_before_a_plural_noun_by_hand() -> None:
    """A count written straight before a plural noun reads "1 hops" one day: use plural()."""
    nouns = "hops|events|messages|copies|letters|attempts|failures|times|workers|runs|rules"
    by_hand = re.compile(rf"\$\{{[^}}]*\}}\)?\s+(?:dead )?(?:{nouns}|steps|targets|rows)\b")
    found = [
        f"{path.relative_to(STATIC)}:{number}: {line.strip()}"
        for path in sorted(STATIC.rglob("*.js"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if by_hand.search(line)
    ]
    assert found == []
