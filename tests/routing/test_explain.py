"""One explanation of failed clauses, worded per service (EventBridge pattern, SNS policy)."""

from __future__ import annotations

from flows.routing import MISSING, EventPattern, FilterPolicy

BODY = "MessageBody"


def test_the_same_failures_are_worded_as_each_service_words_them():
    clause = {"store": ["a", "b"], "price": [{"numeric": [">", 10]}]}
    message = {"price": "5"}
    pattern = [m.message for m in EventPattern(clause).explain(message)]
    body = [m.message for m in FilterPolicy(clause, scope=BODY).explain(message)]
    attributes = [m.message for m in FilterPolicy(clause).explain(message)]
    # EventBridge lists by path, in compact JSON; SNS in its step order (exact values
    # first), in spaced JSON, naming properties or attributes, hinting at its type rules.
    assert pattern == [
        'price is "5", which does not match [{"numeric":[">",10]}]',
        'store is missing; the pattern expects ["a","b"]',
    ]
    assert body == [
        'property store is missing; the policy expects ["a", "b"]',
        'price is "5", which does not match [{"numeric": [">", 10]}]',
    ]
    assert attributes == [
        'attribute store is missing; the policy expects ["a", "b"]',
        'price is "5", which does not match [{"numeric": [">", 10]}]'
        " (a String attribute is not matched by numeric conditions)",
    ]
    absent = {"gift": [{"exists": False}]}
    assert [m.message for m in EventPattern(absent).explain({"gift": True})] == [
        "gift is true but the pattern requires it to be absent"
    ]
    assert [m.message for m in FilterPolicy(absent, scope=BODY).explain({"gift": True})] == [
        "gift is true but the policy requires it to be absent"
    ]


def test_array_consistency_is_located_by_eventbridge_and_left_unlocated_by_sns():
    clause = {"items": {"sku": ["a"], "qty": [2]}}
    message = {"items": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 2}]}
    (pattern,) = EventPattern(clause).explain(message)
    (policy,) = FilterPolicy(clause, scope=BODY).explain(message)
    assert (pattern.path, pattern.actual) == (
        "items",
        {"items.qty": [1, 2], "items.sku": ["a", "b"]},
    )
    assert pattern.message.startswith("every field matches on its own")
    assert (policy.path, policy.actual) == ("", MISSING)
    assert policy.message.startswith("every property matches on its own")
    assert pattern.expected == policy.expected == {"items.sku": ["a"], "items.qty": [2]}


def test_a_mismatch_holds_copies_so_changing_it_changes_no_later_explanation():
    for rule in (EventPattern({"a": ["x"]}), FilterPolicy({"a": ["x"]})):
        (first,) = rule.explain({"a": "y"})
        first.expected.append("changed")
        (again,) = rule.explain({"a": "y"})
        assert again.expected == ["x"]
