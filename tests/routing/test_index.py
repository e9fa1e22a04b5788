"""RuleIndex: the rule set API, agreement with EventPattern, and cost independent of size."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest

from flows.routing import EventPattern, IndexStats, InvalidPattern, MatchCounter, RuleIndex

# --- the rule set API ----------------------------------------------------------------


def test_matching_returns_the_ids_of_every_matching_rule():
    idx = RuleIndex()
    idx.add("orders", {"source": ["shop.orders"]})
    idx.add("big", {"detail": {"total": [{"numeric": [">", 100]}]}})
    idx.add("refunds", {"source": ["shop.refunds"]})
    event = {"source": "shop.orders", "detail": {"total": 250}}
    assert idx.matching(event) == {"orders", "big"}
    assert idx.matching({"source": "other"}) == set()


def test_add_accepts_an_event_pattern_a_dict_or_json_text():
    idx = RuleIndex()
    idx.add(1, EventPattern({"a": ["x"]}))
    idx.add(2, {"a": ["x"]})
    idx.add(3, '{"a": ["x"]}')
    idx.add(4, b'{"a": ["x"]}')
    assert idx.matching({"a": "x"}) == {1, 2, 3, 4}


def test_matching_accepts_json_text():
    idx = RuleIndex()
    idx.add("r", {"a": ["x"]})
    assert idx.matching('{"a": "x"}') == {"r"}
    assert idx.matching(b'{"a": "y"}') == set()


def test_re_adding_an_id_replaces_its_pattern():
    idx = RuleIndex()
    idx.add("r", {"a": ["x"]})
    idx.add("r", {"a": ["y"]})
    assert len(idx) == 1
    assert idx.matching({"a": "x"}) == set()
    assert idx.matching({"a": "y"}) == {"r"}
    assert idx.get("r") == EventPattern({"a": ["y"]})


def test_an_invalid_pattern_leaves_the_index_unchanged():
    idx = RuleIndex()
    idx.add("r", {"a": ["x"]})
    with pytest.raises(InvalidPattern):
        idx.add("r", {"a": []})
    assert idx.matching({"a": "x"}) == {"r"}


def test_remove_forgets_the_rule():
    idx = RuleIndex()
    idx.add("r", {"a": ["x"]})
    idx.add("s", {"a": ["x"]})
    idx.remove("r")
    assert "r" not in idx
    assert idx.matching({"a": "x"}) == {"s"}


def test_remove_of_an_unknown_id_raises_key_error_and_discard_does_not():
    idx = RuleIndex()
    with pytest.raises(KeyError):
        idx.remove("nope")
    idx.discard("nope")


def test_len_contains_iteration_and_get():
    idx = RuleIndex()
    idx.add("a", {"x": [1]})
    idx.add("b", {"x": [2]})
    assert len(idx) == 2
    assert "a" in idx
    assert "c" not in idx
    assert set(idx) == {"a", "b"}
    assert idx.get("c") is None
    assert repr(idx) == "<RuleIndex: 2 rules>"


def test_or_rule_is_reported_once_whichever_alternatives_match():
    idx = RuleIndex()
    idx.add("r", {"$or": [{"a": ["1"]}, {"b": ["1"]}]})
    assert idx.matching({"a": "1", "b": "1"}) == {"r"}


def test_rules_sharing_a_first_condition_keep_their_own_continuations():
    idx = RuleIndex()
    idx.add("A", {"a": [1], "b": [2]})
    idx.add("B", {"a": [1], "c": [3]})
    assert idx.matching({"a": 1, "c": 3}) == {"B"}
    assert idx.matching({"a": 1, "b": 2, "c": 3}) == {"A", "B"}


def test_rules_with_overlapping_alternatives_do_not_borrow_each_others_values():
    idx = RuleIndex()
    idx.add("A", {"a": [1, 2], "b": [2]})
    idx.add("B", {"a": [1], "b": [3]})
    assert idx.matching({"a": 2, "b": 3}) == set()
    assert idx.matching({"a": 1, "b": 3}) == {"B"}


def test_index_matches_absent_fields_for_exists_false():
    idx = RuleIndex()
    idx.add("no-coupon", {"source": ["shop"], "detail": {"coupon": [{"exists": False}]}})
    assert idx.matching({"source": "shop", "detail": {}}) == {"no-coupon"}
    assert idx.matching({"source": "shop", "detail": {"coupon": "X"}}) == set()


def test_index_keeps_fields_of_one_array_element_together():
    idx = RuleIndex()
    idx.add("r", {"items": {"sku": ["a"], "qty": [2]}})
    assert idx.matching({"items": [{"sku": "a", "qty": 2}]}) == {"r"}
    assert idx.matching({"items": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 2}]}) == set()


def test_removing_every_rule_leaves_an_empty_machine():
    rng = random.Random(3)
    idx = RuleIndex()
    for i in range(200):
        idx.add(i, random_pattern(rng))
    full = idx.stats()
    assert full.rules == 200 and full.subrules >= 200 and full.steps > full.subrules
    assert full.states > 1 and full.first_paths and full.absent_paths
    assert set(full.value_indexes) == {"exact", "text", "any"}
    assert full.paths and full.counted_values
    for i in range(200):
        idx.remove(i)
    empty = idx.stats()
    # The root alone: no children, value indexes, exists: false entries, rules ending
    # there or steps below it; no paths read and no values counted for step order.
    assert (
        empty
        == RuleIndex().stats()
        == IndexStats(
            rules=0,
            subrules=0,
            steps=0,
            states=1,
            first_paths=frozenset(),
            value_indexes={},
            absent_paths=0,
            paths=0,
            counted_values=0,
        )
    )


def test_stats_describe_the_states_and_value_indexes_the_rules_build():
    idx = RuleIndex()
    idx.add("a", {"source": ["shop"], "detail": {"total": [{"numeric": [">", 100]}]}})
    idx.add("b", {"source": ["shop"], "detail": {"channel": [{"prefix": "web"}]}})
    idx.add("c", {"$or": [{"source": ["crm"]}, {"detail": {"coupon": [{"exists": False}]}}]})
    stats = idx.stats()
    assert (stats.rules, stats.subrules, stats.steps) == (3, 4, 6)
    # root -> source=shop (shared by a and b) -> total / channel; source=crm; coupon absent
    assert stats.states == 6
    assert stats.first_paths == {"source", "detail.coupon"}
    # root: exact strings on source; under source=shop: a range and a prefix, one each
    assert stats.value_indexes == {"exact": 1, "any": 1, "text": 1}
    assert stats.absent_paths == 1
    assert stats.paths == 4  # source, detail.total, detail.channel, detail.coupon
    assert stats.counted_values == 2  # source: "shop" and "crm"


# --- agreement with EventPattern ----------------------------------------------------------

STRINGS = [
    "red",
    "Red",
    "RED",
    "redwood",
    "green",
    "blue",
    "",
    "10.0.0.5",
    "10.0.1.9",
    "2001:db8::1",
    "2001:DB8:0:0:0:0:0:1",
    "a*b",
    "x.y",
    "ünï",
]
NUMBERS: list[float] = [0, 1, 2.5, -3, 100, 1e3, 7, 7.0]
PATHS = ["a", "b", "d.x", "d.y", "arr.k", "arr.v", "arr.sub.z", "tags"]


def random_clause_item(rng: random.Random) -> Any:
    kind = rng.randrange(22)
    if kind < 4:
        return rng.choice(STRINGS)
    if kind < 6:
        return rng.choice(NUMBERS)
    if kind == 6:
        return rng.choice([True, False, None])
    if kind == 7:
        return {"prefix": rng.choice(["r", "re", "", "10.", "gr"])}
    if kind == 8:
        return {"prefix": {"equals-ignore-case": rng.choice(["R", "rE", "GR"])}}
    if kind == 9:
        return {"suffix": rng.choice(["d", "ed", "wood", ".5", ""])}
    if kind == 10:
        return {"suffix": {"equals-ignore-case": rng.choice(["ED", "D", "Ue"])}}
    if kind == 11:
        return {"equals-ignore-case": rng.choice(["RED", "Blue", "ÜNÏ"])}
    if kind == 12:
        wildcards = ["r*", "*d", "*e*", "r*d", "a\\*b", "*", "10.*.5", "*o*o*"]
        return {"wildcard": rng.choice(wildcards)}
    if kind == 13:
        return {"anything-but": rng.choice(["red", 7, ["red", "blue"], [0, 100], "", 2.5])}
    if kind == 14:
        texts = {
            "prefix": ["r", "10."],
            "suffix": ["d", "e"],
            "equals-ignore-case": ["RED", "green"],
            "wildcard": ["*e*", "b*"],
        }
        modifier = rng.choice(list(texts))
        return {"anything-but": {modifier: rng.choice([texts[modifier][0], texts[modifier]])}}
    if kind in (15, 16):
        low = rng.choice(NUMBERS)
        if rng.random() < 0.25:
            return {"numeric": [rng.choice(["=", "<", "<=", ">", ">="]), low]}
        high = low + rng.choice([0.5, 1, 10, 200])
        return {"numeric": [rng.choice([">", ">="]), low, rng.choice(["<", "<="]), high]}
    if kind == 17:
        return {"cidr": rng.choice(["10.0.0.0/24", "10.0.0.0/8", "2001:db8::/32", "10.0.1.9/32"])}
    if kind == 18:
        return {"exists": True}
    return {"exists": False}


def _put(pattern: dict[str, Any], path: str, clause: list[Any], rng: random.Random) -> None:
    parts = path.split(".")
    if len(parts) > 1 and rng.random() < 0.2:
        pattern[path] = clause  # the dotted spelling of the same field
        return
    node = pattern
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            return
    node[parts[-1]] = clause


def _random_fields(rng: random.Random, count: int) -> dict[str, Any]:
    pattern: dict[str, Any] = {}
    for path in rng.sample(PATHS, count):
        clause = [random_clause_item(rng) for _ in range(rng.choice([1, 1, 1, 2, 3]))]
        _put(pattern, path, clause, rng)
    return pattern


def random_pattern(rng: random.Random) -> dict[str, Any]:
    pattern = _random_fields(rng, rng.randint(1, 3))
    if rng.random() < 0.25:
        pattern["$or"] = [_random_fields(rng, rng.randint(1, 2)) for _ in range(rng.randint(2, 3))]
    return pattern


def _random_value(rng: random.Random) -> Any:
    r = rng.random()
    if r < 0.55:
        return rng.choice(STRINGS)
    if r < 0.85:
        return rng.choice(NUMBERS)
    return rng.choice([True, False, None])


def _maybe_array(rng: random.Random, make: Callable[[], Any]) -> Any:
    if rng.random() < 0.2:
        return [make() for _ in range(rng.randint(0, 3))]
    return make()


def random_event(rng: random.Random) -> dict[str, Any]:
    event: dict[str, Any] = {}
    for key in ("a", "b"):
        if rng.random() < 0.75:
            event[key] = _maybe_array(rng, lambda: _random_value(rng))
    if rng.random() < 0.8:
        event["d"] = _maybe_array(
            rng, lambda: {k: _random_value(rng) for k in ("x", "y") if rng.random() < 0.7}
        )
        if rng.random() < 0.1:
            event["d.x"] = _random_value(rng)

    def element() -> dict[str, Any]:
        el = {
            k: _maybe_array(rng, lambda: _random_value(rng))
            for k in ("k", "v")
            if rng.random() < 0.7
        }
        if rng.random() < 0.5:
            el["sub"] = _maybe_array(rng, lambda: {"z": _random_value(rng)})
        return el

    if rng.random() < 0.7:
        event["arr"] = [element() for _ in range(rng.randint(0, 3))]
    if rng.random() < 0.5:
        event["tags"] = [_random_value(rng) for _ in range(rng.randint(0, 3))]
    return event


def _expected(patterns: dict[int, EventPattern], event: dict[str, Any]) -> set[int]:
    return {rule_id for rule_id, pattern in patterns.items() if pattern.matches(event)}


@pytest.mark.parametrize("seed", [1, 2])
def test_index_agrees_with_each_pattern_on_random_rules_and_events(seed):
    rng = random.Random(seed)
    patterns = {i: EventPattern(random_pattern(rng)) for i in range(120)}
    events = [random_event(rng) for _ in range(100)]
    idx = RuleIndex()
    for rule_id, pattern in patterns.items():
        idx.add(rule_id, pattern)
    matched = 0
    for event in events:
        expected = _expected(patterns, event)
        assert idx.matching(event) == expected, event
        matched += len(expected)
    assert matched > 300  # the generator really produces matches

    for rule_id in list(patterns)[::2]:
        idx.remove(rule_id)
        del patterns[rule_id]
    for rule_id in list(patterns)[::3]:
        replacement = EventPattern(random_pattern(rng))
        idx.add(rule_id, replacement)
        patterns[rule_id] = replacement
    for event in events:
        assert idx.matching(event) == _expected(patterns, event), event


def _numeric_clause(rng: random.Random) -> dict[str, Any]:
    low = rng.randint(-20, 20) / 2
    if rng.random() < 0.3:
        return {"numeric": [rng.choice(["=", "<", "<=", ">", ">="]), low]}
    high = low + rng.randint(1, 10) / 2
    return {"numeric": [rng.choice([">", ">="]), low, rng.choice(["<", "<="]), high]}


def _cidr_clause(rng: random.Random) -> dict[str, Any]:
    if rng.random() < 0.2:
        return {"cidr": f"2001:db8:{rng.randrange(4):x}::/{rng.choice([48, 64, 126])}"}
    return {
        "cidr": f"10.{rng.randrange(3)}.{rng.randrange(4)}.{rng.randrange(256)}/"
        f"{rng.choice([8, 16, 24, 30, 32])}"
    }


def _string_clause(rng: random.Random) -> Any:
    word = "".join(rng.choice("ab") for _ in range(rng.randint(0, 4)))
    kind = rng.choice(["prefix", "suffix", "wildcard", "equals-ignore-case", "exact", "ic"])
    if kind == "exact":
        return word
    if kind == "wildcard":
        core = word or "b"  # "**" is not a valid wildcard
        return {"wildcard": rng.choice([f"{core}*", f"*{core}", f"*{core}*", f"a*{core}", word])}
    if kind == "ic":
        return {rng.choice(["prefix", "suffix"]): {"equals-ignore-case": word.upper()}}
    return {kind: word.upper() if kind == "equals-ignore-case" else word}


def _numeric_value(rng: random.Random) -> Any:
    return rng.randint(-24, 24) / 2


def _address(rng: random.Random) -> Any:
    if rng.random() < 0.2:
        return f"2001:db8:{rng.randrange(4):x}::{rng.randrange(8):x}"
    return f"10.{rng.randrange(3)}.{rng.randrange(4)}.{rng.randrange(256)}"


def _word(rng: random.Random) -> Any:
    return "".join(rng.choice("abAB") for _ in range(rng.randint(0, 6)))


@pytest.mark.parametrize(
    ("make_clause", "make_value"),
    [(_numeric_clause, _numeric_value), (_cidr_clause, _address), (_string_clause, _word)],
    ids=["numeric-ranges", "cidr-blocks", "string-operators"],
)
def test_index_agrees_with_patterns_when_many_rules_share_one_field(make_clause, make_value):
    # Hundreds of clauses on one field exercise the segment trees and affix buckets.
    rng = random.Random(11)
    patterns = {i: EventPattern({"f": [make_clause(rng)]}) for i in range(200)}
    idx = RuleIndex()
    for rule_id, pattern in patterns.items():
        idx.add(rule_id, pattern)
    for _ in range(100):
        event = {"f": make_value(rng)}
        assert idx.matching(event) == _expected(patterns, event), event
    for rule_id in range(0, 200, 2):
        idx.remove(rule_id)
        del patterns[rule_id]
    for _ in range(60):
        event = {"f": make_value(rng)}
        assert idx.matching(event) == _expected(patterns, event), event


def test_index_agrees_with_patterns_when_rules_start_on_many_different_fields():
    # More first fields than the event has leaves: the index reads the whole event instead.
    rng = random.Random(5)
    keys = [f"k{i}" for i in range(80)]
    patterns = {}
    for i in range(160):
        key = rng.choice(keys)
        clause = [rng.choice(["x", "y", {"prefix": "x"}, {"exists": True}])]
        pattern: dict[str, Any] = {"items": {key: clause}} if i % 3 else {key: clause}
        if i % 4 == 0:
            pattern["kind"] = ["a"]
        patterns[i] = EventPattern(pattern)
    idx = RuleIndex()
    for rule_id, pattern in patterns.items():
        idx.add(rule_id, pattern)
    for _ in range(60):
        event: dict[str, Any] = {k: rng.choice(["x", "y", "xz"]) for k in rng.sample(keys, 6)}
        event["kind"] = rng.choice(["a", "b"])
        event["items"] = [{k: rng.choice(["x", "y"]) for k in rng.sample(keys, 3)} for _ in "ab"]
        if rng.random() < 0.3:
            event[f"items.{rng.choice(keys)}"] = "x"
        assert idx.matching(event) == _expected(patterns, event), event


# --- cost does not grow with the number of rules -----------------------------------------


def _lookups_per_event(rule_count: int) -> int:
    counter = MatchCounter()
    idx = RuleIndex(counter=counter)
    for i in range(rule_count):
        idx.add(
            i,
            {
                "source": [f"app.{i}"],
                "detail-type": ["OrderPlaced"],
                "detail": {
                    "total": [{"numeric": [">", i % 100]}],
                    "channel": [{"prefix": f"web-{i % 7}"}],
                },
            },
        )
    event = {
        "source": "app.5",
        "detail-type": "OrderPlaced",
        "detail": {"total": 50, "channel": "web-5-mobile"},
    }
    assert idx.matching(event) == {5}
    assert counter.lookups
    return counter.lookups


def test_matching_work_does_not_grow_with_the_number_of_rules():
    assert _lookups_per_event(10) == _lookups_per_event(1000)


def test_the_field_that_tells_rules_apart_is_looked_up_first():
    # Rules differ by source but share one of 7 detail-types: path order would try the
    # detail-type first and reach a seventh of the rules; the index starts with source.
    counter = MatchCounter()
    idx = RuleIndex(counter=counter)
    for i in range(700):
        idx.add(i, {"source": [f"svc.{i}"], "detail-type": [f"T{i % 7}"]})
    assert idx.matching({"source": "svc.15", "detail-type": "T1"}) == {15}
    assert 1 <= counter.lookups <= 4


def test_counting_lookups_changes_no_result_and_adds_up_over_matchings():
    rng = random.Random(4)
    patterns = {i: EventPattern(random_pattern(rng)) for i in range(60)}
    counter = MatchCounter()
    counted, plain = RuleIndex(counter=counter), RuleIndex()
    for rule_id, pattern in patterns.items():
        counted.add(rule_id, pattern)
        plain.add(rule_id, pattern)
    events = [random_event(rng) for _ in range(40)]
    for event in events:
        assert counted.matching(event) == plain.matching(event)
    first = counter.lookups
    assert first > len(events)
    for event in events:
        counted.matching(event)
    assert counter.lookups == 2 * first


# --- step order: expected pass rates, exists: false, re-ordering as rules change ---------

_TYPES = ["Order Placed", "Inventory Low", "Order Shipped", "Refund", "A", "B", "C", "D"]


def _bus_rule(rng: random.Random, i: int) -> dict[str, Any]:
    # A rare list of common detail-types, with a source only ten rules share.
    rule: dict[str, Any] = {
        "source": [f"svc.{i % 150}"],
        "detail-type": rng.sample(_TYPES, rng.randint(1, 3)),
    }
    if rng.random() < 0.3:
        rule["detail"] = {"state": rng.sample(["new", "paid", "sent"], rng.randint(1, 2))}
    if rng.random() < 0.2:
        rule.setdefault("detail", {})["items"] = {"sku": [f"k{rng.randrange(4)}"]}
    if rng.random() < 0.2:
        rule.setdefault("detail", {})["coupon"] = [{"exists": False}]
    return rule


def _bus_event(rng: random.Random) -> dict[str, Any]:
    detail: dict[str, Any] = {"state": rng.choice(["new", "paid", "sent"])}
    if rng.random() < 0.5:
        detail["items"] = [
            {"sku": f"k{rng.randrange(4)}", **({"coupon": "x"} if rng.random() < 0.5 else {})}
            for _ in range(rng.randint(1, 3))
        ]
    if rng.random() < 0.3:
        detail["coupon"] = "y"
    return {
        "source": f"svc.{rng.randrange(160)}",
        "detail-type": rng.choice(_TYPES),
        "detail": detail,
    }


def test_rare_lists_of_common_values_do_not_lead_and_results_stay_exact():
    # Each detail-type list is rare as a list but passes many events; the source names
    # one of 150 values. Through adds, removes, re-adds and re-orderings, every rule's
    # walk starts with source and the results equal EventPattern's.
    rng = random.Random(11)
    idx = RuleIndex()
    patterns: dict[int, EventPattern] = {}
    events = [_bus_event(rng) for _ in range(150)]
    next_id = 0
    for round_number in range(6):
        for _ in range(250):
            patterns[next_id] = EventPattern(_bus_rule(rng, next_id))
            idx.add(next_id, patterns[next_id])
            next_id += 1
        for rule_id in rng.sample(sorted(patterns), 120):
            idx.remove(rule_id)
            del patterns[rule_id]
        for rule_id in rng.sample(sorted(patterns), 40):
            del patterns[rule_id]  # re-adding an id moves it last
            patterns[rule_id] = EventPattern(_bus_rule(rng, rule_id))
            idx.add(rule_id, patterns[rule_id])
        assert list(idx) == list(patterns)
        if round_number in (0, 5):
            for event in events:
                assert idx.matching(event) == _expected(patterns, event), event
    assert idx.stats().first_paths == {"source"}
    for rule_id in list(patterns):
        idx.remove(rule_id)
    assert idx.stats() == RuleIndex().stats()


def test_an_order_decided_early_is_revised_as_values_accumulate():
    # The first rules see one source and many detail-types, so they start on source's
    # rival; once sources outnumber detail-types, the re-ordering moves them.
    idx = RuleIndex()
    idx.add("early", {"source": ["svc.0"], "detail-type": ["A"]})
    for i in range(1, 4):
        idx.add(f"t{i}", {"detail-type": [f"T{i}"]})
    assert idx.stats().first_paths == {"detail-type"}
    for i in range(1, 400):
        idx.add(i, {"source": [f"svc.{i}"], "detail-type": ["A"]})
    assert idx.walk_order("early") == (("source", "detail-type"),)
    assert idx.matching({"source": "svc.0", "detail-type": "A"}) == {"early"}
    assert idx.matching({"source": "svc.7", "detail-type": "A"}) == {7}


def test_exists_false_keeps_path_order_only_under_its_own_top_level_key():
    # detail.coupon (exists: false) must be judged after detail.items.sku chose an array
    # element; source, under another top-level key, can go first.
    patterns = {
        i: EventPattern(
            {
                "source": [f"svc.{i}"],
                "detail": {"items": {"sku": ["a"], "coupon": [{"exists": False}]}},
            }
        )
        for i in range(50)
    }
    idx = RuleIndex()
    for rule_id, pattern in patterns.items():
        idx.add(rule_id, pattern)
    assert idx.stats().first_paths == {"source"}
    assert idx.walk_order(3) == (("source", "detail.items.coupon", "detail.items.sku"),)
    events = [
        {"source": "svc.3", "detail": {"items": [{"sku": "a"}]}},
        {"source": "svc.3", "detail": {"items": [{"sku": "a", "coupon": "c"}]}},
        {"source": "svc.3", "detail": {"items": [{"sku": "a", "coupon": "c"}, {"sku": "b"}]}},
        {"source": "svc.3", "detail": {"items": [{"sku": "b", "coupon": "c"}, {"sku": "a"}]}},
        {"source": "svc.3", "detail": {"items": [{"coupon": "c"}, {"sku": "a"}]}},
        {"source": ["svc.3", "svc.4"], "detail": {"items": [{"sku": "a"}, {"sku": "a"}]}},
    ]
    for event in events:
        assert idx.matching(event) == _expected(patterns, event), event
    assert idx.matching(events[0]) == {3}
    assert idx.matching(events[1]) == set()


def test_exists_false_rules_with_arrays_of_objects_agree_with_patterns_at_random():
    rng = random.Random(5)
    patterns = {i: EventPattern(_bus_rule(rng, i)) for i in range(400)}
    idx = RuleIndex()
    for rule_id, pattern in patterns.items():
        idx.add(rule_id, pattern)
    for _ in range(300):
        event = _bus_event(rng)
        assert idx.matching(event) == _expected(patterns, event), event


def test_arrays_of_arrays_of_numbers_need_no_element_tracking():
    # Like GeoJSON coordinates: no other path can see inside, so no array chain.
    from flows.routing.fields import LazyFields, plan_path, resolve

    event = {"geometry": {"coordinates": [[[1.5, 2.5, 0.0], [3.5, 4.5, 0.0]]]}}
    found = resolve(event, plan_path("geometry.coordinates"))
    assert found == ([1.5, 2.5, 0.0, 3.5, 4.5, 0.0], [()] * 6)
    fields = LazyFields(event, {"geometry.coordinates": plan_path("geometry.coordinates")})
    assert fields.get("geometry.coordinates") == found
    # With an object inside, elements are tracked as before.
    mixed = {"a": [[1, {"b": 2}], [3]]}
    values, chains = resolve(mixed, plan_path("a"))
    assert values == [1, 3] and all(chains)
    patterns = {
        0: EventPattern({"geometry": {"coordinates": [{"numeric": [">", 3, "<", 4]}]}}),
        1: EventPattern({"a": [3], "a.b": [2]}),
        2: EventPattern({"a": [1], "a.b": [2]}),
    }
    idx = RuleIndex()
    for rule_id, pattern in patterns.items():
        idx.add(rule_id, pattern)
    for item in (event, mixed):
        assert idx.matching(item) == _expected(patterns, item)
    assert idx.matching(mixed) == {2}


def test_long_arrays_on_numeric_rules_read_numbers_by_value_and_skip_other_values():
    # Four or more values on an index of numbers and ranges only take a batch path: it
    # must treat 5 and 5.0 alike, ignore booleans, strings, nulls and ints too big for a
    # double, and match once per rule however often a value repeats.
    patterns = {
        0: EventPattern({"v": [{"numeric": ["=", 5]}]}),
        1: EventPattern({"v": [{"numeric": [">", 100, "<=", 200]}]}),
        2: EventPattern({"v": [7.5]}),
        3: EventPattern({"v": [{"numeric": ["<", 0]}]}),
    }
    idx = RuleIndex()
    for rule_id, pattern in patterns.items():
        idx.add(rule_id, pattern)
    events = [
        {"v": [5.0, 5, 5, 150, True, "5", None]},
        {"v": [1, 2, 3, 7.5, 7.5, 10**400]},
        {"v": [True, False, "-1", 201, 100]},
        {"v": [[1, [2, [-3]]], 4, 5.0, 6]},
    ]
    for event in events:
        assert idx.matching(event) == _expected(patterns, event), event
    assert [idx.matching(event) for event in events] == [{0, 1}, {2}, set(), {0, 3}]


def test_values_in_arrays_of_objects_need_tracking_only_when_a_later_step_shares_the_key():
    counter = MatchCounter()
    patterns = {
        "sku": EventPattern({"source": ["s"], "detail": {"items": {"sku": ["a"]}}}),
        "pair": EventPattern({"source": ["t"], "detail": {"items": {"sku": ["a"], "qty": [2]}}}),
        "none": EventPattern(
            {"source": ["t"], "detail": {"items": {"coupon": [{"exists": False}]}}}
        ),
    }
    idx = RuleIndex(counter=counter)
    for rule_id, pattern in patterns.items():
        idx.add(rule_id, pattern)
    items = [{"sku": "a", "qty": 1, "coupon": "c"}, {"sku": "b", "qty": 2}]
    event = {"source": "s", "detail": {"items": items}}
    assert idx.matching(event) == {"sku"} == _expected(patterns, event)
    assert counter.tracked_walks == 0  # one step under detail per rule: elements cannot conflict
    for source in ("t", ["s", "t"]):
        event = {"source": source, "detail": {"items": items}}
        assert idx.matching(event) == _expected(patterns, event)
    assert counter.tracked_walks == 2
    event = {"source": "t", "detail": {"items": [{"sku": "a", "qty": 2}]}}
    assert idx.matching(event) == {"pair", "none"} == _expected(patterns, event)
