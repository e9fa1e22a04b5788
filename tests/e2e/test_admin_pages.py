"""Admin pages in a real browser at 1440x900: they fit the window and read well.

Only Django's live server is needed (no worker): the admin reads and writes the database.
Set EVENTVIZ_SCREENSHOTS to a folder to keep a screenshot of each page.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.contrib.auth import get_user_model

from flows.formats.scenario import resolve, scenario_load, scenario_load_file
from flows.models import Hop, Rule, Run
from flows.rules import rule_save
from tests.e2e.conftest import STAFF_PASSWORD, STAFF_USER, VIEWPORT, chromium

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def keep(page: Page, name: str) -> None:
    folder = os.environ.get("EVENTVIZ_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


@pytest.fixture
def admin_page(
    can_browse: None, live_server: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Page]:
    # Playwright's sync API marks its loop as running in this thread; the ORM calls of
    # the test body are safe (see tests/e2e/conftest.py).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    get_user_model().objects.create_superuser(STAFF_USER, "staff@example.com", STAFF_PASSWORD)
    with chromium() as browser:
        context = browser.new_context(viewport=VIEWPORT, base_url=live_server.url)
        page = context.new_page()
        page.goto("/admin/login/?next=/admin/")
        page.fill("#id_username", STAFF_USER)
        page.fill("#id_password", STAFF_PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url("**/admin/")
        try:
            yield page
        finally:
            context.close()


@pytest.fixture
def two_shops() -> Rule:
    """The shop twice (a copy under another slug): the same rule names on two buses."""
    scenario_load_file("shop")
    text = resolve("shop").read_text(encoding="utf-8")
    copy = text.replace("slug: shop\n", "slug: shop-eu\n", 1).replace(
        "name: Shop\n", "name: Shop EU\n", 1
    )
    assert copy != text
    scenario_load(text=copy, origin="shop-eu.yaml")
    return Rule.objects.get(name="big-orders", bus__topology__slug="shop")


def page_width(page: Page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def test_the_rule_list_tells_rules_apart_and_fits_the_window(
    admin_page: Page, two_shops: Rule
) -> None:
    page = admin_page
    page.goto("/admin/flows/rule/")
    keep(page, "rule-changelist")
    headers = page.locator("#result_list thead th").all_inner_texts()
    for column in ("TOPOLOGY", "BUS", "ENABLED", "VERSION", "TARGETS"):
        assert any(column in h.upper() for h in headers), headers
    rows = [" | ".join(r.split()) for r in page.locator("#result_list tbody tr").all_inner_texts()]
    assert len(rows) == len(set(rows)) == Rule.objects.count()
    assert page_width(page) <= VIEWPORT["width"]


def test_the_history_page_is_one_json_diff_that_fits_the_window(
    admin_page: Page, two_shops: Rule
) -> None:
    rule = two_shops
    staff = get_user_model().objects.get(username=STAFF_USER)
    long_pattern = {
        "detail-type": ["OrderPlaced"],
        "detail": {
            "total": [{"numeric": [">", 100]}],
            "region": [{"prefix": "eu-"}, {"prefix": "uk-"}, {"anything-but": ["eu-test"] * 30}],
        },
    }
    rule.event_pattern = long_pattern
    rule_save(rule=rule, actor=staff, reason="admin")
    page = admin_page
    page.goto(f"/admin/flows/rule/{rule.pk}/history/")
    keep(page, "rule-history")
    assert page_width(page) <= VIEWPORT["width"]
    headers = [
        h.strip().upper() for h in page.locator("#change-history thead th").all_inner_texts()
    ]
    assert headers.count("WHAT CHANGED") == 1 and "CHANGES" not in headers
    newest = page.locator("#change-history tbody tr").first
    text = newest.inner_text()
    assert "v2" in text and STAFF_USER in text and "admin: pattern" in text
    assert "None" not in text
    diff = newest.locator("[data-field=event_pattern] pre").inner_text()
    assert '"prefix": "eu-"' in diff and "'prefix'" not in diff  # JSON, not a Python repr
    # The diff gets most of the width, so JSON lines are rarely wrapped.
    table = page.locator("#change-history").bounding_box()
    cell = newest.locator("td").last.bounding_box()
    assert cell["width"] >= 0.55 * table["width"]


def test_whatif_counts_every_gained_event_and_says_the_list_is_capped(
    admin_page: Page, two_shops: Rule
) -> None:
    rule = two_shops
    run = Run.objects.create(topology=rule.bus.topology, seed=1, status="stopped")
    totals = [50] * 10 + [300] * 82 + [900] * 92
    Hop.objects.bulk_create(
        Hop(
            run=run,
            seq=i,
            msg=f"00000000-0000-4000-8000-{i:012d}",
            type="OrderPlaced",
            kind="event",
            stage="published",
            from_node="producer:1",
            to_node=rule.bus.node_id,
            at=i,
            detail={
                "payload": {"id": f"e{i}", "detail-type": "OrderPlaced", "detail": {"total": t}}
            },
        )
        for i, t in enumerate(totals, start=1)
    )
    page = admin_page
    page.goto(f"/admin/flows/rule/{rule.pk}/change/")
    page.evaluate(
        """() => {
        const area = document.getElementById('id_event_pattern');
        area.value = JSON.stringify({"detail-type": ["OrderPlaced"],
                                     "detail": {"total": [{"numeric": [">", 100]}]}});
    }"""
    )
    page.click("#sandbox-whatif")
    page.wait_for_selector("#whatif-summary")
    summary = page.inner_text("#whatif-summary")
    assert "matches 92" in summary and "draft would match 174" in summary
    assert "(82 gained, 0 lost)" in summary
    assert "showing 50 of 82" in page.inner_text("details[data-list=gained] summary")
    keep(page, "rule-whatif")
