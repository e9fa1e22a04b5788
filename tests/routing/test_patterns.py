"""Behaviour of EventPattern: every operator, matching and not, plus the public API."""

from __future__ import annotations

import json
import pickle

import pytest

from flows.routing import MISSING, EventPattern, Mismatch


def matches(pattern: dict, event: dict) -> bool:
    return EventPattern(pattern).matches(event)


# --- exact values -----------------------------------------------------------------


def test_exact_string_matches_the_same_string():
    assert matches({"source": ["shop.orders"]}, {"source": "shop.orders"})


def test_exact_string_is_case_sensitive_and_whole():
    assert not matches({"source": ["shop.orders"]}, {"source": "Shop.orders"})
    assert not matches({"source": ["shop"]}, {"source": "shop.orders"})


def test_list_of_values_matches_any_of_them():
    pattern = {"detail-type": ["OrderPlaced", "OrderCancelled"]}
    assert matches(pattern, {"detail-type": "OrderCancelled"})
    assert not matches(pattern, {"detail-type": "OrderShipped"})


def test_every_field_of_the_pattern_must_match():
    pattern = {"source": ["shop"], "detail-type": ["OrderPlaced"]}
    assert matches(pattern, {"source": "shop", "detail-type": "OrderPlaced"})
    assert not matches(pattern, {"source": "shop", "detail-type": "Other"})
    assert not matches(pattern, {"source": "shop"})


def test_fields_the_pattern_does_not_name_are_ignored():
    assert matches({"source": ["shop"]}, {"source": "shop", "id": "1", "detail": {"a": 1}})


def test_empty_string_matches_only_an_empty_string():
    assert matches({"name": [""]}, {"name": ""})
    assert not matches({"name": [""]}, {"name": "x"})
    assert not matches({"name": [""]}, {})


def test_number_matches_by_value_whatever_the_notation():
    assert matches({"n": [5]}, {"n": 5.0})
    assert matches({"n": [5.0]}, {"n": 5})
    assert matches({"n": [300]}, json.loads('{"n": 3e2}'))
    assert matches({"n": [301.8]}, json.loads('{"n": 3.018e2}'))
    assert not matches({"n": [5]}, {"n": 5.5})


def test_numbers_compare_with_full_double_precision():
    assert matches({"x": [27.807807921694092]}, {"x": 27.807807921694092})
    assert not matches({"x": [27.807807921694092]}, {"x": 27.807807})
    assert not matches({"x": [37.8078]}, {"x": 37.80780792})


def test_number_and_numeric_string_never_equal():
    assert not matches({"n": [5]}, {"n": "5"})
    assert not matches({"n": ["5"]}, {"n": 5})


def test_true_false_and_null_match_only_themselves():
    assert matches({"flag": [True]}, {"flag": True})
    assert not matches({"flag": [True]}, {"flag": 1})
    assert not matches({"flag": [True]}, {"flag": "true"})
    assert matches({"flag": [False]}, {"flag": False})
    assert not matches({"flag": [False]}, {"flag": 0})
    assert matches({"v": [None]}, {"v": None})
    assert not matches({"v": [None]}, {"v": "null"})


def test_null_pattern_does_not_match_a_missing_field():
    assert not matches({"v": [None]}, {})


def test_numeric_one_does_not_match_true():
    assert not matches({"n": [1]}, {"n": True})


def test_ip_address_literal_matches_any_spelling_of_that_address():
    assert matches({"ip": ["2001:db8::1"]}, {"ip": "2001:DB8:0:0:0:0:0:1"})
    assert matches({"ip": ["10.0.0.1"]}, {"ip": "10.0.0.1"})
    assert not matches({"ip": ["10.0.0.1"]}, {"ip": "10.0.0.2"})


# --- structure: nesting, dotted keys, arrays ----------------------------------------


def test_nested_object_matches_nested_fields():
    pattern = {"detail": {"order": {"status": ["paid"]}}}
    assert matches(pattern, {"detail": {"order": {"status": "paid"}}})
    assert not matches(pattern, {"detail": {"status": "paid"}})


def test_dotted_key_in_pattern_is_the_same_as_nesting():
    assert matches({"detail.status": ["paid"]}, {"detail": {"status": "paid"}})


