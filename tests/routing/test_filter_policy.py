"""SNS filter policies: every operator, type rule, limit and error.

Examples marked "AWS example" come from the Amazon SNS Developer Guide pages "String value
matching", "Numeric value matching", "Key matching", "AND/OR logic", "Filter policy
constraints" and "Amazon SNS example filter policies".
"""

from __future__ import annotations

import json

import pytest

from flows.routing.filter_policy import (
    MAX_COMBINATIONS,
    MAX_KEYS,
    MAX_POLICY_BYTES,
    MISSING,
    FilterPolicy,
    InvalidFilterPolicy,
    attributes_to_dict,
)

BODY = "MessageBody"


def attr(value: str, type_: str = "String") -> dict[str, str]:
    return {"Type": type_, "Value": value}


def number(value: str) -> dict[str, str]:
    return attr(value, "Number")


def array(*values: object) -> dict[str, str]:
    return attr(json.dumps(list(values)), "String.Array")


def matches(policy: dict, message: dict, scope: str = "MessageAttributes") -> bool:
    return FilterPolicy(policy, scope=scope).matches(message)


def invalid(policy: object, scope: str = "MessageAttributes") -> InvalidFilterPolicy:
    with pytest.raises(InvalidFilterPolicy) as info:
        FilterPolicy(policy, scope=scope)  # type: ignore[arg-type]
    return info.value


# --- AWS example: the transaction message -------------------------------------------------

TRANSACTION_ATTRIBUTES = {
    "customer_interests": array("soccer", "rugby", "hockey"),
    "store": attr("example_corp"),
    "event": attr("order_placed"),
    "price_usd": number("210.75"),
}
TRANSACTION_BODY = {
    "customer_interests": ["soccer", "rugby", "hockey"],
    "store": "example_corp",
    "event": "order_placed",
    "price_usd": 210.75,
}
TRANSACTION_POLICY = {
    "store": ["example_corp"],
    "event": [{"anything-but": "order_cancelled"}],
    "customer_interests": ["rugby", "football", "baseball"],
    "price_usd": [{"numeric": [">=", 100]}],
}


def test_aws_example_policy_accepts_the_transaction_attributes():
    assert matches(TRANSACTION_POLICY, TRANSACTION_ATTRIBUTES)


def test_aws_example_policy_accepts_the_transaction_body():
    assert matches(TRANSACTION_POLICY, TRANSACTION_BODY, BODY)


def test_aws_example_policy_rejects_when_one_key_fails():
    cheap = {**TRANSACTION_ATTRIBUTES, "price_usd": number("99.99")}
    assert not matches(TRANSACTION_POLICY, cheap)


# --- exact string matching ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("attribute", "expected"),
    [
        (attr("rugby"), True),
        (attr("tennis"), True),
        (array("rugby", "tennis"), True),
        (attr("baseball"), False),
        (array("baseball"), False),
    ],
)
def test_aws_example_exact_string_matching(attribute, expected):
    policy = {"customer_interests": ["rugby", "tennis"]}
    assert matches(policy, {"customer_interests": attribute}) is expected


@pytest.mark.parametrize(("value", "expected"), [("rugby", True), ("baseball", False)])
def test_aws_example_exact_string_matching_on_the_body(value, expected):
    policy = {"customer_interests": ["rugby", "tennis"]}
    assert matches(policy, {"customer_interests": value}, BODY) is expected


def test_string_matching_is_case_sensitive():
    assert not matches({"store": ["Example"]}, {"store": attr("example")})


def test_exact_number_matches_a_number_attribute():
    assert matches({"qty": [3]}, {"qty": number("3")})
    assert matches({"qty": [3]}, {"qty": number("3.0")})
    assert not matches({"qty": [3]}, {"qty": number("4")})


# --- anything-but -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attribute", "expected"),
    [
        (attr("baseball"), True),
        (attr("football"), True),
        (array("rugby", "baseball"), True),
        (attr("rugby"), False),
        (array("rugby"), False),
    ],
)
def test_aws_example_anything_but_list(attribute, expected):
    policy = {"customer_interests": [{"anything-but": ["rugby", "tennis"]}]}
    assert matches(policy, {"customer_interests": attribute}) is expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [(["rugby", "baseball"], True), (["rugby"], False), ("football", True)],
)
def test_aws_example_anything_but_list_on_the_body(body, expected):
    policy = {"customer_interests": [{"anything-but": ["rugby", "tennis"]}]}
    assert matches(policy, {"customer_interests": body}, BODY) is expected


