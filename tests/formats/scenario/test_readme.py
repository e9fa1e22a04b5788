"""The README's scenario example is a scenario that loads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from flows.formats.scenario import scenario_dump, scenario_load

pytestmark = pytest.mark.django_db

README = Path(__file__).resolve().parents[3] / "README.md"


def test_the_readme_scenario_example_loads() -> None:
    text = README.read_text()
    example = re.search(r"### Scenario files\n\n```yaml\n(.*?)```", text, re.S)
    assert example, "README lost its scenario example"
    topology = scenario_load(text=example.group(1), origin="README.md")
    dumped = scenario_dump(topology)
    assert {c["kind"] for c in dumped["channels"]} == {"queue", "bus", "topic", "direct"}
    assert any(s.get("mirror_of") == "billing" for s in dumped["subscriptions"])