def test_dotted_key_in_event_is_the_same_as_nesting():
    assert matches({"detail": {"status": ["paid"]}}, {"detail.status": "paid"})


def test_array_in_event_matches_if_any_element_matches():
    assert matches({"resources": ["arn:b"]}, {"resources": ["arn:a", "arn:b"]})
    assert not matches({"resources": ["arn:c"]}, {"resources": ["arn:a", "arn:b"]})


def test_array_of_objects_matches_a_field_of_any_element():
    event = {"items": [{"sku": "a"}, {"sku": "b"}]}
    assert matches({"items": {"sku": ["b"]}}, event)


def test_fields_from_an_array_of_objects_must_come_from_the_same_element():
    pattern = {"items": {"sku": ["a"], "qty": [2]}}
    assert matches(pattern, {"items": [{"sku": "a", "qty": 2}, {"sku": "b", "qty": 1}]})
    assert not matches(pattern, {"items": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 2}]})


def test_array_consistency_applies_through_nested_arrays():
    pattern = {"a": {"b": {"x": [1], "y": [2]}}}
    assert matches(pattern, {"a": [{"b": [{"x": 1, "y": 2}]}]})
    assert not matches(pattern, {"a": [{"b": [{"x": 1}, {"y": 2}]}]})


def test_fields_outside_the_array_combine_with_any_element():
    pattern = {"version": ["1"], "users": {"name": ["bob"]}}
    assert matches(pattern, {"version": "1", "users": [{"name": "al"}, {"name": "bob"}]})


def test_empty_array_in_event_counts_as_no_value():
    assert not matches({"tags": [{"exists": True}]}, {"tags": []})
    assert matches({"tags": [{"exists": False}]}, {"tags": []})


def test_object_in_event_is_not_a_value():
    assert not matches({"detail": ["x"]}, {"detail": {"a": "x"}})
    assert not matches({"detail": [{"exists": True}]}, {"detail": {"a": 1}})


# --- prefix / suffix / equals-ignore-case ---------------------------------------------


def test_prefix_matches_start_of_string():
    assert matches({"time": [{"prefix": "2017-10-02"}]}, {"time": "2017-10-02T18:43:48Z"})


def test_prefix_does_not_match_elsewhere_in_string():
    assert not matches({"time": [{"prefix": "10-02"}]}, {"time": "2017-10-02T18:43:48Z"})


def test_prefix_only_matches_strings():
    assert not matches({"n": [{"prefix": "12"}]}, {"n": 123})


def test_empty_prefix_matches_any_string():
    assert matches({"s": [{"prefix": ""}]}, {"s": "anything"})
    assert not matches({"s": [{"prefix": ""}]}, {"s": 1})


def test_prefix_ignoring_case_matches_any_casing():
    pattern = {"service": [{"prefix": {"equals-ignore-case": "EventB"}}]}
    assert matches(pattern, {"service": "eventbridge"})
    assert matches(pattern, {"service": "EVENTBRIDGE"})
    assert not matches(pattern, {"service": "bridge"})


def test_suffix_matches_end_of_string():
    assert matches({"file": [{"suffix": ".png"}]}, {"file": "cat.png"})
    assert not matches({"file": [{"suffix": ".png"}]}, {"file": "cat.png.txt"})


def test_suffix_only_matches_strings():
    assert not matches({"n": [{"suffix": "3"}]}, {"n": 123})


def test_suffix_ignoring_case_matches_any_casing():
    pattern = {"file": [{"suffix": {"equals-ignore-case": ".PNG"}}]}
    assert matches(pattern, {"file": "cat.png"})
    assert matches(pattern, {"file": "cat.Png"})
    assert not matches(pattern, {"file": "cat.jpg"})


def test_equals_ignore_case_matches_whole_string_in_any_casing():
    pattern = {"name": [{"equals-ignore-case": "alice"}]}
    assert matches(pattern, {"name": "ALICE"})
    assert matches(pattern, {"name": "aLiCe"})
    assert not matches(pattern, {"name": "alicea"})
    assert not matches(pattern, {"name": 1})


# --- wildcard -----------------------------------------------------------------------