def test_anything_but_single_string():
    policy = {"event": [{"anything-but": "order_cancelled"}]}
    assert matches(policy, {"event": attr("order_placed")})
    assert not matches(policy, {"event": attr("order_cancelled")})


@pytest.mark.parametrize(
    ("value", "expected"),
    [("data-entry", True), ("order_number", True), ("order-cancelled", False)],
)
def test_aws_example_anything_but_prefix(value, expected):
    policy = {"event": [{"anything-but": {"prefix": "order-"}}]}
    assert matches(policy, {"event": attr(value)}) is expected
    assert matches(policy, {"event": value}, BODY) is expected


def test_aws_example_anything_but_suffix():
    policy = {"customer_interests": [{"anything-but": {"suffix": "ball"}}]}
    assert matches(policy, {"customer_interests": ["hockey", "rugby", "soccer"]}, BODY)
    assert not matches(policy, {"customer_interests": ["baseball", "basketball"]}, BODY)


def test_aws_example_anything_but_wildcard():
    policy = {"customer_interests": [{"anything-but": {"wildcard": "*ball"}}]}
    assert matches(policy, {"customer_interests": ["hockey", "rugby", "soccer"]}, BODY)
    assert not matches(policy, {"customer_interests": ["baseball", "basketball"]}, BODY)


@pytest.mark.parametrize(("value", "expected"), [("101", True), ("100.1", True), ("100", False)])
def test_aws_example_numeric_anything_but(value, expected):
    policy = {"price": [{"anything-but": [100, 500]}]}
    assert matches(policy, {"price": number(value)}) is expected


def test_aws_example_numeric_anything_but_on_an_array():
    policy = {"price": [{"anything-but": [100, 500]}]}
    assert matches(policy, {"price": attr("[100, 50]", "Number.Array")})
    assert matches(policy, {"price": [100, 50]}, BODY)
    assert not matches(policy, {"price": 100}, BODY)


def test_anything_but_does_not_match_a_missing_attribute():
    policy = {"event": [{"anything-but": "x"}]}
    assert not matches(policy, {"other": attr("y")})


def test_aws_anything_but_combined_with_exists_false():
    policy = {"event": [{"anything-but": "x"}, {"exists": False}]}
    assert matches(policy, {"other": attr("y")})
    assert matches(policy, {"event": attr("y")})
    assert not matches(policy, {"event": attr("x")})


# --- equals-ignore-case, prefix, suffix, wildcard, cidr ------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"), [("TENNIS", True), ("Tennis", True), ("ten", False)]
)
def test_aws_example_equals_ignore_case(value, expected):
    policy = {"customer_interests": [{"equals-ignore-case": "tennis"}]}
    assert matches(policy, {"customer_interests": attr(value)}) is expected
    assert matches(policy, {"customer_interests": value}, BODY) is expected


@pytest.mark.parametrize(
    ("value", "expected"), [("baseball", True), ("basketball", True), ("rugby", False)]
)
def test_aws_example_prefix(value, expected):
    policy = {"customer_interests": [{"prefix": "bas"}]}
    assert matches(policy, {"customer_interests": attr(value)}) is expected
    assert matches(policy, {"customer_interests": value}, BODY) is expected


@pytest.mark.parametrize(
    ("value", "expected"), [("baseball", True), ("basketball", True), ("rugby", False)]
)
def test_aws_example_suffix(value, expected):
    policy = {"customer_interests": [{"suffix": "ball"}]}
    assert matches(policy, {"customer_interests": attr(value)}) is expected
    assert matches(policy, {"customer_interests": value}, BODY) is expected


def test_aws_example_wildcard():
    policy = {"customer_interests": [{"wildcard": "*ball"}]}
    assert matches(policy, {"customer_interests": ["baseball", "basketball"]}, BODY)
    assert matches(policy, {"customer_interests": array("rugby", "baseball")})
    assert not matches(policy, {"customer_interests": attr("rugby")})


def test_wildcard_in_the_middle():
    policy = {"file": [{"wildcard": "log-*.txt"}]}
    assert matches(policy, {"file": attr("log-2026.txt")})
    assert not matches(policy, {"file": attr("log-2026.csv")})


@pytest.mark.parametrize(
    ("value", "expected"), [("10.0.0.0", True), ("10.0.0.255", True), ("10.1.1.0", False)]
)
def test_aws_example_cidr(value, expected):
    policy = {"source_ip": [{"cidr": "10.0.0.0/24"}]}
    assert matches(policy, {"source_ip": attr(value)}) is expected
    assert matches(policy, {"source_ip": value}, BODY) is expected


