"""Mermaid export: one node per part of the topology, one edge per way a message can go."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from flows.formats.mermaid import mermaid_export
from flows.formats.scenario import scenario_dump, scenario_load_file, shipped_scenarios

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", [p.stem for p in shipped_scenarios()])
def test_every_shipped_scenario_becomes_a_flowchart_with_every_node(name: str) -> None:
    topology = scenario_load_file(name)
    text = mermaid_export(topology)
    dump = scenario_dump(topology)
    assert text.startswith("flowchart LR\n")
    for section in ("channels", "consumers", "producers"):
        for item in dump.get(section, []):
            assert f'"{item["name"]}"' in text
    edges = [line for line in text.splitlines() if "-->" in line or "-.->" in line]
    expected = (
        len(dump.get("producers", []))
        + len(dump.get("subscriptions", []))
        + sum(len(r.get("targets", [])) for r in dump.get("rules", []))
    )
    assert len(edges) >= expected


def test_labels_escape_quotes_and_show_rule_names(capsys: pytest.CaptureFixture[str]) -> None:
    topology = scenario_load_file("content-based-routing")
    topology.name = 'Say "hi" <b>'
    topology.save()
    call_command("export", topology.slug, "--format", "mermaid")
    out = capsys.readouterr().out
    assert "Say #quot;hi#quot; #lt;b#gt;" in out
    assert '|"big-orders"|' in out or "-->|" in out
