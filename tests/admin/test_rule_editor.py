"""The rule editor in admin: validation, sandbox, what-if, live on save, history, safety."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from flows.engine.keys import config_version
from flows.formats.scenario import scenario_load_file
from flows.models import Hop, MessageChannel, Rule, Run

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(redis_url: str):
    return scenario_load_file("shop")


@pytest.fixture
def rule(shop) -> Rule:
    return Rule.objects.get(name="big-orders")


def form_data(rule: Rule, pattern: Any, **extra: Any) -> dict[str, Any]:
    data = {
        "bus": rule.bus_id,
        "name": rule.name,
        "description": rule.description,
        "event_pattern": pattern if isinstance(pattern, str) else json.dumps(pattern),
        "enabled": "on",
        "loaded_version": rule.version,
        "targets-TOTAL_FORMS": "0",
        "targets-INITIAL_FORMS": "0",
    }
    data.update(extra)
    return data


def change_url(rule: Rule) -> str:
    return f"/admin/flows/rule/{rule.pk}/change/"


@pytest.mark.parametrize(
    ("pattern", "fragments"),
    [
        ({"detail": {"total": [{"numerik": [">", 1]}]}}, ["detail.total", "numerik"]),
        ({"detail": {"total": [{"numeric": [">", "x"]}]}}, ["detail.total", "number"]),
        ({"detail": {"total": [{"numeric": [">", 9, "<", 1]}]}}, ["detail.total"]),
        ({"detail": {"sku": [{"wildcard": "a**b"}]}}, ["detail.sku", "**"]),
        ({"source": []}, ["source", "empty"]),
        ({"detail": [{"a": 1}]}, ["detail"]),
        ({"source": "shop"}, ["source"]),
        ('["not", "an", "object"]', ["must be a JSON object"]),
        # Where the JSON breaks, as the sandbox says it (issue 14 item 12).
        ("{not json", ["Not valid JSON at line 1, column 2", "property name"]),
        ('{\n  "source": ["a",]\n}', ["Not valid JSON at line 2, column 18"]),
        ("[]", ["must be a JSON object, not an array"]),
        ("{}", ["empty objects are not allowed"]),
    ],
)
def test_invalid_patterns_are_refused_with_path_and_reason(
    admin_client: Client, rule: Rule, pattern: Any, fragments: list[str]
) -> None:
    before = rule.event_pattern
    response = admin_client.post(change_url(rule), form_data(rule, pattern))
    assert response.status_code == 200
    errors = " ".join(response.context["adminform"].form.errors.get("event_pattern", []))
    for fragment in fragments:
        assert fragment in errors, errors
    assert "required" not in errors and "blank" not in errors, errors
    rule.refresh_from_db()
    assert rule.event_pattern == before and rule.version == 1


@pytest.mark.django_db(transaction=True)
def test_a_valid_change_saves_raises_the_version_and_reaches_the_simulation(
    admin_client: Client, rule: Rule
) -> None:
    from flows.redis_state import client

    key = config_version(rule.bus.topology_id)
    before = int(client().get(key) or 0)
    response = admin_client.post(change_url(rule), form_data(rule, {"source": ["shop"]}))
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.event_pattern == {"source": ["shop"]} and rule.version == 2
    assert int(client().get(key)) == before + 1  # running workers reload the topology


def test_two_editors_do_not_silently_overwrite_each_other(admin_client: Client, rule: Rule) -> None:
    opened = rule.version
    first = admin_client.post(change_url(rule), form_data(rule, {"source": ["a"]}))
    assert first.status_code == 302
    second = admin_client.post(
        change_url(rule), form_data(rule, {"source": ["b"]}, loaded_version=opened)
    )
    assert second.status_code == 200
    assert "Your edits were not saved" in second.content.decode()
    rule.refresh_from_db()
    assert rule.event_pattern == {"source": ["a"]}


def test_history_shows_who_changed_what_and_revert_restores_it(
    admin_client: Client, admin_user: User, rule: Rule
) -> None:
    original = rule.event_pattern
    admin_client.post(change_url(rule), form_data(rule, {"source": ["changed"]}))
    rule.refresh_from_db()
    history = admin_client.get(f"/admin/flows/rule/{rule.pk}/history/").content.decode()
    assert "event_pattern" in history and "changed" in history and admin_user.username in history
    first = rule.history.order_by("history_date").first()
    revert_url = f"/admin/flows/rule/{rule.pk}/history/{first.history_id}/"
    revert_page = admin_client.get(revert_url).content.decode()
    assert 'name="loaded_version" value="2"' in revert_page  # the stored version, not 1
    response = admin_client.post(revert_url, form_data(rule, original))
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.event_pattern == original and rule.version == 3
    assert rule.history.count() == 3


def test_changing_a_target_raises_the_rule_version_and_is_kept_in_history(
    admin_client: Client, rule: Rule
) -> None:
    target = rule.targets.get()
    data = form_data(rule, rule.event_pattern)
    data.update(
        {
            "targets-TOTAL_FORMS": "1",
            "targets-INITIAL_FORMS": "1",
            "targets-0-id": target.pk,
            "targets-0-rule": rule.pk,
            "targets-0-consumer": target.consumer_id,
            "targets-0-channel": "",
            "targets-0-input_paths_map": "",
            "targets-0-input_template": "",
            "targets-0-max_retries": "7",
            "targets-0-dead_letter_queue": "",
        }
    )
    assert admin_client.post(change_url(rule), data).status_code == 302
    rule.refresh_from_db()
    assert rule.version == 2
    assert target.history.count() == 2


def post_json(client: Client, url: str, body: Any, **headers: Any):
    raw = body if isinstance(body, str) else json.dumps(body)
    return client.post(url, raw, content_type="application/json", **headers)


SAMPLE = {
    "id": "e1",
    "source": "shop.orders",
    "detail-type": "OrderPlaced",
    "detail": {"total": 120, "region": "us-east"},
}


def test_sandbox_explains_a_match_and_a_mismatch(admin_client: Client, shop) -> None:
    url = "/admin/flows/rule/sandbox/"
    hit = post_json(
        admin_client,
        url,
        {"pattern": '{"detail": {"total": [{"numeric": [">", 100]}]}}', "event": SAMPLE},
    ).json()
    assert hit == {"valid": True, "matches": True, "explanation": []}
    miss = post_json(
        admin_client, url, {"pattern": {"detail": {"region": [{"prefix": "eu-"}]}}, "event": SAMPLE}
    ).json()
    assert miss["matches"] is False
    (why,) = miss["explanation"]
    assert why["path"] == "detail.region" and why["actual"] == "us-east"
    assert why["expected"] == [{"prefix": "eu-"}]


def test_sandbox_reports_an_invalid_draft_and_bad_json(admin_client: Client, shop) -> None:
    url = "/admin/flows/rule/sandbox/"
    bad = post_json(admin_client, url, {"pattern": {"x": [{"prefix": 1}]}, "event": SAMPLE}).json()
    assert bad["valid"] is False and bad["path"] == "x"
    response = post_json(admin_client, url, "{oops")
    assert response.status_code == 400 and "not valid JSON" in response.json()["error"]
    response = post_json(admin_client, url, {"pattern": {"a": [1]}, "event": [1]})
    assert response.status_code == 400 and "must be a JSON object" in response.json()["error"]


def test_sandbox_and_whatif_are_staff_only_and_csrf_protected(shop) -> None:
    anonymous = Client()
    for url in ("/admin/flows/rule/sandbox/", "/admin/flows/rule/whatif/"):
        assert post_json(anonymous, url, {}).status_code == 302  # to the login page
    User.objects.create_user("visitor", password="pw-123456789")
    visitor = Client()
    visitor.login(username="visitor", password="pw-123456789")
    assert post_json(visitor, "/admin/flows/rule/sandbox/", {}).status_code == 302
    User.objects.create_superuser("boss", password="pw-123456789")
    strict = Client(enforce_csrf_checks=True)
    strict.login(username="boss", password="pw-123456789")
    response = post_json(strict, "/admin/flows/rule/sandbox/", {"pattern": {}, "event": {}})
    assert response.status_code == 403
    strict.get("/admin/")
    token = strict.cookies["csrftoken"].value
    ok = post_json(
        strict,
        "/admin/flows/rule/sandbox/",
        {"pattern": {"a": [1]}, "event": {"a": 1}},
        HTTP_X_CSRFTOKEN=token,
    )
    assert ok.status_code == 200 and ok.json()["matches"] is True
    assert strict.get("/admin/flows/rule/sandbox/").status_code == 405


def published_on(bus: MessageChannel, events: list[dict]) -> None:
    run = Run.objects.create(topology=bus.topology, seed=1, status="stopped")
    Hop.objects.bulk_create(
        Hop(
            run=run,
            seq=i,
            msg=f"00000000-0000-4000-8000-{i:012d}",
            type="OrderPlaced",
            kind="event",
            stage="published",
            from_node="producer:1",
            to_node=bus.node_id,
            at=i,
            detail={"payload": event},
        )
        for i, event in enumerate(events, start=1)
    )


def test_whatif_counts_what_the_draft_would_match_and_per_target_change(
    admin_client: Client, rule: Rule
) -> None:
    events = [
        {"id": f"e{i}", "detail-type": "OrderPlaced", "detail": {"total": total}}
        for i, total in enumerate([100, 450, 600, 900])
    ] + [{"id": "n1", "detail-type": "NewsletterSignedUp", "detail": {}}]
    published_on(rule.bus, events)
    answer = post_json(
        admin_client,
        "/admin/flows/rule/whatif/",
        {
            "bus": rule.bus_id,
            "rule": rule.pk,
            "limit": 100,
            "pattern": {"detail": {"total": [{"numeric": [">", 400]}]}},
        },
    ).json()
    assert answer["events"] == 5
    assert (answer["matched_before"], answer["matched_after"]) == (2, 3)
    assert answer["gained"] == ["e1"] and answer["lost"] == []
    assert answer["targets"] == [{"target": "fraud-review", "before": 2, "after": 3, "change": 1}]
    # The newsletter event matches no rule either way; orders always match every-order.
    assert answer["unmatched_before"] == answer["unmatched_after"] == 1


def test_whatif_needs_a_bus_and_a_sane_limit(admin_client: Client, rule: Rule) -> None:
    url = "/admin/flows/rule/whatif/"
    no_bus = post_json(admin_client, url, {"pattern": {"a": [1]}})
    assert no_bus.status_code == 400 and "bus" in no_bus.json()["error"]
    big = post_json(admin_client, url, {"pattern": {"a": [1]}, "bus": rule.bus_id, "limit": 10**9})
    assert big.status_code == 400 and "limit" in big.json()["error"]


def test_recent_events_lists_the_bus_traffic_newest_first(admin_client: Client, rule: Rule) -> None:
    published_on(rule.bus, [{"id": "old"}, {"id": "new"}])
    events = admin_client.get(f"/admin/flows/rule/recent-events/{rule.bus_id}/").json()["events"]
    assert [e["id"] for e in events] == ["new", "old"]
    assert admin_client.get("/admin/flows/rule/recent-events/999999/").status_code == 404


def test_rule_page_has_the_sandbox_and_a_json_editor(admin_client: Client, rule: Rule) -> None:
    page = admin_client.get(change_url(rule)).content.decode()
    assert 'id="rule-sandbox"' in page and "jsoneditor.min.js" in page
    assert 'class="vLargeTextField json-editor"' in page


def test_whatif_prefers_the_bus_archive(admin_client: Client, rule: Rule) -> None:
    import orjson

    from flows.engine.keys import RunKeys
    from flows.redis_state import client

    bus = rule.bus
    assert bus.archive_enabled  # the shop bus archives OrderPlaced
    published_on(bus, [{"id": "from-traffic", "detail-type": "OrderPlaced", "detail": {}}])
    run = Run.objects.create(topology=bus.topology, seed=2, status="stopped")
    archived = {"id": "from-archive", "detail-type": "OrderPlaced", "detail": {"total": 999}}
    key = RunKeys(run.pk).archive(bus.pk)
    client().delete(key)
    client().zadd(key, {orjson.dumps(archived): 1})
    try:
        answer = post_json(
            admin_client,
            "/admin/flows/rule/whatif/",
            {
                "bus": bus.pk,
                "rule": rule.pk,
                "pattern": {"detail-type": ["OrderPlaced"]},
            },
        ).json()
    finally:
        client().delete(key)
    assert answer["source"] == "archive" and answer["events"] == 1
    assert (answer["matched_before"], answer["matched_after"]) == (1, 1)