def test_cidr_ipv6():
    policy = {"source_ip": [{"cidr": "2001:db8::/32"}]}
    assert matches(policy, {"source_ip": attr("2001:db8::1")})
    assert not matches(policy, {"source_ip": attr("2001:db9::1")})


def test_cidr_does_not_match_a_non_address():
    assert not matches({"ip": [{"cidr": "10.0.0.0/8"}]}, {"ip": attr("not-an-ip")})


# --- numeric matching ---------------------------------------------------------------------


@pytest.mark.parametrize("value", ["301.5", "3.015e2"])
def test_aws_example_numeric_equals(value):
    policy = {"price_usd": [{"numeric": ["=", 301.5]}]}
    assert matches(policy, {"price_usd": number(value)})


def test_aws_example_numeric_equals_on_the_body():
    policy = {"price_usd": [{"numeric": ["=", 301.5]}]}
    assert matches(policy, json.loads('{"price_usd": 3.015e2}'), BODY)


@pytest.mark.parametrize(("value", "expected"), [("-1", True), ("0", False), ("5", False)])
def test_aws_example_numeric_less_than_zero(value, expected):
    assert matches({"price_usd": [{"numeric": ["<", 0]}]}, {"price_usd": number(value)}) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0", False), ("0.00001", True), ("150", True), ("150.00001", False), ("-3", False)],
)
def test_aws_example_numeric_range(value, expected):
    policy = {"price_usd": [{"numeric": [">", 0, "<=", 150]}]}
    assert matches(policy, {"price_usd": number(value)}) is expected


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [(">=", "10", True), (">=", "9.99", False), ("<=", "10", True), (">", "10", False)],
)
def test_numeric_comparison_operators(operator, value, expected):
    assert matches({"n": [{"numeric": [operator, 10]}]}, {"n": number(value)}) is expected


def test_numbers_are_compared_with_five_decimal_digits():
    policy = {"n": [{"numeric": [">", 100]}]}
    assert not matches(policy, {"n": number("100.000001")})
    assert matches(policy, {"n": number("100.00001")})


def test_numeric_matches_any_element_of_a_body_array():
    policy = {"n": [{"numeric": [">", 10]}]}
    assert matches(policy, {"n": [1, 20]}, BODY)
    assert not matches(policy, {"n": [1, 2]}, BODY)


# --- attribute type rules -----------------------------------------------------------------


def test_string_attribute_is_not_matched_by_numeric_conditions():
    assert not matches({"price": [{"numeric": [">", 1]}]}, {"price": attr("210.75")})
    assert not matches({"price": [210.75]}, {"price": attr("210.75")})


def test_number_attribute_is_not_matched_by_string_conditions():
    assert not matches({"price": ["210.75"]}, {"price": number("210.75")})
    assert not matches({"price": [{"prefix": "210"}]}, {"price": number("210.75")})


def test_string_anything_but_does_not_match_a_number_attribute():
    policy = {"event": [{"anything-but": "order_cancelled"}]}
    assert not matches(policy, {"event": number("5")})
    for form in ({"prefix": "x"}, {"suffix": "x"}, {"wildcard": "x*"}, ["a", "b"]):
        assert not matches({"event": [{"anything-but": form}]}, {"event": number("5")})
    # On the body, values are plain JSON and EventBridge's rule applies: 5 is not "x".
    assert matches(policy, {"event": 5}, BODY)


def test_numeric_anything_but_does_not_match_a_string_attribute():
    policy = {"price": [{"anything-but": [100, 500]}]}
    assert not matches(policy, {"price": attr("101")})
    assert matches(policy, {"price": number("101")})
    assert matches(policy, {"price": "101"}, BODY)


def test_typed_anything_but_still_ors_with_other_conditions():
    policy = {"v": [{"anything-but": "x"}, {"numeric": [">", 10]}]}
    assert matches(policy, {"v": number("11")})
    assert not matches(policy, {"v": number("3")})
    assert matches(policy, {"v": attr("y")})
    assert not matches(policy, {"v": attr("x")})


def test_exists_matches_attributes_of_every_filterable_type():
    policy = {"v": [{"exists": True}]}
    assert matches(policy, {"v": number("1")})
    assert matches(policy, {"v": attr("a")})
    assert matches(policy, {"v": array("a")})


def test_empty_string_array_counts_as_absent():
    assert matches({"tags": [{"exists": False}]}, {"tags": array(), "x": attr("1")})
    assert not matches({"tags": [{"exists": True}]}, {"tags": array(), "x": attr("1")})