def test_wildcard_star_matches_any_run_of_characters():
    pattern = {"key": [{"wildcard": "dir/*.png"}]}
    assert matches(pattern, {"key": "dir/cat.png"})
    assert matches(pattern, {"key": "dir/.png"})
    assert not matches(pattern, {"key": "dir/cat.jpg"})
    assert not matches(pattern, {"key": "other/cat.png"})


def test_wildcard_with_several_stars_keeps_the_order_of_literals():
    pattern = {"k": [{"wildcard": "a*b*c"}]}
    assert matches(pattern, {"k": "a-b-c"})
    assert matches(pattern, {"k": "abc"})
    assert not matches(pattern, {"k": "a-c-b"})


def test_wildcard_without_star_is_an_exact_match():
    assert matches({"k": [{"wildcard": "abc"}]}, {"k": "abc"})
    assert not matches({"k": [{"wildcard": "abc"}]}, {"k": "abcd"})


def test_wildcard_escaped_star_matches_a_literal_star():
    pattern = {"k": [{"wildcard": "a\\*b"}]}
    assert matches(pattern, {"k": "a*b"})
    assert not matches(pattern, {"k": "axb"})


def test_wildcard_escaped_backslash_matches_a_backslash():
    assert matches({"k": [{"wildcard": "a\\\\*"}]}, {"k": "a\\tail"})


def test_wildcard_handles_multibyte_text():
    assert matches({"k": [{"wildcard": "*データ*"}]}, {"k": "prefix_データ_suffix"})


def test_wildcard_only_matches_strings():
    assert not matches({"k": [{"wildcard": "*"}]}, {"k": 1})
    assert matches({"k": [{"wildcard": "*"}]}, {"k": ""})


# --- anything-but -------------------------------------------------------------------


def test_anything_but_string_matches_other_values():
    pattern = {"state": [{"anything-but": "initializing"}]}
    assert matches(pattern, {"state": "running"})
    assert not matches(pattern, {"state": "initializing"})


def test_anything_but_matches_values_of_another_type():
    pattern = {"state": [{"anything-but": "initializing"}]}
    assert matches(pattern, {"state": 5})
    assert matches(pattern, {"state": None})


def test_anything_but_does_not_match_a_missing_field():
    assert not matches({"state": [{"anything-but": "x"}]}, {})


def test_anything_but_number_compares_by_value():
    pattern = {"limit": [{"anything-but": 100}]}
    assert matches(pattern, {"limit": 101})
    assert not matches(pattern, {"limit": 100.0})
    assert matches(pattern, {"limit": "100"})


def test_anything_but_list_excludes_every_listed_value():
    pattern = {"state": [{"anything-but": ["stopped", "overloaded"]}]}
    assert matches(pattern, {"state": "running"})
    assert not matches(pattern, {"state": "overloaded"})
    numeric = {"price": [{"anything-but": [100, 500]}]}
    assert matches(numeric, {"price": 100.1})
    assert not matches(numeric, {"price": 500})


def test_anything_but_on_an_array_matches_when_some_element_is_allowed():
    pattern = {"price": [{"anything-but": [100, 500]}]}
    assert matches(pattern, {"price": [100, 50]})
    assert not matches(pattern, {"price": [100, 500]})


def test_anything_but_prefix_excludes_strings_with_that_start():
    pattern = {"region": [{"anything-but": {"prefix": "us-"}}]}
    assert matches(pattern, {"region": "eu-west-1"})
    assert not matches(pattern, {"region": "us-east-1"})
    assert matches({"r": [{"anything-but": {"prefix": ["a", "b"]}}]}, {"r": "c1"})
    assert not matches({"r": [{"anything-but": {"prefix": ["a", "b"]}}]}, {"r": "b1"})


def test_anything_but_suffix_excludes_strings_with_that_end():
    pattern = {"file": [{"anything-but": {"suffix": ".png"}}]}
    assert matches(pattern, {"file": "a.jpg"})
    assert not matches(pattern, {"file": "a.png"})


def test_anything_but_equals_ignore_case_excludes_every_casing():
    pattern = {"state": [{"anything-but": {"equals-ignore-case": ["Stopped", "overloaded"]}}]}
    assert matches(pattern, {"state": "running"})
    assert not matches(pattern, {"state": "STOPPED"})
    assert not matches(pattern, {"state": "OverLoaded"})


