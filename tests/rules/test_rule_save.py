"""rule_save: one definition of what changes routing, for admin and scenario files alike."""

from __future__ import annotations

import json
import textwrap
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from flows.formats.scenario import scenario_load
from flows.models import Rule
from flows.rules import RuleConflict, rule_save

pytestmark = pytest.mark.django_db

SCENARIO = """\
slug: r
name: R
channels:
  - {name: bus, kind: bus}
  - {name: audit, kind: queue}
  - {name: dlq, kind: queue}
consumers:
  - {name: fraud}
  - {name: billing}
rules:
  - name: big
    bus: bus
    description: Big orders.
    pattern: {detail: {total: [{numeric: [">", 500]}]}}
    targets:
      - {consumer: fraud}
"""


def load(text: str = SCENARIO) -> Rule:
    scenario_load(text=textwrap.dedent(text), origin="r.yaml")
    return Rule.objects.get(name="big")


def admin_post(client: Client, rule: Rule, *, targets: list[dict[str, Any]], **fields: Any):
    data: dict[str, Any] = {
        "bus": rule.bus_id,
        "name": rule.name,
        "description": rule.description,
        "event_pattern": json.dumps(rule.event_pattern),
        "enabled": "on",
        "loaded_version": rule.version,
        "targets-TOTAL_FORMS": str(len(targets)),
        "targets-INITIAL_FORMS": str(sum(1 for t in targets if t.get("id"))),
    }
    for i, target in enumerate(targets):
        row = {
            "id": "",
            "rule": rule.pk,
            "consumer": "",
            "channel": "",
            "input_paths_map": "",
            "input_template": "",
            "max_retries": "3",
            "dead_letter_queue": "",
            **target,
        }
        data.update({f"targets-{i}-{key}": value for key, value in row.items()})
    data.update(fields)
    return client.post(f"/admin/flows/rule/{rule.pk}/change/", data)


def target_row(rule: Rule, **changes: Any) -> dict[str, Any]:
    target = rule.targets.get()
    return {"id": target.pk, "consumer": target.consumer_id or "", **changes}


def test_a_target_destination_change_in_the_scenario_raises_the_version() -> None:
    rule = load()
    again = load(SCENARIO.replace("{consumer: fraud}", "{consumer: billing}"))
    assert (rule.version, again.version) == (1, 2)
    assert again.targets.get().consumer.name == "billing"


@pytest.mark.parametrize(
    "new_target",
    [
        "{consumer: fraud, max_retries: 9}",
        "{consumer: fraud, dead_letter_queue: dlq}",
        "{consumer: fraud, input_transformer: {InputTemplate: '\"x\"'}}",
        "{consumer: fraud}\n      - {channel: audit}",
    ],
    ids=["retries", "dead-letter queue", "transformer", "a second target"],
)
def test_every_target_routing_setting_raises_the_version_from_a_scenario(new_target: str) -> None:
    load()
    assert load(SCENARIO.replace("{consumer: fraud}", new_target)).version == 2


def test_a_description_or_name_only_change_keeps_the_version_from_a_scenario() -> None:
    load()
    rule = load(SCENARIO.replace("Big orders.", "Orders over 500."))
    assert (rule.version, rule.description) == (1, "Orders over 500.")


def test_reloading_an_unchanged_rule_writes_no_history() -> None:
    rule = load()
    load()
    assert rule.history.count() == 1


def test_a_target_destination_change_in_admin_raises_the_version(admin_client: Client) -> None:
    rule = load()
    billing = rule.bus.topology.consumers.get(name="billing")
    response = admin_post(admin_client, rule, targets=[target_row(rule, consumer=billing.pk)])
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.version == 2 and rule.targets.get().consumer == billing


def test_adding_a_target_in_admin_raises_the_version(admin_client: Client) -> None:
    rule = load()
    audit = rule.bus.topology.channels.get(name="audit")
    rows = [target_row(rule), {"channel": audit.pk}]
    assert admin_post(admin_client, rule, targets=rows).status_code == 302
    rule.refresh_from_db()
    assert rule.version == 2 and rule.targets.count() == 2


def test_a_description_or_name_only_change_in_admin_keeps_the_version(
    admin_client: Client, admin_user: User
) -> None:
    rule = load()
    response = admin_post(
        admin_client, rule, targets=[target_row(rule)], name="large", description="Renamed."
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.version, rule.name, rule.description) == (1, "large", "Renamed.")
    last = rule.history.latest("history_date")
    assert last.history_user == admin_user
    assert last.history_change_reason == "admin: name, description"


def test_one_admin_save_of_rule_and_targets_is_one_version_and_one_history_record(
    admin_client: Client,
) -> None:
    rule = load()
    rows = [target_row(rule, max_retries="5")]
    pattern = json.dumps({"detail-type": ["OrderPlaced"]})
    assert admin_post(admin_client, rule, targets=rows, event_pattern=pattern).status_code == 302
    rule.refresh_from_db()
    assert rule.version == 2 and rule.history.count() == 2
    assert rule.history.latest("history_date").history_change_reason == "admin: pattern, targets"


def test_saving_over_a_newer_version_is_refused_by_the_service() -> None:
    rule = load()
    stale = Rule.objects.get(pk=rule.pk)
    load(SCENARIO.replace('">", 500', '">", 100'))
    stale.event_pattern = {"source": ["mine"]}
    with pytest.raises(RuleConflict, match="now version 2; you opened version 1"):
        rule_save(rule=stale, loaded_version=1)
    rule.refresh_from_db()
    assert rule.event_pattern == {"detail": {"total": [{"numeric": [">", 100]}]}}


def test_saving_over_a_newer_version_is_refused_in_admin(admin_client: Client) -> None:
    rule = load()
    load(SCENARIO.replace("{consumer: fraud}", "{consumer: billing}"))
    response = admin_post(admin_client, rule, targets=[], description="stale edit")
    assert response.status_code == 200
    assert "Your edits were not saved" in response.content.decode()
    rule.refresh_from_db()
    assert rule.description == "Big orders." and rule.version == 2


def test_the_history_record_names_the_scenario_file() -> None:
    load()
    rule = load(SCENARIO.replace('">", 500', '">", 100'))
    assert rule.history.latest("history_date").history_change_reason == "scenario r.yaml: pattern"