@pytest.mark.parametrize(
    ("text", "expected"),
    [("12", 12), (" 12 ", 12), ("-0.5", -0.5), ("3.015e2", 301.5), ("1e3", 1000)],
)
def test_number_attribute_values_use_json_number_syntax(text, expected):
    assert attributes_to_dict({"n": number(text)}) == {"n": expected}


@pytest.mark.parametrize("text", ["1_000", "+5", ".5", "0x10", "nan", "inf", "1e999", ""])
def test_number_attribute_values_that_are_not_json_numbers_are_ignored(text):
    assert attributes_to_dict({"n": number(text)}) == {}


def test_string_array_matches_when_any_element_matches():
    assert matches({"tags": ["b"]}, {"tags": array("a", "b")})
    assert matches({"tags": [{"numeric": [">", 5]}]}, {"tags": array("a", 7)})
    assert not matches({"tags": ["c"]}, {"tags": array("a", "b")})


def test_binary_attributes_are_ignored():
    message = {"sig": attr("AQID", "Binary"), "region": attr("EU")}
    assert not matches({"sig": [{"exists": True}]}, message)
    assert matches({"sig": [{"exists": False}]}, message)
    assert not matches({"sig": ["AQID"]}, message)


def test_custom_type_suffixes_follow_their_base_type():
    assert matches({"n": [{"numeric": ["=", 2]}]}, {"n": attr("2", "Number.int")})
    assert matches({"s": ["x"]}, {"s": attr("x", "String.custom")})


def test_publish_api_attribute_form_is_accepted():
    message = {
        "store": {"DataType": "String", "StringValue": "example_corp"},
        "price": {"DataType": "Number", "StringValue": "12"},
    }
    assert matches({"store": ["example_corp"], "price": [{"numeric": [">", 10]}]}, message)


def test_plain_attribute_values_are_typed_like_sns():
    assert attributes_to_dict(
        {"store": "x", "price": 10.5, "qty": 2, "vip": True, "tags": ["a", 1], "none": None}
    ) == {"store": "x", "price": 10.5, "qty": 2, "vip": "true", "tags": ["a", 1]}


def test_plain_attributes_match_like_typed_ones():
    plain = {"store": "example_corp", "price": 10.5, "tags": ["a", "b"], "vip": True}
    assert matches({"store": ["example_corp"], "price": [{"numeric": [">", 10]}]}, plain)
    assert matches({"tags": ["b"], "vip": ["true"]}, plain)
    assert not matches({"price": ["10.5"]}, plain)


def test_sns_attribute_forms_convert_to_typed_values():
    assert attributes_to_dict(TRANSACTION_ATTRIBUTES) == TRANSACTION_BODY


def test_unparseable_attribute_values_are_ignored():
    typed = attributes_to_dict(
        {"n": number("lots"), "a": attr("[oops", "String.Array"), "o": {"nested": 1}}
    )
    assert typed == {}


# --- key matching -------------------------------------------------------------------------


def test_aws_example_exists_true():
    policy = {"store": [{"exists": True}]}
    with_store = {"store": attr("fans"), "customer_interests": array("baseball", "basketball")}
    without = {"customer_interests": array("baseball", "basketball")}
    assert matches(policy, with_store)
    assert not matches(policy, without)
    assert matches(policy, {"store": "fans", "customer_interests": ["baseball"]}, BODY)
    assert not matches(policy, {"customer_interests": ["baseball"]}, BODY)


def test_aws_example_exists_false():
    policy = {"store": [{"exists": False}]}
    with_store = {"store": attr("fans"), "customer_interests": array("baseball", "basketball")}
    without = {"customer_interests": array("baseball", "basketball")}
    assert not matches(policy, with_store)
    assert matches(policy, without)
    assert not matches(policy, {"store": "fans", "customer_interests": ["baseball"]}, BODY)
    assert matches(policy, {"customer_interests": ["baseball"]}, BODY)


def test_exists_false_does_not_match_a_message_without_attributes():
    # SNS "Key matching": "exists": false only matches if at least one attribute is present.
    assert not matches({"store": [{"exists": False}]}, {})
    assert not matches({"store": [{"exists": False}]}, {"sig": attr("AQID", "Binary")})


@pytest.mark.parametrize("value", [None, [], {}])
def test_body_exists_true_needs_a_non_null_non_empty_value(value):
    assert not matches({"store": [{"exists": True}]}, {"store": value, "x": 1}, BODY)
    assert matches({"store": [{"exists": False}]}, {"store": value, "x": 1}, BODY)


