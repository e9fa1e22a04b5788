"""The publish editor (static/flows/dashboard/publish.js): it says which envelope will be
sent before it is sent, its type list follows the JSON, and no stale answer stays."""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import Dashboard

pytestmark = [pytest.mark.browser, pytest.mark.stack]


def envelope(dash: Dashboard) -> str:
    return dash.page.text_content("#publish-envelope") or ""


def test_the_editor_says_what_it_will_send_and_keeps_no_stale_answer(
    dashboard: Dashboard, staff_user: object
) -> None:
    dash = dashboard
    dash.log_in()
    dash.start_run(seed=5)
    dash.page.click("#tab-publish")
    dash.page.select_option("#publish-type", "OrderPlaced")
    assert "Will send: event OrderPlaced v1 from shop.orders." in envelope(dash)

    # The JSON's detail-type wins, and the type list follows it.
    dash.page.fill(
        "#publish-json",
        json.dumps({"detail-type": "NewsletterSignedUp", "detail": {"email": "a@b.c"}}),
    )
    assert dash.page.input_value("#publish-type") == "NewsletterSignedUp"
    assert "NewsletterSignedUp" in envelope(dash)

    # A bare object is the detail of a TestMessage from eventviz.client: said before sending.
    dash.page.fill("#publish-json", json.dumps({"foo": 1}))
    said = envelope(dash)
    assert "TestMessage" in said and "eventviz.client" in said and "detail" in said
    assert dash.page.input_value("#publish-type") == ""  # custom message

    # An unknown type is named as such.
    dash.page.fill("#publish-json", json.dumps({"detail-type": "Nope", "detail": {}}))
    assert "Nope is not a message type of this topology" in envelope(dash)

    # Published; then a new error replaces the answer instead of sitting over it.
    dash.page.select_option("#publish-type", "OrderPlaced")
    dash.page.click("#publish-send")
    dash.wait_for(
        "document.querySelector('#publish-result').textContent.startsWith('Published')",
        what="the publish answer",
    )
    dash.page.click("#tab-publish")
    dash.page.fill("#publish-json", '{"detail": ')
    assert "Not valid JSON" in dash.page.text_content("#publish-error")
    assert dash.page.text_content("#publish-result") == ""
    assert envelope(dash) == ""
    dash.stop_run()
    assert dash.errors == []
