"""The hop rate says when the server samples hop events (static/flows/dashboard/ui.js)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

SCRIPT = """
async () => {
  const { RateMeter } = await import("/static/flows/dashboard/ui.js");
  const box = document.createElement("span");
  const meter = new RateMeter(box);
  meter.add(100);
  meter.sampled(300, 4);  // a sampled frame: 300 hops left out, 1 in 4 kept
  meter.since -= 2000;
  meter.tick(true);
  const during = box.textContent;
  meter.sampledAt -= 5000;  // no sampled frame for a while
  meter.since -= 2000;
  meter.tick(true);
  return { during, after: box.textContent, every: meter.samplingEvery() };
}
"""


def test_the_rate_counts_sampled_out_hops_and_says_sampled_while_it_lasts(
    module_page: Page,
) -> None:
    out = module_page.evaluate(SCRIPT)
    assert out["during"].startswith("· 2") and out["during"].endswith("sampled: 1 in 4")
    assert "sampled" not in out["after"] and out["every"] == 0