def test_body_exists_applies_only_to_leaves():
    body = {"store": {"name": "fans"}}
    assert not matches({"store": [{"exists": True}]}, body, BODY)


# --- AND / OR -----------------------------------------------------------------------------


def test_aws_example_and_logic_across_keys():
    policy = {"customer_interests": ["rugby"], "price_usd": [{"numeric": [">", 100]}]}
    assert matches(policy, {"customer_interests": attr("rugby"), "price_usd": number("101")})
    assert not matches(policy, {"customer_interests": attr("rugby"), "price_usd": number("99")})
    assert not matches(policy, {"customer_interests": attr("rugby")})


OR_POLICY = {
    "source": ["aws.cloudwatch"],
    "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}],
}


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ({"source": "aws.cloudwatch", "metricName": "CPUUtilization"}, True),
        ({"source": "aws.cloudwatch", "namespace": "AWS/EC2"}, True),
        ({"source": "aws.cloudwatch", "namespace": "AWS/S3"}, False),
        ({"source": "aws.ec2", "metricName": "CPUUtilization"}, False),
    ],
)
def test_aws_example_or_operator(attributes, expected):
    typed = {name: attr(value) for name, value in attributes.items()}
    assert matches(OR_POLICY, typed) is expected
    assert matches(OR_POLICY, attributes, BODY) is expected


def test_aws_example_nested_or_on_the_body():
    policy = {
        "$or": [
            {"metricName": ["CPUUtilization", "ReadLatency"]},
            {"namespace": ["AWS/EC2", "AWS/ES"]},
        ],
        "detail": {
            "scope": ["Service"],
            "$or": [{"source": ["aws.cloudwatch"]}, {"type": ["CloudWatch Alarm State Change"]}],
        },
    }
    body = {
        "namespace": "AWS/ES",
        "detail": {"scope": "Service", "type": "CloudWatch Alarm State Change"},
    }
    assert matches(policy, body, BODY)
    assert not matches(policy, {**body, "detail": {"scope": "Service"}}, BODY)


def test_or_that_lacks_the_operator_shape_is_a_plain_attribute_name():
    # SNS: "$or" with fewer than two objects is treated as a regular attribute name.
    policy = {"$or": ["x"]}
    assert matches(policy, {"$or": attr("x")})
    assert not matches(policy, {"a": attr("x")})


# --- payload-based (nested) policies ------------------------------------------------------


def test_nested_body_policy_matches_nested_properties():
    policy = {"order": {"status": ["paid"], "total": [{"numeric": [">", 50]}]}}
    assert matches(policy, {"order": {"status": "paid", "total": 99}}, BODY)
    assert not matches(policy, {"order": {"status": "paid", "total": 9}}, BODY)
    assert not matches(policy, {"status": "paid", "total": 99}, BODY)


def test_body_that_is_not_an_object_matches_nothing():
    assert not matches({"a": ["x"]}, ["x"], BODY)  # type: ignore[arg-type]
    assert not matches({"a": ["x"]}, "x", BODY)  # type: ignore[arg-type]


def test_body_keys_the_policy_does_not_name_are_ignored():
    assert matches({"a": ["x"]}, {"a": "x", "b": {"c": [1, 2]}}, BODY)


def test_policy_may_hold_the_json_keywords_true_false_and_null():
    FilterPolicy({"coupon": [None, True, False]})
    assert matches({"express": [True]}, {"express": True}, BODY)
    assert not matches({"express": [True]}, {"express": "true"}, BODY)


# --- empty policy, JSON text, scope -------------------------------------------------------


def test_empty_policy_accepts_every_message():
    assert matches({}, {})
    assert matches({}, {"a": attr("b")})
    assert matches({}, {"a": 1}, BODY)


def test_policy_can_be_json_text():
    policy = FilterPolicy('{"store": ["example_corp"]}')
    assert policy.policy == {"store": ["example_corp"]}
    assert policy.matches(TRANSACTION_ATTRIBUTES)


def test_scope_defaults_to_message_attributes():
    assert FilterPolicy({"a": ["b"]}).scope == "MessageAttributes"


def test_unknown_scope_is_rejected():
    error = invalid({"a": ["b"]}, scope="Headers")
    assert "unknown scope 'Headers'" in error.reason


# --- explain ------------------------------------------------------------------------------


def test_explain_is_empty_when_the_message_matches():
    assert FilterPolicy(TRANSACTION_POLICY).explain(TRANSACTION_ATTRIBUTES) == []