def test_anything_but_wildcard_excludes_matching_strings():
    pattern = {"path": [{"anything-but": {"wildcard": "*/lib/*"}}]}
    assert matches(pattern, {"path": "/usr/bin/x"})
    assert not matches(pattern, {"path": "/usr/lib/x"})


def test_anything_but_prefix_lets_numbers_through():
    assert matches({"v": [{"anything-but": {"prefix": "1"}}]}, {"v": 123})


# --- numeric ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        ("=", 10, True),
        ("=", 10.5, False),
        ("<", 9.99, True),
        ("<", 10, False),
        ("<=", 10, True),
        ("<=", 10.01, False),
        (">", 10.01, True),
        (">", 10, False),
        (">=", 10, True),
        (">=", 9.99, False),
    ],
)
def test_numeric_comparison_against_ten(operator, value, expected):
    assert matches({"n": [{"numeric": [operator, 10]}]}, {"n": value}) is expected


def test_numeric_range_includes_only_the_closed_ends():
    pattern = {"n": [{"numeric": [">", 0, "<=", 5]}]}
    assert matches(pattern, {"n": 5})
    assert matches(pattern, {"n": 0.001})
    assert not matches(pattern, {"n": 0})
    assert not matches(pattern, {"n": 5.000001})


def test_numeric_range_with_inclusive_lower_and_exclusive_upper():
    pattern = {"n": [{"numeric": [">=", 2e-06, "<", 4e-06]}]}
    assert matches(pattern, {"n": 2e-06})
    assert not matches(pattern, {"n": 4e-06})


def test_numeric_equals_accepts_scientific_notation():
    assert matches({"x": [{"numeric": ["=", 3.018e2]}]}, {"x": 301.8})


def test_numeric_does_not_match_strings_or_booleans():
    pattern = {"n": [{"numeric": [">", 0]}]}
    assert not matches(pattern, {"n": "5"})
    assert not matches(pattern, {"n": True})


def test_numeric_handles_values_beyond_five_billion():
    assert matches({"n": [{"numeric": [">", 1e10]}]}, {"n": 1e11})


def test_numeric_compares_negative_numbers():
    pattern = {"t": [{"numeric": ["<", -4e-06]}]}
    assert matches(pattern, {"t": -1.000004})
    assert not matches(pattern, {"t": 0})


# --- exists -------------------------------------------------------------------------


def test_exists_true_matches_any_value_including_null():
    pattern = {"c": [{"exists": True}]}
    assert matches(pattern, {"c": "x"})
    assert matches(pattern, {"c": 0})
    assert matches(pattern, {"c": None})
    assert not matches(pattern, {"d": 1})


def test_exists_false_matches_only_when_the_field_is_absent():
    pattern = {"source": ["a"], "c": [{"exists": False}]}
    assert matches(pattern, {"source": "a"})
    assert not matches(pattern, {"source": "a", "c": None})


def test_exists_false_matches_when_the_field_is_an_object():
    # exists only looks at leaves; an object is not one
    assert matches({"c": [{"exists": False}]}, {"c": {"inner": 1}})


def test_exists_false_alongside_values_matches_absence_or_a_value():
    pattern = {"tier": [{"anything-but": ["gold"]}, {"exists": False}]}
    assert matches(pattern, {})
    assert matches(pattern, {"tier": "bronze"})
    assert not matches(pattern, {"tier": "gold"})


def test_exists_false_inside_an_array_looks_at_the_chosen_element():
    pattern = {"d": {"a": [{"exists": True}], "b": [{"exists": False}]}}
    assert matches(pattern, {"d": [{"a": 1}]})
    assert not matches(pattern, {"d": [{"a": 1, "b": 2}]})
    assert matches(pattern, {"d": [{"a": 1, "b": 2}, {"a": 3}]})


def test_exists_false_on_every_field_matches_an_empty_event():
    pattern = {"a": [{"exists": False}], "b": {"c": [{"exists": False}]}}
    assert matches(pattern, {})


