"""What a load writes: new rows in bulk (history kept), changed rows only, one touch."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from flows.formats.scenario import scenario_load, scenario_load_file
from flows.formats.scenario.dump import scenario_dump_yaml
from flows.models import Rule, Subscription, Target

pytestmark = pytest.mark.django_db


def history_counts() -> tuple[int, int, int]:
    return (
        Subscription.history.count(),
        Rule.history.count(),
        Target.history.count(),
    )


def test_loading_an_unchanged_scenario_again_writes_no_rows_and_no_history() -> None:
    scenario_load_file("shop")
    before = history_counts()
    with CaptureQueriesContext(connection) as queries:
        scenario_load_file("shop")
    writes = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith(("INSERT", "UPDATE", "DELETE")) and "flows_topology" not in q["sql"]
    ]
    assert writes == []
    assert history_counts() == before
    # Reads are per section, not per row: far fewer queries than rows.
    assert len(queries.captured_queries) < 60


def test_every_new_row_gets_its_creation_history_record() -> None:
    topology = scenario_load_file("shop")
    subscriptions = Subscription.objects.filter(channel__topology=topology)
    targets = Target.objects.filter(rule__bus__topology=topology)
    assert Subscription.history.filter(history_type="+").count() == subscriptions.count()
    assert Target.history.filter(history_type="+").count() == targets.count()


def test_a_new_mirror_is_created_whole_after_its_primary() -> None:
    topology = scenario_load_file("traffic-mirroring")
    mirror = Subscription.objects.get(channel__topology=topology, mirror_of__isnull=False)
    records = list(mirror.history.all())
    assert len(records) == 1 and records[0].mirror_of_id == mirror.mirror_of_id


def test_a_changed_row_is_saved_and_recorded_and_the_rest_left_alone() -> None:
    topology = scenario_load_file("events-on-a-topic")
    text = scenario_dump_yaml(topology)
    assert text.count("filter_scope: MessageBody\n") == 1
    text = text.replace(
        "filter_scope: MessageBody\n", "filter_scope: MessageBody\n  max_retries: 6\n"
    )
    before = Subscription.history.count()
    scenario_load(text=text, origin="edited.yaml")
    assert Subscription.history.count() == before + 1
    assert Subscription.objects.filter(channel__topology=topology, max_retries=6).count() == 1


def test_a_load_touches_its_topology_once(django_capture_on_commit_callbacks) -> None:
    with (
        mock.patch("flows.services.topology_touch") as touch,
        django_capture_on_commit_callbacks(execute=True),
    ):
        topology = scenario_load_file("shop")
    assert touch.call_args_list == [mock.call(topology_id=topology.pk)]