def test_explain_names_each_key_that_failed():
    message = {**TRANSACTION_ATTRIBUTES, "store": attr("other"), "price_usd": number("5")}
    mismatches = FilterPolicy(TRANSACTION_POLICY).explain(message)
    paths = {m.path for m in mismatches}
    assert {"store", "price_usd"} <= paths
    assert all(m.message for m in mismatches)


def test_explain_reports_a_message_without_attributes():
    mismatches = FilterPolicy({"store": [{"exists": False}]}).explain({})
    assert len(mismatches) == 1
    assert "no message attributes" in mismatches[0].message


def test_explain_reports_a_body_that_is_not_an_object():
    mismatches = FilterPolicy({"a": ["x"]}, scope=BODY).explain(["x"])  # type: ignore[arg-type]
    assert len(mismatches) == 1
    assert "not a JSON object" in mismatches[0].message
    mismatches = FilterPolicy({"a": ["x"]}, scope=BODY).explain("plain text")
    assert "not JSON" in mismatches[0].message


def test_body_may_be_json_text():
    assert matches({"a": ["x"]}, '{"a": "x"}', BODY)  # type: ignore[arg-type]
    assert not matches({"a": ["x"]}, '"x"', BODY)  # type: ignore[arg-type]


def test_explain_tags_or_branches_and_reports_missing_keys():
    mismatches = FilterPolicy(OR_POLICY).explain({"source": attr("aws.cloudwatch")})
    assert {(m.path, m.branch) for m in mismatches} == {("metricName", 0), ("namespace", 1)}
    assert all(m.actual is MISSING for m in mismatches)
    assert "attribute metricName is missing" in mismatches[0].message


def test_explain_hints_at_the_sns_type_rules():
    (string_vs_numeric,) = FilterPolicy({"p": [{"numeric": [">", 1]}]}).explain({"p": attr("5")})
    assert "a String attribute is not matched by numeric conditions" in string_vs_numeric.message
    (number_vs_string,) = FilterPolicy({"p": ["5"]}).explain({"p": number("5")})
    assert "a Number attribute is not matched by string conditions" in number_vs_string.message


def test_explain_reports_an_exists_false_key_that_is_present():
    (mismatch,) = FilterPolicy({"store": [{"exists": False}]}).explain({"store": attr("x")})
    assert mismatch.path == "store"
    assert mismatch.actual == "x"
    assert "requires it to be absent" in mismatch.message


def test_explain_reports_array_consistency_on_the_body():
    policy = FilterPolicy({"items": {"sku": ["A"], "qty": [2]}}, scope=BODY)
    body = {"items": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 2}]}
    assert not policy.matches(body)
    (mismatch,) = policy.explain(body)
    assert "same element of an array of objects" in mismatch.message


def test_mismatches_serialise_like_event_pattern_ones():
    (mismatch,) = FilterPolicy({"store": ["a"]}).explain({"store": attr("b")})
    assert mismatch.as_dict() == {
        "path": "store",
        "expected": ["a"],
        "actual": "b",
        "missing": False,
        "message": 'store is "b", which does not match ["a"]',
        "branch": None,
    }


# --- limits -------------------------------------------------------------------------------


def test_at_most_five_attribute_names():
    FilterPolicy({f"k{i}": ["v"] for i in range(MAX_KEYS)})
    error = invalid({f"k{i}": ["v"] for i in range(MAX_KEYS + 1)})
    assert error.path == ""
    assert "at most 5 keys" in error.reason
    assert "k5" in error.reason


def test_only_leaf_keys_count_towards_the_key_limit_of_a_nested_policy():
    # AWS example: key_a.key_b.key_c and key_d.key_e are the two leaf keys.
    policy = FilterPolicy(
        {
            "key_a": {"key_b": {"key_c": ["value_one", "value_two", "value_three", "value_four"]}},
            "key_d": {"key_e": ["value_one", "value_two", "value_three"]},
        },
        scope=BODY,
    )
    assert policy.stats.keys == ("key_a.key_b.key_c", "key_d.key_e")
    assert policy.stats.combinations == 72  # 4 x 3 x 3 x 2, as in the AWS example


def test_six_leaf_keys_in_a_nested_policy_are_too_many():
    nested = {"a": {f"k{i}": ["v"] for i in range(6)}}
    error = invalid(nested, BODY)
    assert "at most 5 keys (leaf keys, for a nested policy)" in error.reason


def test_the_same_key_in_two_or_branches_counts_once():
    policy = FilterPolicy({"$or": [{"a": ["1"]}, {"a": ["2"]}], "b": ["x"]})
    assert policy.stats.keys == ("a", "b")