# --- cidr ---------------------------------------------------------------------------


def test_cidr_matches_addresses_inside_an_ipv4_block():
    pattern = {"ip": [{"cidr": "10.0.0.0/24"}]}
    assert matches(pattern, {"ip": "10.0.0.0"})
    assert matches(pattern, {"ip": "10.0.0.255"})
    assert not matches(pattern, {"ip": "10.0.1.0"})


def test_cidr_ignores_host_bits_of_the_block():
    pattern = {"ip": [{"cidr": "220.160.153.171/31"}]}
    assert matches(pattern, {"ip": "220.160.153.170"})
    assert not matches(pattern, {"ip": "220.160.153.172"})


def test_cidr_matches_ipv6_addresses():
    pattern = {"ip": [{"cidr": "2001:db8::/32"}]}
    assert matches(pattern, {"ip": "2001:db8:ffff::1"})
    assert not matches(pattern, {"ip": "2001:db9::1"})
    assert not matches(pattern, {"ip": "10.0.0.1"})


def test_cidr_does_not_match_non_addresses():
    pattern = {"ip": [{"cidr": "10.0.0.0/8"}]}
    assert not matches(pattern, {"ip": "not-an-ip"})
    assert not matches(pattern, {"ip": 167772161})


def test_cidr_reads_ipv4_octets_with_leading_zeros_as_decimal():
    pattern = {"ip": [{"cidr": "10.0.0.0/24"}]}
    assert matches(pattern, {"ip": "010.000.000.009"})
    assert not matches(pattern, {"ip": "010.000.001.009"})
    assert not matches(pattern, {"ip": "10.0.0.256"})
    assert not matches(pattern, {"ip": "10.0.0"})


# --- $or ----------------------------------------------------------------------------


