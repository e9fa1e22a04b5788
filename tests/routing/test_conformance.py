"""aws/event-ruler's own test cases, run through EventPattern and RuleIndex.

The corpus lives outside the project, in ``<project>/../shared/conformance/`` (override
the folder with EVENTVIZ_CONFORMANCE_DIR); see its README for how it was built.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from typing import Any

import pytest

from flows.routing import EventPattern, InvalidPattern, RuleIndex

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CORPUS_DIR = Path(
    os.environ.get("EVENTVIZ_CONFORMANCE_DIR", PROJECT_ROOT.parent / "shared" / "conformance")
)
CORPUS = CORPUS_DIR / "event_ruler_cases.json"


def _load_exclusions() -> dict[str, str]:
    # Loaded by path: tests/ has no __init__.py, so it is not an importable package.
    spec = importlib.util.spec_from_file_location(
        "conformance_exclusions", Path(__file__).with_name("conformance_exclusions.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.EXCLUSIONS


EXCLUSIONS = _load_exclusions()
CASES: list[dict[str, Any]] = json.loads(CORPUS.read_text()) if CORPUS.is_file() else []


def test_conformance_corpus_is_available():
    assert CORPUS.is_file(), f"conformance corpus not found at {CORPUS}"
    assert len(CASES) == 1860


def test_every_exclusion_names_a_case_of_the_corpus():
    ids = {case["id"] for case in CASES}
    assert set(EXCLUSIONS) <= ids, sorted(set(EXCLUSIONS) - ids)


def _params() -> list[Any]:
    params = []
    for case in CASES:
        marks = []
        if case["id"] in EXCLUSIONS:
            marks.append(pytest.mark.skip(reason=EXCLUSIONS[case["id"]]))
        params.append(pytest.param(case, id=case["id"], marks=marks))
    return params


@pytest.mark.parametrize("case", _params())
def test_event_ruler_case(case):
    expect = case["expect"]
    if expect == "invalid_pattern":
        with pytest.raises(InvalidPattern):
            EventPattern(case["pattern"])
        return
    pattern = EventPattern(case["pattern"])
    assert pattern.matches(case["event"]) is (expect == "match")
    index = RuleIndex()
    index.add(case["id"], pattern)
    assert index.matching(case["event"]) == ({case["id"]} if expect == "match" else set())


def test_one_index_holding_every_valid_pattern_agrees_with_the_corpus():
    index = RuleIndex()
    cases = [
        case
        for case in CASES
        if case["expect"] != "invalid_pattern" and case["id"] not in EXCLUSIONS
    ]
    for case in cases:
        index.add(case["id"], case["pattern"])
    wrong = [
        case["id"]
        for case in cases
        if (case["id"] in index.matching(case["event"])) is not (case["expect"] == "match")
    ]
    assert wrong == []
