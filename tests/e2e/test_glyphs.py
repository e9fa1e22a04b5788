"""Every character the pages show is one the default fonts have: EventViz ships no symbol
font, and a missing glyph is drawn as an empty box ("▯" for a paused producer's "⏸").

The set allowed is Latin-1 and the few typographic signs of WGL4 that every default sans
font (DejaVu, Liberation, Arial, Helvetica, Segoe UI, Roboto) carries; icons are drawn
with CSS instead.
"""

from __future__ import annotations

import pytest

from flows.models import Consumer, Producer
from tests.e2e.conftest import Dashboard

pytestmark = [pytest.mark.browser, pytest.mark.stack]

# - -- quotes bullet ellipsis angle quotes euro minus plus-minus times divide arrows
TYPOGRAPHY = set(
    "\u2013\u2014\u2018\u2019\u201c\u201d\u2022\u2026\u2039\u203a\u20ac\u2212\u00b1\u00d7\u00f7\u2190\u2191\u2192\u2193\u2194"
)

# What a page shows: its text, what CSS adds before and after elements, and the labels,
# badges and titles drawn on the diagram when there is one.
SHOWN = """
() => {
  const texts = [document.body.innerText, document.title];
  for (const e of document.querySelectorAll("*")) {
    for (const pseudo of ["::before", "::after"]) {
      const content = getComputedStyle(e, pseudo).content;
      if (content && content !== "none" && content !== "normal") texts.push(content);
    }
    if (e.title) texts.push(e.title);
  }
  const h = window.__eventviz;
  if (h) {
    h.graph.cy.elements().forEach((el) => texts.push(String(el.data("display") || "")));
    for (const b of h.diagramBoxes().badges) texts.push(b.text);
  }
  return texts.join("\\n");
}
"""


def unsafe(text: str) -> list[str]:
    return sorted({c for c in text if ord(c) > 0xFF and c not in TYPOGRAPHY})


def test_the_pages_use_no_glyph_the_default_fonts_lack(
    dashboard: Dashboard, staff_user: object
) -> None:
    Producer.objects.filter(topology__slug="shop", name="storefront").update(paused=True)
    Consumer.objects.filter(topology__slug="shop", name="billing").update(online=False)
    dash = dashboard
    dash.log_in()
    dash.page.evaluate(
        """() => {
            const h = window.__eventviz;
            const all = {processed: 5, failed: 2, published: 7, depth: 1, in_flight: 1,
                         parked: 1, filtered: 1, unmatched: 1, failed_calls: 1};
            h.graph.stats = Object.fromEntries(h.graph.data.nodes.map((n) => [n.id, all]));
            h.tokens.dirty = true;
        }"""
    )
    dash.page.wait_for_timeout(150)
    found = {"dashboard": unsafe(dash.page.evaluate(SHOWN))}
    # The node panel of the paused producer, with its buttons.
    center = dash.hooks("h.nodeCenter('storefront')")
    dash.page.mouse.click(center["x"], center["y"])
    found["node panel"] = unsafe(dash.page.evaluate(SHOWN))
    for path in ("/", "/topologies/shop/coupling/"):
        dash.page.goto(dash.base_url + path)
        found[path] = unsafe(dash.page.evaluate(SHOWN))
    assert {page: chars for page, chars in found.items() if chars} == {}
    assert dash.errors == []
