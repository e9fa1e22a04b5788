"""The live dashboard in a real browser, against the real stack (Daphne, a Celery worker)."""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path

import pytest

from flows.models import Hop
from tests.e2e.conftest import Dashboard

pytestmark = [pytest.mark.browser, pytest.mark.stack]

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshot.png"
XSS = "<img src=x onerror=alert(1)>"


def processed(dash: Dashboard) -> int:
    return dash.hooks(
        "(h.nodeStats('order-worker-1').processed || 0)"
        " + (h.nodeStats('order-worker-2').processed || 0)"
    )


def token_moved(dash: Dashboard, within: float = 10) -> bool:
    """Whether some token in flight is elsewhere 120 ms later (tried for ``within`` s)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        before = {p["msg"]: (p["x"], p["y"]) for p in dash.hooks("h.tokenPoints()")}
        dash.page.wait_for_timeout(120)
        after = {p["msg"]: (p["x"], p["y"]) for p in dash.hooks("h.tokenPoints()")}
        if any(after[m] != before[m] for m in before.keys() & after.keys()):
            return True
    return False


def test_a_run_animates_its_hops_and_survives_a_dropped_socket(
    dashboard: Dashboard, staff_user: object
) -> None:
    dash = dashboard
    dash.log_in()
    dash.start_run(seed=7)

    # Tokens move: the overlay draws them, and a token is somewhere else a moment later.
    dash.wait_for("__eventviz.tokensDrawn >= 10", what="tokens to be drawn")
    assert token_moved(dash), "no token moved"

    # Badges rise with the counters.
    dash.wait_for(
        "(__eventviz.nodeStats('order-worker-1').processed || 0) > 0", what="processed counters"
    )
    first = processed(dash)
    dash.wait_for(
        f"(__eventviz.nodeStats('order-worker-1').processed || 0)"
        f" + (__eventviz.nodeStats('order-worker-2').processed || 0) > {first}",
        what="the processed badges to rise",
    )
    assert int(dash.page.text_content("#acct-published").replace(",", "")) > 0
    assert dash.page.text_content("#acct-lost") == "0"

    # Drop the socket for 2.5 s while the run goes on; the dashboard reconnects and resumes.
    seq_at_drop = dash.hooks("h.lastSeq")
    dash.hooks("h.dropSocket(2500)")
    dash.wait_for("!__eventviz.connected", what="the socket to close")
    dash.page.wait_for_timeout(2500)
    dash.wait_for("__eventviz.connected", what="the socket to reconnect")
    dash.wait_for(f"__eventviz.lastSeq > {seq_at_drop + 60}", what="hops after the reconnect")
    dash.wait_for("__eventviz.pending === 0", what="the resumed gap to close")

    hooks = dash.hooks(
        "({seqs: h.seqs.slice(), resumes: h.resumes, missed: h.missed, run: h.runId})"
    )
    seqs = hooks["seqs"]
    assert hooks["resumes"] >= 1
    assert hooks["missed"] == 0
    assert len(seqs) == len(set(seqs)), "a hop was delivered twice"
    gaps = [(a, b) for a, b in itertools.pairwise(seqs) if b != a + 1]
    assert gaps == [], f"hops missing between {gaps[:5]}"
    assert seqs[0] < seq_at_drop < seqs[-1]
    # What the browser got is what the database holds for that stretch of the run.
    stored = set(
        Hop.objects.filter(run_id=hooks["run"], seq__gte=seqs[0], seq__lte=seqs[-1]).values_list(
            "seq", flat=True
        )
    )
    assert stored == set(seqs)

    # The screenshot of docs/: a message that went through an input transformer, traced.
    dash.page.locator("#log-body tr:has(.st-transformed)").first.click()
    dash.wait_for("document.querySelectorAll('#trace-timeline li').length > 3", what="a trace")
    dash.page.mouse.move(5, 5)
    dash.page.eval_on_selector("#log-scroll", "e => { e.scrollTop = 0; }")
    dash.page.wait_for_timeout(1200)
    SCREENSHOT.parent.mkdir(exist_ok=True)
    dash.page.screenshot(path=str(SCREENSHOT))

    # The log shows the same: newest first, no gap, no duplicate.
    dash.page.click("#log-pause")
    rows = [
        int(s)
        for s in dash.page.eval_on_selector_all("#log-body tr", "r => r.map(t => t.dataset.seq)")
    ]
    assert len(rows) >= 100
    assert rows == list(range(rows[0], rows[0] - len(rows), -1))

    dash.stop_run()
    assert dash.errors == []


def test_a_published_message_is_traced_and_its_markup_stays_inert(
    dashboard: Dashboard, staff_user: object
) -> None:
    dash = dashboard
    dash.log_in()
    dash.start_run(seed=11)

    dash.page.click("#tab-publish")
    dash.page.select_option("#publish-type", "OrderPlaced")
    prefilled = json.loads(dash.page.input_value("#publish-json"))
    assert prefilled["detail-type"] == "OrderPlaced"
    assert set(prefilled["detail"]) >= {"order_id", "total", "currency", "region"}

    # Invalid JSON is refused before anything is sent.
    dash.page.fill("#publish-json", '{"detail": ')
    assert "Not valid JSON" in dash.page.text_content("#publish-error")

    message = {
        "detail-type": XSS,
        "detail": {"order_id": XSS, "total": 750, "currency": "EUR", "region": "eu-west"},
        "attributes": {"note": XSS},
    }
    dash.page.select_option("#publish-channel", label="shop-bus (bus)")
    dash.page.fill("#publish-json", json.dumps(message))
    assert dash.page.text_content("#publish-error") == ""
    dash.page.click("#publish-send")

    # The inspector follows the message: published, then unmatched (no rule knows its type).
    dash.wait_for(
        "document.querySelectorAll('#trace-timeline li').length >= 2", what="the message's trace"
    )
    assert dash.page.text_content("#trace-type") == XSS
    stages = dash.page.eval_on_selector_all(
        "#trace-timeline li", "r => r.map(l => l.dataset.stage)"
    )
    assert stages[0] == "published" and "unmatched" in stages
    payload = dash.page.text_content("#trace-timeline li pre.json")
    assert XSS in payload and '"total": 750' in payload
    dash.wait_for(
        "[...document.querySelectorAll('#log-body td.c-type')]"
        f".some(td => td.textContent === {json.dumps(XSS)})",
        what="the message in the log",
    )

    # A well-typed big EU order crosses three rules, one of them through a transformer.
    order = {
        "detail-type": "OrderPlaced",
        "detail": {"order_id": "o-e2e", "total": 750, "currency": "EUR", "region": "eu-west"},
    }
    dash.page.click("#tab-publish")
    dash.page.fill("#publish-json", json.dumps(order))
    dash.page.click("#publish-send")
    dash.wait_for(
        "document.querySelectorAll('#trace-timeline li[data-stage=processed]').length >= 4",
        timeout=30,
        what="the order to be processed by billing, shipping, fraud review and tax",
    )
    timeline = dash.page.text_content("#trace-timeline")
    assert "eu-orders-to-tax v1" in timeline and "big-orders" in timeline
    assert "transformed input" in timeline and '"order": "o-e2e"' in timeline

    # Clicking a log row traces that row's message.
    dash.page.click("#log-pause")
    row = dash.page.locator("#log-body tr").nth(3)
    msg = row.get_attribute("data-msg")
    row.click()
    dash.wait_for(
        f"document.querySelector('#trace-msg').textContent === {json.dumps(msg)}",
        what="the trace of a log row",
    )

    # Clicking a token on the diagram traces its message (frozen, so it stays put).
    dash.wait_for("__eventviz.tokenPoints().length > 0", what="a token in flight")
    dash.hooks("h.freeze(true)")
    dash.page.wait_for_timeout(100)
    token = dash.hooks("h.tokenPoints()")[0]
    dash.page.mouse.click(token["x"], token["y"])
    dash.wait_for(
        f"document.querySelector('#trace-msg').textContent === {json.dumps(token['msg'])}",
        what="the trace of a clicked token",
    )
    dash.hooks("h.freeze(false)")

    # Nothing from the message ran or became markup.
    assert dash.dialogs == []
    assert dash.page.locator("#dashboard img").count() == 0
    assert dash.errors == []


def test_a_node_panel_pauses_a_producer_and_takes_a_consumer_offline(
    dashboard: Dashboard, staff_user: object
) -> None:
    dash = dashboard
    dash.log_in()
    dash.start_run(seed=3)

    center = dash.hooks("h.nodeCenter('storefront')")
    dash.page.mouse.click(center["x"], center["y"])
    assert dash.page.text_content("#node-label") == "storefront"
    dash.page.click("#node-toggle")
    dash.wait_for(
        "__eventviz.node('storefront').paused",
        what="the producer to show as paused",
    )
    assert "Resume" in dash.page.text_content("#node-toggle")

    center = dash.hooks("h.nodeCenter('billing')")
    dash.page.mouse.click(center["x"], center["y"])
    dash.page.click("#node-toggle")
    dash.wait_for(
        "__eventviz.node('billing').online === false",
        what="the consumer to show as offline",
    )
    # While billing is offline its queue fills up: the depth badge rises.
    dash.wait_for(
        "(__eventviz.nodeStats('billing-queue').depth || 0) > 0",
        timeout=20,
        what="billing-queue's depth to rise",
    )
    assert dash.errors == []


def test_a_visitor_sees_the_live_diagram_but_no_controls(dashboard: Dashboard) -> None:
    dash = dashboard
    dash.open()
    assert dash.page.is_disabled("#run-start")
    assert dash.page.is_disabled("#run-stop")
    assert dash.page.is_visible("#staff-note")
    link = dash.page.get_attribute("#staff-note a", "href")
    assert link == "/admin/login/?next=/topologies/shop/"
    labels = set(dash.hooks("h.graph.data.nodes.map(n => n.label)"))
    assert {"storefront", "orders", "shop-bus", "billing", "tax"} <= labels
    # The parts stay reachable in the About tab.
    assert "big-orders" in dash.page.text_content("#panel-about")
    assert dash.errors == []


def test_five_hundred_tokens_in_flight_frames_per_second(
    dashboard: Dashboard, capsys: pytest.CaptureFixture[str]
) -> None:
    """Measures (never asserts) the frame rate with 500 tokens in flight; prints it."""
    dash = dashboard
    dash.open()
    dash.hooks("h.injectTokens(500, 4500)")
    dash.wait_for("__eventviz.tokens.stats.inFlight >= 500", what="500 tokens in flight")
    started = time.monotonic()
    result = dash.page.evaluate("() => window.__eventviz.measureFps(3000)")
    assert time.monotonic() - started < 30
    assert result["frames"] > 0 and result["maxTokens"] >= 500
    with capsys.disabled():
        print(
            f"\n[e2e] {result['fps']:.1f} frames/s with {result['minTokens']}-"
            f"{result['maxTokens']} tokens in flight (worst frame {result['worstFrameMs']:.0f} ms)"
        )
    assert dash.errors == []


SCRIPTED = """
slug: scripted
name: Scripted
description: A consumer goes away and comes back.
message_types: [{name: Job, kind: command}]
channels: [{name: jobs, kind: queue}]
consumers: [{name: worker, latency_ms: {mean: 50, jitter: 0}}]
producers: [{name: p, channel: jobs, rate: 4, emits: [{type: Job}]}]
subscriptions: [{channel: jobs, consumer: worker}]
script:
  - {at: 1, consumer: worker, set: {online: false}, say: The worker goes offline}
  - {at: 600, say: Much later}
