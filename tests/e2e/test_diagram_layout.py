"""Every shipped scenario's diagram reads at the window sizes people use: no badge covers a
node's name, no two edge labels overlap, and the names are drawn large enough to read.

Boxes are read from cytoscape (node and edge labels) and from the overlay's last frame
(badges), in rendered pixels, with every badge a node can show at once, counts at their
widest.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from flows.formats.scenario import scenario_load_file, shipped_scenarios
from tests.e2e.conftest import Dashboard

if TYPE_CHECKING:
    from playwright.sync_api import Browser

    from tests.stack.conftest import Stack

pytestmark = [pytest.mark.browser, pytest.mark.stack]

# A node name drawn smaller than this is not read at a glance (13 px at zoom 1).
MIN_NAME_PX = 9.0

# Every counter a badge shows, wide: each node gets its whole row of badges.
WIDEST = {
    "published": 12345,
    "processed": 12345,
    "failed": 9876,
    "depth": 9999,
    "in_flight": 9999,
    "parked": 9999,
    "filtered": 12345,
    "unmatched": 12345,
    "failed_calls": 9999,
}


def overlap(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a["x1"] < b["x2"] and b["x1"] < a["x2"] and a["y1"] < b["y2"] and b["y1"] < a["y2"]


def problems(boxes: dict[str, Any]) -> list[str]:
    found = []
    for badge in boxes["badges"]:
        for name in boxes["nodeLabels"]:
            if overlap(badge, name):
                found.append(
                    f"badge {badge['text'] or '(dot)'!r} of {badge['node']} covers {name['text']!r}"
                )
    labels = boxes["edgeLabels"]
    for i, a in enumerate(labels):
        for b in labels[i + 1 :]:
            if overlap(a, b):
                found.append(f"edge labels {a['text']!r} and {b['text']!r} overlap")
    if boxes["nodeFontPx"] < MIN_NAME_PX:
        found.append(f"node names drawn at {boxes['nodeFontPx']:.1f} px (< {MIN_NAME_PX})")
    view = boxes["view"]
    for name in boxes["nodeLabels"]:
        if (
            name["x1"] < 0
            or name["y1"] < 0
            or name["x2"] > view["width"]
            or name["y2"] > view["height"]
        ):
            found.append(f"{name['text']!r} is outside the diagram's view")
    return found


@pytest.fixture
def every_scenario(live_stack: Stack) -> list[str]:
    return [scenario_load_file(str(path)).slug for path in shipped_scenarios()]


@pytest.fixture(params=[(1024, 700), (1440, 900)], ids=lambda v: f"{v[0]}x{v[1]}")
def sized(
    request: pytest.FixtureRequest, browser: Browser, live_stack: Stack
) -> Iterator[Dashboard]:
    width, height = request.param
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        yield Dashboard(context.new_page(), live_stack.base_url)
    finally:
        context.close()


def test_no_badge_covers_a_name_and_no_edge_labels_overlap_in_any_scenario(
    sized: Dashboard, every_scenario: list[str]
) -> None:
    dash = sized
    found = []
    for slug in every_scenario:
        dash.open(slug)
        dash.wait_for("__eventviz.graph.cy.nodes().length > 0", what=f"{slug}'s diagram")
        dash.page.evaluate(
            """(widest) => {
                const h = window.__eventviz;
                h.graph.stats = Object.fromEntries(h.graph.data.nodes.map((n) => [n.id, widest]));
                h.tokens.dirty = true;
            }""",
            WIDEST,
        )
        dash.page.wait_for_timeout(150)
        boxes = dash.hooks("h.diagramBoxes()")
        assert boxes["badges"], f"{slug}: no badge drawn"
        found += [f"{slug}: {p}" for p in problems(boxes)]
    assert found == [], "\n".join(found)
    assert dash.errors == []
