"""The token colours: told apart at a glance, also with the common colour-vision deficiencies,
and the same in the legend as on the diagram (one palette, in CSS variables)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.e2e.colour_vision import closest_pairs, contrast, parse_css_colour
from tests.e2e.conftest import VIEWPORT, Dashboard

if TYPE_CHECKING:
    from playwright.sync_api import Browser

    from tests.stack.conftest import Stack

pytestmark = [pytest.mark.browser, pytest.mark.stack]

# CIEDE2000: about 2.3 is just noticeable; 15 is plainly another colour, even for a dot.
MIN_DISTANCE = 15
# A token is a small dot on the panel: WCAG's 3:1 for graphics (the muted grey of copies a
# filter or no rule took is meant to recede, but must still be seen).
MIN_CONTRAST = {"filtered / unmatched": 2.2}
DEFAULT_CONTRAST = 3.0

# A hop of each kind of token, and the legend swatch that explains it.
TOKENS = {
    "command": ({"stage": "delivered", "kind": "command"}, ".tok.command", "background-color"),
    "event": ({"stage": "delivered", "kind": "event"}, ".tok.event", "background-color"),
    "failed": ({"stage": "failed", "kind": "event"}, ".tok.failed", "background-color"),
    "filtered / unmatched": (
        {"stage": "filtered", "kind": "event"},
        ".tok.grey",
        "background-color",
    ),
    "dead-lettered": (
        {"stage": "dead_lettered", "kind": "command"},
        ".tok.dead",
        "background-color",
    ),
    "mirrored": ({"stage": "mirrored", "kind": "command"}, ".tok.mirror", "border-top-color"),
}


@pytest.fixture(params=["light", "dark"])
def themed(
    request: pytest.FixtureRequest, browser: Browser, live_stack: Stack, shop: None
) -> Iterator[Dashboard]:
    context = browser.new_context(viewport=VIEWPORT, color_scheme=request.param)
    try:
        yield Dashboard(context.new_page(), live_stack.base_url)
    finally:
        context.close()


def test_token_colours_stay_apart_under_colour_vision_deficiencies(themed: Dashboard) -> None:
    dash = themed
    dash.open()
    drawn = {}
    for name, (hop, swatch, prop) in TOKENS.items():
        canvas = parse_css_colour(dash.hooks(f"h.tokenColour({hop!r})".replace("'", '"')))
        legend = parse_css_colour(
            dash.page.eval_on_selector(
                f".legend {swatch}", f"e => getComputedStyle(e)[{prop!r}]".replace("'", '"')
            )
        )
        assert canvas == pytest.approx(legend, abs=1), f"{name}: legend and diagram differ"
        drawn[name] = canvas

    too_close = [
        f"{a} vs {b} ({vision}): {distance:.1f}"
        for distance, vision, a, b in closest_pairs(drawn)
        if distance < MIN_DISTANCE
    ]
    assert too_close == [], f"token colours too alike (CIEDE2000 < {MIN_DISTANCE})"

    panel = parse_css_colour(
        dash.page.eval_on_selector("#stage", "e => getComputedStyle(e).backgroundColor")
    )
    faint = {
        name: round(contrast(colour, panel), 2)
        for name, colour in drawn.items()
        if contrast(colour, panel) < MIN_CONTRAST.get(name, DEFAULT_CONTRAST)
    }
    assert faint == {}, "token colours too faint on the panel"
    assert dash.errors == []