def test_or_matches_when_any_alternative_matches():
    pattern = {"$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}]}
    assert matches(pattern, {"namespace": "AWS/EC2"})
    assert matches(pattern, {"metricName": "CPUUtilization"})
    assert not matches(pattern, {"metricName": "Other"})


def test_or_combines_with_the_other_fields_by_and():
    pattern = {"source": ["aws.cloudwatch"], "$or": [{"a": ["1"]}, {"b": ["2"]}]}
    assert matches(pattern, {"source": "aws.cloudwatch", "b": "2"})
    assert not matches(pattern, {"source": "other", "b": "2"})


def test_or_inside_a_nested_object_applies_to_its_fields():
    pattern = {"detail": {"$or": [{"c-count": [{"numeric": [">", 5]}]}, {"d-count": [1]}]}}
    assert matches(pattern, {"detail": {"d-count": 1}})
    assert not matches(pattern, {"d-count": 1})


def test_or_alternatives_can_nest_further_ors():
    pattern = {
        "source": ["cw"],
        "$or": [
            {"metricName": ["CPU"]},
            {"namespace": ["EC2"], "$or": [{"metricId": [1234]}, {"spaceId": [1000]}]},
        ],
    }
    assert matches(pattern, {"source": "cw", "namespace": "EC2", "spaceId": 1000})
    assert not matches(pattern, {"source": "cw", "namespace": "EC2"})


def test_parallel_ors_must_both_hold():
    pattern = {"$or": [{"a": ["1"]}, {"b": ["1"]}], "d": {"$or": [{"x": ["1"]}, {"y": ["1"]}]}}
    assert matches(pattern, {"b": "1", "d": {"x": "1"}})
    assert not matches(pattern, {"b": "1", "d": {"z": "1"}})


# --- inputs and the object API ----------------------------------------------------------


def test_pattern_and_event_may_be_json_text():
    pattern = EventPattern('{"source": ["shop"]}')
    assert pattern.matches('{"source": "shop"}')
    assert pattern.matches(b'{"source": "shop"}')
    assert EventPattern(b'{"source": ["shop"]}') == pattern


def test_event_json_must_be_an_object():
    with pytest.raises(ValueError, match="JSON object"):
        EventPattern({"a": ["b"]}).matches("[1, 2]")
    with pytest.raises(ValueError, match="not valid JSON"):
        EventPattern({"a": ["b"]}).matches("{")
    with pytest.raises(TypeError):
        EventPattern({"a": ["b"]}).matches(42)  # type: ignore[arg-type]


def test_pattern_property_is_the_pattern_as_plain_data():
    source = {"detail": {"state": ("running",)}}
    pattern = EventPattern(source)
    assert pattern.pattern == {"detail": {"state": ["running"]}}
    pattern.pattern["detail"]["state"].append("stopped")
    assert pattern.pattern == {"detail": {"state": ["running"]}}


def test_patterns_equal_regardless_of_key_order_and_number_spelling():
    a = EventPattern({"a": [5], "b": ["x"]})
    b = EventPattern({"b": ["x"], "a": [5.0]})
    assert a == b
    assert hash(a) == hash(b)
    assert EventPattern({"a": [True]}) != EventPattern({"a": [1]})


def test_repr_shows_the_pattern_json():
    assert repr(EventPattern({"source": ["shop"]})) == 'EventPattern({"source":["shop"]})'


def test_pattern_survives_pickling():
    pattern = EventPattern({"a": [{"prefix": "x"}]})
    clone = pickle.loads(pickle.dumps(pattern))
    assert clone == pattern
    assert clone.matches({"a": "xy"})


def test_paths_lists_every_field_the_pattern_reads():
    pattern = EventPattern({"source": ["s"], "$or": [{"detail": {"a": [1]}}, {"b": [2]}]})
    assert pattern.paths == {"source", "detail.a", "b"}


# --- explain ------------------------------------------------------------------------


def test_explain_is_empty_when_the_event_matches():
    assert EventPattern({"source": ["shop"]}).explain({"source": "shop"}) == []


def test_explain_reports_a_missing_field():
    [mismatch] = EventPattern({"detail": {"amount": [{"numeric": [">", 10]}]}}).explain({})
    assert mismatch.path == "detail.amount"
    assert mismatch.actual is MISSING
    assert mismatch.expected == [{"numeric": [">", 10]}]
    assert "missing" in mismatch.message


def test_explain_reports_each_failed_clause_with_the_actual_value():
    pattern = EventPattern({"source": ["shop"], "detail": {"amount": [{"numeric": [">", 10]}]}})
    mismatches = pattern.explain({"source": "bank", "detail": {"amount": 5}})
    assert [(m.path, m.actual) for m in mismatches] == [("detail.amount", 5), ("source", "bank")]
    assert "does not match" in mismatches[0].message


def test_explain_reports_a_field_that_should_be_absent():
    [mismatch] = EventPattern({"x": [{"exists": False}]}).explain({"x": 1})
    assert mismatch.path == "x"
    assert mismatch.actual == 1
    assert "absent" in mismatch.message


def test_explain_lists_every_or_branch_with_its_index():
    pattern = EventPattern({"$or": [{"a": ["1"]}, {"b": ["2"]}]})
    mismatches = pattern.explain({"a": "0"})
    assert [(m.branch, m.path) for m in mismatches] == [(0, "a"), (1, "b")]


def test_explain_reports_fields_matched_in_different_array_elements():
    pattern = EventPattern({"items": {"sku": ["a"], "qty": [2]}})
    [mismatch] = pattern.explain({"items": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 2}]})
    assert mismatch.path == "items"
    assert "same element" in mismatch.message
    assert mismatch.expected == {"items.qty": [2], "items.sku": ["a"]}


def test_mismatch_as_dict_is_json_safe():
    pattern = EventPattern({"a": ["x"], "b": [1]})
    payload = [m.as_dict() for m in pattern.explain({"a": ["y", "z"]})]
    assert json.loads(json.dumps(payload)) == [
        {
            "path": "a",
            "expected": ["x"],
            "actual": ["y", "z"],
            "missing": False,
            "message": 'a is ["y","z"], which does not match ["x"]',
            "branch": None,
        },
        {
            "path": "b",
            "expected": [1],
            "actual": None,
            "missing": True,
            "message": "b is missing; the pattern expects [1]",
            "branch": None,
        },
    ]


def test_mismatch_is_immutable():
    mismatch = Mismatch("a", ["x"], MISSING, "a is missing")
    with pytest.raises(AttributeError):
        mismatch.path = "b"  # type: ignore[misc]
