"""Every shipped scenario describes itself and loads."""

from __future__ import annotations

import pytest

from flows.formats.scenario import (
    read,
    scenario_dump,
    scenario_dump_yaml,
    scenario_load,
    scenario_load_file,
    shipped_scenarios,
)
from flows.models import Topology

pytestmark = pytest.mark.django_db

TEACHING = (
    "commands-on-a-queue",
    "events-on-a-topic",
    "shared-queue-anti-pattern",
    "temporal-decoupling",
    "content-based-routing",
    "schema-coupling",
    "retries-dead-letters-redrive",
    "traffic-mirroring",
)


def test_the_teaching_scenarios_are_shipped() -> None:
    assert set(TEACHING) <= {p.stem for p in shipped_scenarios()}


@pytest.mark.parametrize("path", shipped_scenarios(), ids=lambda p: p.stem)
def test_shipped_scenario_has_a_description_and_loads(path) -> None:
    data = read(path.read_text(encoding="utf-8"), path.name).data
    assert data["slug"] == path.stem
    lines = [line for line in data.get("description", "").splitlines() if line.strip()]
    assert len(lines) >= 2, "a title idea, then what to watch and what to try"
    topology = scenario_load_file(path.stem)
    assert topology.description.strip() and topology.producers.exists()
    for producer in topology.producers.all():
        assert 1 <= producer.rate <= 5, producer.name  # slow enough for a human to follow
    for consumer in topology.consumers.all():
        assert 50 <= consumer.latency_mean_ms <= 300, consumer.name


@pytest.mark.parametrize("name", TEACHING)
def test_teaching_scenario_narrates_its_script(name: str) -> None:
    topology = scenario_load_file(name)
    assert topology.script and all(step.get("say") for step in topology.script)


@pytest.mark.parametrize("name", TEACHING)
def test_teaching_scenario_round_trips_through_dump(name: str) -> None:
    topology = scenario_load_file(name)
    dumped = scenario_dump(topology)
    text = scenario_dump_yaml(topology)
    Topology.objects.all().delete()
    again = scenario_load(text=text, origin="dump.yaml")
    assert scenario_dump(again) == dumped
