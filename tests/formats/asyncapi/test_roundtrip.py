"""Every shipped scenario goes out as AsyncAPI 3.0 (valid) and comes back the same topology."""

from __future__ import annotations

import pytest
import yaml

from flows.formats.asyncapi import asyncapi_export, asyncapi_import, asyncapi_problems
from flows.formats.scenario import scenario_load_file, shipped_scenarios
from tests.formats.roundtrip import comparable

pytestmark = pytest.mark.django_db

SCENARIOS = [p.stem for p in shipped_scenarios()]


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_shipped_scenario_round_trips_through_asyncapi(name: str) -> None:
    topology = scenario_load_file(name)
    text = asyncapi_export(topology)
    report = asyncapi_import(text=text, origin=f"{name}.asyncapi.yaml", slug=f"{name}-copy")
    assert report.ok, report.text()
    assert not report.of("refused"), report.text()
    assert comparable(report.topology) == comparable(topology)


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_export_validates_against_the_official_asyncapi_schema(name: str) -> None:
    document = yaml.safe_load(asyncapi_export(scenario_load_file(name)))
    assert document["asyncapi"] == "3.0.0"
    assert asyncapi_problems(document) == []