def test_aws_example_combination_count():
    policy = FilterPolicy(
        {
            "key_a": ["value_one", "value_two", "value_three"],
            "key_b": ["value_one"],
            "key_c": ["value_one", "value_two"],
        }
    )
    assert policy.stats.combinations == 6


def test_aws_example_combinations_sum_over_or_alternatives():
    policy = FilterPolicy(
        {
            "source": ["aws.cloudwatch"],
            "$or": [
                {"metricName": ["CPUUtilization", "ReadLatency"]},
                {
                    "metricType": ["MetricType"],
                    "$or": [{"metricId": [1234, 4321]}, {"spaceId": [1000, 2000, 3000]}],
                },
            ],
        }
    )
    assert policy.stats.combinations == 7


def test_aws_example_nested_or_combinations_count_nesting_levels():
    policy = FilterPolicy(
        {
            "$or": [
                {"metricName": ["CPUUtilization", "ReadLatency"]},
                {"namespace": ["AWS/EC2", "AWS/ES"]},
            ],
            "detail": {
                "scope": ["Service"],
                "$or": [
                    {"source": ["aws.cloudwatch"]},
                    {"type": ["CloudWatch Alarm State Change"]},
                ],
            },
        },
        scope=BODY,
    )
    assert policy.stats.combinations == 32
    assert policy.stats.keys == (
        "metricName",
        "namespace",
        "detail.scope",
        "detail.source",
        "detail.type",
    )


def test_at_most_150_combinations():
    ok = {"a": [str(i) for i in range(15)], "b": [str(i) for i in range(10)]}
    assert FilterPolicy(ok).stats.combinations == MAX_COMBINATIONS
    too_many = {"a": [str(i) for i in range(16)], "b": [str(i) for i in range(10)]}
    error = invalid(too_many)
    assert "160 combinations" in error.reason
    assert "at most 150" in error.reason


def test_policy_of_more_than_256_kb_is_rejected():
    big = {"a": ["x" * (MAX_POLICY_BYTES)]}
    error = invalid(big)
    assert "at most 256 KB" in error.reason
    error = invalid(json.dumps(big))
    assert "at most 256 KB" in error.reason


@pytest.mark.parametrize("value", [1_000_000_001, -1_000_000_001, 1e10])
def test_numbers_beyond_one_billion_are_rejected(value):
    error = invalid({"n": [{"numeric": [">", value]}]})
    assert error.path == "n[0].numeric[1]"
    assert "between -1e9 and 1e9" in error.reason
    assert invalid({"n": [value]}).path == "n[0]"
    assert invalid({"n": [{"anything-but": [1, value]}]}).path == "n[0].anything-but[1]"


def test_numbers_at_one_billion_are_accepted():
    FilterPolicy({"n": [{"numeric": [">=", -1_000_000_000, "<=", 1_000_000_000]}]})


def test_at_most_three_wildcards_per_pattern():
    FilterPolicy({"f": [{"wildcard": "*a*b*"}]})
    error = invalid({"f": [{"wildcard": "*a*b*c*"}]})
    assert error.path == "f[0].wildcard"
    assert "at most 3 '*'" in error.reason
    assert invalid({"f": [{"anything-but": {"wildcard": "****"}}]}).path == (
        "f[0].anything-but.wildcard"
    )


def test_wildcard_syntax_errors_come_from_the_pattern_engine():
    error = invalid({"f": [{"wildcard": "a**b"}]})
    assert error.path == "f"
    assert "consecutive wildcard" in error.reason


def test_huge_integers_are_rejected_without_crashing():
    error = invalid({"n": [10**400]})
    assert "between -1e9 and 1e9" in error.reason


def test_aws_example_wildcard_complexity():
    policy = FilterPolicy({"filename": [{"wildcard": "*.txt"}, {"wildcard": "log*"}]})
    assert policy.stats.wildcard_complexity == 4


def test_wildcard_complexity_over_100_is_rejected():
    # 11 single-wildcard patterns: (11 x 1) x 11 = 121 points.
    policy = {"f": [{"wildcard": f"{i}*"} for i in range(11)]}
    error = invalid(policy)
    assert "wildcard complexity is 121" in error.reason


# --- structural errors --------------------------------------------------------------------


def test_nested_policy_is_refused_for_message_attributes():
    error = invalid({"order": {"status": ["paid"]}})
    assert error.path == "order"
    assert "nested filter policies are not supported" in error.reason
    assert str(error).startswith("Filter policy order: ")


