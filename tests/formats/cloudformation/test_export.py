"""Export to CloudFormation: cfn-lint accepts it and importcfn reads back the same topology."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from cfnlint.api import lint_all
from django.core.management import call_command

from flows.formats.cloudformation import cfn_import
from flows.formats.cloudformation.export import cfn_export
from flows.formats.scenario import scenario_load_file, shipped_scenarios
from tests.formats.roundtrip import comparable

pytestmark = pytest.mark.django_db

SCENARIOS = [p.stem for p in shipped_scenarios()]


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_shipped_scenario_round_trips_through_cloudformation(name: str) -> None:
    topology = scenario_load_file(name)
    text = cfn_export(topology)
    report = cfn_import(text=text, origin=f"{name}.yaml", slug=f"{name}-copy")
    assert report.ok, report.text()
    assert not report.of("refused") and not report.of("unresolved"), report.text()
    assert comparable(report.topology) == comparable(topology)


@pytest.mark.parametrize("name", SCENARIOS)
def test_cfn_lint_accepts_every_exported_template(name: str) -> None:
    text = cfn_export(scenario_load_file(name))
    # Errors and warnings, as the cfn-lint command reports by default (not informational).
    problems = [
        f"{m.rule.id} {m.message} line {m.linenumber}"
        for m in lint_all(text)
        if m.rule.id[0] in "EW"
    ]
    assert problems == []


def test_the_export_without_metadata_still_imports_its_architecture() -> None:
    """Another tool may drop Metadata: the resources alone carry the routing."""
    topology = scenario_load_file("content-based-routing")
    template = yaml.safe_load(cfn_export(topology))
    template.pop("Metadata")
    for resource in template["Resources"].values():
        resource.pop("Metadata", None)
    report = cfn_import(text=yaml.safe_dump(template), origin="bare.yaml")
    assert report.ok, report.text()
    copy = comparable(report.topology, producers=False)
    assert len(copy["rules"]) == len(comparable(topology)["rules"])

    def patterns(dump: dict) -> set[str]:
        return {json.dumps(r["pattern"], sort_keys=True) for r in dump["rules"]}

    assert patterns(copy) == patterns(comparable(topology))


def test_export_command_prints_the_template(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    scenario_load_file("shop")
    call_command("export", "shop", "--format", "cloudformation")
    out = capsys.readouterr().out
    assert yaml.safe_load(out)["AWSTemplateFormatVersion"] == "2010-09-09"
