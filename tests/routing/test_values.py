"""Value indexes: one state's conditions on one path, looked up by event value."""

from __future__ import annotations

import random
from typing import Any

from flows.routing import EventPattern, MatchCounter
from flows.routing.matchers import Matcher
from flows.routing.values import ANY, EXACT, TEXT, ValueIndex


def matchers(*clause: Any) -> tuple[Matcher, ...]:
    ((step,),) = EventPattern({"f": list(clause)}).subrules
    return step.matchers


def lookup(index: ValueIndex, value: Any) -> list[Any]:
    out: list[Any] = []
    index.lookup(value, out)
    return out


def test_the_lookup_bound_follows_what_the_index_holds():
    index = ValueIndex()
    (exact,) = matchers("red")
    (prefix,) = matchers({"prefix": "gr"})
    (numeric,) = matchers({"numeric": [">", 1]})
    index.add(exact, "r")
    assert index.kind == EXACT
    index.add(prefix, "g")
    assert index.kind == TEXT
    index.add(numeric, "n")
    assert index.kind == ANY
    assert (lookup(index, "red"), lookup(index, "green"), lookup(index, 2)) == (["r"], ["g"], ["n"])
    index.remove(numeric, "n")
    assert (index.kind, lookup(index, 2)) == (TEXT, [])
    index.remove(prefix, "g")
    assert (index.kind, lookup(index, "green"), index.size) == (EXACT, [], 1)


def test_a_value_meeting_several_conditions_of_one_target_yields_it_once_per_condition():
    index = ValueIndex()
    for matcher in matchers("red", {"prefix": "re"}, {"suffix": "d"}):
        index.add(matcher, "t")
    assert lookup(index, "red") == ["t", "t", "t"]


def test_ranges_answer_alike_from_a_table_and_from_a_segment_tree():
    # Few ranges keep one answer per slot between endpoints; many go to a segment tree.
    rng = random.Random(2)
    for count in (5, 60):
        index = ValueIndex()
        ranges = []
        for i in range(count):
            low = rng.randint(-10, 10)
            clause = {"numeric": [rng.choice([">", ">="]), low, rng.choice(["<", "<="]), low + 3]}
            (matcher,) = matchers(clause)
            index.add(matcher, i)
            ranges.append(matcher)
        for value in [x / 2 for x in range(-26, 28)]:
            want = sorted(i for i, m in enumerate(ranges) if m.matches(value))
            assert sorted(lookup(index, value)) == want, (count, value)


def test_a_counter_sees_every_lookup():
    counter = MatchCounter()
    index = ValueIndex(counter)
    (exact,) = matchers("red")
    index.add(exact, "r")
    lookup(index, "red")
    index.lookup_all(["red", "blue"], [])
    assert counter.lookups == 3