"""


def test_the_script_is_listed_ticked_off_and_narrated(
    dashboard: Dashboard, staff_user: object
) -> None:
    from flows.formats.scenario import scenario_load

    scenario_load(text=SCRIPTED, origin="scripted.yaml")
    dash = dashboard
    dash.log_in("/topologies/scripted/")
    steps = dash.page.locator("#script-steps li")
    assert steps.count() == 2
    assert "The worker goes offline" in steps.nth(0).text_content()
    dash.start_run()
    dash.wait_for("document.querySelector('#script-steps li.done') !== null", what="the first step")
    dash.wait_for(
        "document.querySelector('#toast').textContent.includes('The worker goes offline')",
        what="the narration",
    )
    assert dash.page.locator("#script-steps li.done").count() == 1
    dash.stop_run()
    assert dash.errors == []


def test_a_node_link_from_the_coupling_report_opens_that_node(dashboard: Dashboard) -> None:
    from flows.models import Consumer

    billing = Consumer.objects.get(topology__slug="shop", name="billing")
    dash = dashboard
    dash.page.goto(f"{dash.base_url}/topologies/shop/coupling/")
    href = dash.page.locator(f"a[href$='#node=consumer:{billing.pk}']").first.get_attribute("href")
    dash.page.goto(f"{dash.base_url}{href}" if href.startswith("/") else href)
    dash.wait_for("window.__eventviz && __eventviz.connected", what="the live connection")
    dash.wait_for(
        "document.querySelector('#tab-node').getAttribute('aria-selected') === 'true'",
        what="the node panel",
    )
    assert "billing" in dash.page.text_content("#panel-node")
    assert dash.errors == []


def test_a_rule_edited_in_admin_redraws_the_open_diagram(
    dashboard: Dashboard, staff_user: object
) -> None:
    from flows.models import Rule

    dash = dashboard
    dash.log_in()
    assert "big-orders" in dash.hooks("h.edgeLabels()")
    rule = Rule.objects.get(name="big-orders")
    admin = dash.page.context.new_page()
    admin_errors: list[str] = []
    admin.on("pageerror", lambda exc: admin_errors.append(str(exc)))
    admin.goto(f"{dash.base_url}/admin/flows/rule/{rule.pk}/change/")
    # The sandbox (an ES module sharing static/flows/helpers.js) fills its event picker.
    admin.wait_for_function(
        "/recent event/.test(document.querySelector('#sandbox-recent option').textContent)"
    )
    assert admin_errors == []
    admin.fill("#id_name", "huge-orders")
    admin.click("input[name=_save]")
    admin.wait_for_url("**/admin/flows/rule/")
    dash.wait_for("__eventviz.edgeLabels().includes('huge-orders')", what="the diagram to redraw")
    assert "big-orders" not in dash.hooks("h.edgeLabels()")
    assert dash.errors == []