def test_nested_policy_in_an_or_branch_is_refused_for_message_attributes():
    error = invalid({"$or": [{"a": ["x"]}, {"b": {"c": ["y"]}}]})
    assert error.path == "$or[1].b"


@pytest.mark.parametrize(
    ("policy", "path", "reason"),
    [
        ({"a": "x"}, "a", "must be an array of conditions"),
        ({"a": 5}, "a", "must be an array of conditions"),
        ({"a": []}, "a", "cannot be empty"),
        ({"a": [["x"]]}, "a[0]", "cannot be an array"),
        ({"a": [{}]}, "a[0]", "exactly one key, not 0"),
        ({"a": [{"prefix": "x", "suffix": "y"}]}, "a[0]", "exactly one key, not 2"),
        ({"a": [{"regex": "x.*"}]}, "a[0].regex", "unknown operator 'regex'"),
        ({"a": [{"prefix": 5}]}, "a[0].prefix", "expected a string"),
        ({"a": [{"suffix": None}]}, "a[0].suffix", "expected a string"),
        ({"a": [{"equals-ignore-case": ["x"]}]}, "a[0].equals-ignore-case", "expected a string"),
        ({"a": [{"wildcard": 1}]}, "a[0].wildcard", "expected a string"),
        ({"a": [{"exists": "yes"}]}, "a[0].exists", "expected true or false"),
        ({"a": [{"cidr": "10.0.0.0/33"}]}, "a[0].cidr", "is not a CIDR block: mask length"),
        ({"a": [{"cidr": "home"}]}, "a[0].cidr", "is not a CIDR block"),
        ({"a": [{"cidr": "10.0.0.1"}]}, "a[0].cidr", "exactly one '/'"),
        ({"a": [{"numeric": [">"]}]}, "a[0].numeric", "expected [operator, number]"),
        ({"a": [{"numeric": 5}]}, "a[0].numeric", "expected [operator, number]"),
        ({"a": [{"numeric": ["!=", 5]}]}, "a[0].numeric[0]", "unknown numeric operator"),
        ({"a": [{"numeric": [">", "5"]}]}, "a[0].numeric[1]", "expected a number"),
        ({"a": [{"numeric": ["<", 5, ">", 1]}]}, "a[0].numeric", "lower bound"),
        ({"a": [{"numeric": ["=", 1, "<", 5]}]}, "a[0].numeric", "lower bound"),
        ({"a": [{"numeric": [">", 5, "<", 5]}]}, "a[0].numeric", "the range is empty"),
        ({"a": [{"anything-but": []}]}, "a[0].anything-but", "cannot be empty"),
        ({"a": [{"anything-but": [True]}]}, "a[0].anything-but[0]", "strings or numbers"),
        ({"a": [{"anything-but": None}]}, "a[0].anything-but", "anything-but takes"),
        (
            {"a": [{"anything-but": {"equals-ignore-case": "x"}}]},
            "a[0].anything-but.equals-ignore-case",
            "prefix, suffix or wildcard",
        ),
        ({"a": [{"anything-but": {"prefix": 1}}]}, "a[0].anything-but.prefix", "expected a string"),
        ({"$or": [{"a": ["x"]}, {"b": []}]}, "$or[1].b", "cannot be empty"),
        ({"$or": [{"numeric": 123}, {"prefix": "abc"}]}, "$or[0].numeric", "expected [operator"),
        ({"a": {}}, "a", "cannot be empty"),
    ],
)
def test_invalid_conditions_name_the_path_and_reason(policy, path, reason):
    error = invalid(policy, BODY)
    assert error.path == path
    assert reason in error.reason
    assert path in str(error)


def test_wildcard_value_without_operator_is_just_a_string():
    # "*" in a plain value is an exact string, as in EventBridge.
    assert matches({"a": ["*"]}, {"a": attr("*")})
    assert not matches({"a": ["*"]}, {"a": attr("x")})


@pytest.mark.parametrize("policy", [[], "[1]", "null", 5])
def test_policy_must_be_a_json_object(policy):
    error = invalid(policy)
    assert error.path == ""
    assert "must be a JSON object" in error.reason


def test_policy_text_must_be_valid_json():
    error = invalid('{"a": [')
    assert "not valid JSON" in error.reason
    assert str(error).startswith("Filter policy: ")


def test_policy_dict_must_be_json_data():
    assert "not JSON data" in invalid({"a": [float("nan")]}).reason
    assert "not JSON data" in invalid({"a": [{1, 2}]}).reason
