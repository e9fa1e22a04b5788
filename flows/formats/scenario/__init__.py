"""Scenario files: a topology as YAML, loaded idempotently and dumped back.

Errors name the file, the line and the key path at fault, e.g.
``shop.yaml line 14: channels[2].kind: 'queu' is not one of ['queue', 'topic', ...]``.
"""

from flows.formats.scenario.dump import scenario_dump, scenario_dump_yaml
from flows.formats.scenario.load import (
    resolve,
    scenario_load,
    scenario_load_file,
    shipped_scenarios,
)
from flows.formats.scenario.schema import SCENARIO_SCHEMA, ScenarioError, read

__all__ = [
    "SCENARIO_SCHEMA",
    "ScenarioError",
    "read",
    "resolve",
    "scenario_dump",
    "scenario_dump_yaml",
    "scenario_load",
    "scenario_load_file",
    "shipped_scenarios",
]
