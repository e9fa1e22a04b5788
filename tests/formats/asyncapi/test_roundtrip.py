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


@pytest.mark.parametrize(
    "name", ["orders-3.0.yaml", "signup-2.6.yaml", "bus-and-refusals-3.0.yaml"]
)
def test_an_imported_document_exports_valid_and_imports_back_the_same(name: str) -> None:
    from pathlib import Path

    path = Path(__file__).parent / "fixtures" / name
    first = asyncapi_import(text=path.read_text(), origin=name)
    assert first.ok, first.text()
    text = asyncapi_export(first.topology)
    assert asyncapi_problems(yaml.safe_load(text)) == []
    again = asyncapi_import(text=text, origin=name, slug=f"{first.topology.slug}-again")
    assert again.ok and not again.of("refused"), again.text()
    assert comparable(again.topology) == comparable(first.topology)
