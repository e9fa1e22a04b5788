"""Reading YAML documents within bounds: nothing a small file says can cost gigabytes."""

from __future__ import annotations

import time

import pytest

from flows.formats import yamldoc

# A classic "billion laughs": 9 levels of 9 aliases, ~387 million values once expanded,
# in a few hundred bytes.
ALIAS_BOMB = "\n".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(
            f"{chr(ord('a') + i + 1)}: &{chr(ord('a') + i + 1)} "
            + "["
            + ",".join([f"*{chr(ord('a') + i)}"] * 9)
            + "]"
            for i in range(8)
        ),
    ]
)


def test_reads_a_mapping_with_the_line_of_every_key() -> None:
    doc = yamldoc.parse("name: shop\nchannels:\n  - name: orders\n    kind: queue\n", "x.yaml")
    assert doc.data == {"name": "shop", "channels": [{"name": "orders", "kind": "queue"}]}
    assert doc.lines[("channels", 0, "kind")] == 4
    assert doc.where(("channels", 0, "kind")) == "x.yaml line 4: channels[0].kind"


def test_an_alias_bomb_is_refused_before_anything_is_built() -> None:
    assert len(ALIAS_BOMB) < 600
    started = time.monotonic()
    with pytest.raises(yamldoc.DocumentError, match="expands to more than 200,000 values"):
        yamldoc.parse(ALIAS_BOMB, "bomb.yaml")
    assert time.monotonic() - started < 5  # refused by counting, not by expanding


def test_a_few_aliases_within_the_bound_are_read() -> None:
    doc = yamldoc.parse("base: &b {rate: 2}\none: *b\ntwo: *b\n")
    assert doc.data == {"base": {"rate": 2}, "one": {"rate": 2}, "two": {"rate": 2}}


def test_a_recursive_alias_is_refused() -> None:
    with pytest.raises(yamldoc.DocumentError, match="recursive alias"):
        yamldoc.parse("a: &a [1, *a]\n", "loop.yaml")


def test_nesting_past_the_depth_limit_is_refused() -> None:
    deep = "[" * 100 + "]" * 100
    with pytest.raises(yamldoc.DocumentError, match="nested deeper than 64 levels"):
        yamldoc.parse(deep, "deep.yaml")


def test_very_deep_nesting_does_not_crash_the_reader() -> None:
    deep = "[" * 5000 + "]" * 5000
    with pytest.raises(yamldoc.DocumentError, match="nested"):
        yamldoc.parse(deep, "deeper.yaml")


def test_a_document_over_the_size_limit_is_refused_with_the_limit() -> None:
    with pytest.raises(yamldoc.DocumentError, match="at most 1,000 are read"):
        yamldoc.parse("a: " + "x" * 2000, "big.yaml", max_bytes=1000)


def test_the_error_class_is_the_callers() -> None:
    class Mine(ValueError):
        pass

    with pytest.raises(Mine, match="duplicate key"):
        yamldoc.parse("a: 1\na: 2\n", "dup.yaml", error=Mine)


def test_broken_yaml_names_the_line() -> None:
    with pytest.raises(yamldoc.DocumentError, match=r"broken.yaml line 2: not valid YAML"):
        yamldoc.parse("a: [1,\nb: }\n", "broken.yaml")
