"""Input transformers: the AWS user-guide examples, quoting rules, paths, limits, errors.

Examples marked "AWS example" come from the EventBridge User Guide page "Amazon
EventBridge input transformation" (EC2 state-change event, "Input transform examples"
table) and the API reference for ``InputTransformer``.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from flows.routing.transform import (
    MAX_INPUT_PATHS,
    MAX_TEMPLATE_LENGTH,
    InputTransformer,
    InvalidTransformer,
    MissingPath,
    TransformError,
)

EC2_EVENT = {
    "version": "0",
    "id": "7bf73129-1428-4cd3-a780-95db273d1602",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "123456789012",
    "time": "2015-11-11T21:29:54Z",
    "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
    "detail": {"instance-id": "i-0123456789", "state": "RUNNING"},
}
EC2_PATHS = {
    "timestamp": "$.time",
    "instance": "$.detail.instance-id",
    "state": "$.detail.state",
    "resource": "$.resources[0]",
}
RULE = {
    "rule_name": "example",
    "rule_arn": "arn:aws:events:us-east-2:123456789012:rule/example",
}

ORDER_EVENT = {
    "id": "e1",
    "kind": "event",
    "source": "shop.orders",
    "detail-type": "OrderPlaced",
    "time": "2026-11-27T12:00:00Z",
    "schema_version": 1,
    "attributes": {},
    "detail": {
        "order": {"id": "o-42", "total": 99.5, "paid": True, "note": None},
        "items": [{"sku": "A-1", "qty": 2}, {"sku": "B-2", "qty": 1}],
        "customer": 'Ann "the buyer" O\'Neil',
    },
}


def render(template: str, paths: dict[str, str] | None = None, event: dict | None = None) -> str:
    transformer = InputTransformer(EC2_PATHS if paths is None else paths, template)
    return transformer.render(EC2_EVENT if event is None else event, **RULE)


# --- AWS examples -------------------------------------------------------------------------


def test_aws_example_simple_string_keeps_its_quotes_and_fills_values_raw():
    assert render('"instance <instance> is in <state>"') == '"instance i-0123456789 is in RUNNING"'


def test_aws_example_string_with_escaped_quotes():
    out = render('"instance \\"<instance>\\" is in <state>"')
    assert out == '"instance \\"i-0123456789\\" is in RUNNING"'
    assert json.loads(out) == 'instance "i-0123456789" is in RUNNING'


def test_aws_example_simple_json_quotes_unquoted_string_values():
    out = render('{\n  "instance" : <instance>,\n  "state": <state>\n}')
    assert json.loads(out) == {"instance": "i-0123456789", "state": "RUNNING"}


def test_aws_example_json_with_strings_and_variables():
    template = (
        '{"instance" : <instance>, "state": "<state>", '
        '"instanceStatus": "instance \\"<instance>\\" is in <state>"}'
    )
    assert json.loads(render(template)) == {
        "instance": "i-0123456789",
        "state": "RUNNING",
        "instanceStatus": 'instance "i-0123456789" is in RUNNING',
    }


def test_aws_example_json_with_a_mix_of_variables_and_static_information():
    template = '{"instance" : <instance>, "state": [ 9, <state>, true ], "Transformed" : "Yes"}'
    assert json.loads(render(template)) == {
        "instance": "i-0123456789",
        "state": [9, "RUNNING", True],
        "Transformed": "Yes",
    }


def test_aws_example_reserved_variables_in_json():
    template = (
        '{"instance" : <instance>, "state": <state>, "ruleArn" : <aws.events.rule-arn>, '
        '"ruleName" : <aws.events.rule-name>, "originalEvent" : <aws.events.event>}'
    )
    value = json.loads(render(template))
    assert value["ruleArn"] == "arn:aws:events:us-east-2:123456789012:rule/example"
    assert value["ruleName"] == "example"
    # Current docs: aws.events.event is the original event *without* its detail field.
    expected = {k: v for k, v in EC2_EVENT.items() if k != "detail"}
    assert value["originalEvent"] == expected


def test_aws_example_reserved_variable_in_a_string():
    assert render('"<aws.events.rule-name> triggered"') == '"example triggered"'


def test_aws_api_example_plain_text_template_inserts_values_as_text():
    paths = {"instance": "$.detail.instance", "status": "$.detail.status"}
    event = {"detail": {"instance": "i-1", "status": "stopped"}}
    assert render("<instance> is in state <status>", paths, event) == "i-1 is in state stopped"


def test_aws_api_example_json_with_variables_in_quotes_or_out():
    paths = {"instance": "$.detail.instance", "status": "$.detail.status"}
    event = {"detail": {"instance": "i-1", "status": "stopped"}}
    template = '{"myInstance": <instance>,"myStatus": "<instance> is in state \\"<status>\\""}'
    assert json.loads(render(template, paths, event)) == {
        "myInstance": "i-1",
        "myStatus": 'i-1 is in state "stopped"',
    }


def test_aws_example_array_index_path():
    assert json.loads(render('{"r": <resource>}')) == {"r": EC2_EVENT["resources"][0]}


# --- quoting and value types --------------------------------------------------------------

ORDER_PATHS = {
    "id": "$.detail.order.id",
    "total": "$.detail.order.total",
    "paid": "$.detail.order.paid",
    "note": "$.detail.order.note",
    "order": "$.detail.order",
    "sku": "$.detail.items[1].sku",
    "items": "$.detail.items",
    "customer": "$.detail.customer",
    "everything": "$",
}


def order_transformer(template: str) -> InputTransformer:
    return InputTransformer(ORDER_PATHS, template)


def test_unquoted_values_keep_their_json_types():
    t = order_transformer(
        '{"total": <total>, "paid": <paid>, "note": <note>, "order": <order>, "items": <items>}'
    )
    assert t.render_json(ORDER_EVENT) == {
        "total": 99.5,
        "paid": True,
        "note": None,
        "order": ORDER_EVENT["detail"]["order"],
        "items": ORDER_EVENT["detail"]["items"],
    }


def test_quoted_non_string_values_are_inserted_as_their_json_text():
    t = order_transformer('{"s": "total=<total> paid=<paid> order=<order>"}')
    assert t.render_json(ORDER_EVENT) == {
        "s": 'total=99.5 paid=true order={"id":"o-42","total":99.5,"paid":true,"note":null}'
    }


def test_quoted_string_values_are_json_escaped_so_the_output_stays_valid():
    t = order_transformer('{"who": "<customer>", "raw": <customer>}')
    assert t.render_json(ORDER_EVENT) == {
        "who": ORDER_EVENT["detail"]["customer"],
        "raw": ORDER_EVENT["detail"]["customer"],
    }


def test_quoted_string_with_control_characters_is_escaped():
    event = {"detail": {"text": 'line1\nline2\t"q" \\ end'}}
    t = InputTransformer({"text": "$.detail.text"}, '{"t": "[<text>]"}')
    assert t.render_json(event) == {"t": '[line1\nline2\t"q" \\ end]'}


def test_json_template_output_is_minified():
    t = order_transformer('{\n    "id" :   <id>,\n    "list": [ 1,  2 ]\n}')
    assert t.render(ORDER_EVENT) == '{"id":"o-42","list":[1,2]}'


def test_whole_event_path_dollar_inserts_the_event():
    t = order_transformer('{"e": <everything>}')
    assert t.render_json(ORDER_EVENT) == {"e": ORDER_EVENT}


def test_non_ascii_values_are_kept_unescaped():
    event = {"detail": {"city": "Zürich"}}
    t = InputTransformer({"city": "$.detail.city"}, '{"city": "<city>"}')
    assert t.render(event) == '{"city":"Zürich"}'


def test_plain_text_template_renders_non_strings_as_compact_json():
    t = order_transformer("order <id>: total <total>, paid <paid>, sku <sku>, order <order>")
    assert t.render(ORDER_EVENT) == (
        'order o-42: total 99.5, paid true, sku B-2, order {"id":"o-42","total":99.5,'
        '"paid":true,"note":null}'
    )


def test_plain_text_template_with_quotes_is_not_json_and_keeps_values_raw():
    t = order_transformer('Order "<id>" placed by <customer>')
    result = t.transform(ORDER_EVENT)
    assert not result.is_json
    assert result.text == f'Order "o-42" placed by {ORDER_EVENT["detail"]["customer"]}'
    assert result.value == result.text


def test_json_template_value_is_the_parsed_payload():
    result = order_transformer('{"id": <id>}').transform(ORDER_EVENT)
    assert result.is_json
    assert result.value == {"id": "o-42"}
    assert result.missing == ()


def test_json_array_and_scalar_templates_are_json():
    assert order_transformer("[<id>, <total>]").render_json(ORDER_EVENT) == ["o-42", 99.5]
    assert order_transformer("<total>").render_json(ORDER_EVENT) == 99.5


def test_the_same_placeholder_can_appear_many_times():
    t = order_transformer('{"a": <id>, "b": "<id>/<id>"}')
    assert t.render_json(ORDER_EVENT) == {"a": "o-42", "b": "o-42/o-42"}
    assert t.variables == ("id",)


def test_angle_brackets_that_are_not_placeholders_are_literal_text():
    t = order_transformer("if a < b and c > d then <id>")
    assert t.render(ORDER_EVENT) == "if a < b and c > d then o-42"


# --- predefined variables ----------------------------------------------------------------


def test_event_json_variable_is_the_whole_original_event():
    t = InputTransformer(None, '{"original": <aws.events.event.json>}')
    assert t.render_json(ORDER_EVENT) == {"original": ORDER_EVENT}


def test_event_variable_omits_the_detail_field():
    t = InputTransformer({}, '{"meta": <aws.events.event>}')
    meta = t.render_json(ORDER_EVENT)["meta"]
    assert "detail" not in meta
    assert meta["source"] == "shop.orders"


def test_ingestion_time_defaults_to_the_event_time():
    t = InputTransformer(None, '"at <aws.events.event.ingestion-time>"')
    assert t.render_json(ORDER_EVENT) == "at 2026-11-27T12:00:00Z"


def test_ingestion_time_is_passed_in_as_text_or_datetime():
    t = InputTransformer(None, '{"at": <aws.events.event.ingestion-time>}')
    assert t.render_json(ORDER_EVENT, ingestion_time="2026-01-01T00:00:00Z") == {
        "at": "2026-01-01T00:00:00Z"
    }
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert t.render_json(ORDER_EVENT, ingestion_time=when) == {"at": "2026-01-02T03:04:05Z"}
    naive = datetime(2026, 1, 2, 3, 4, 5)
    assert t.render_json(ORDER_EVENT, ingestion_time=naive) == {"at": "2026-01-02T03:04:05Z"}


def test_rule_name_and_arn_default_to_empty_strings():
    t = InputTransformer(None, '{"n": <aws.events.rule-name>, "a": "<aws.events.rule-arn>"}')
    assert t.render_json(ORDER_EVENT) == {"n": "", "a": ""}


@pytest.mark.parametrize("name", ["aws.events.event", "aws.events.event.json"])
def test_raw_event_variables_cannot_be_quoted(name):
    expected = re.escape(f"<{name}> can only be used as an unquoted")
    with pytest.raises(InvalidTransformer, match=expected):
        InputTransformer(None, f'{{"e": "<{name}>"}}')


@pytest.mark.parametrize("name", ["aws.events.event", "aws.events.event.json"])
def test_raw_event_variables_cannot_be_used_in_a_text_template(name):
    with pytest.raises(InvalidTransformer) as info:
        InputTransformer(None, f"event: <{name}>")
    assert info.value.key == name


# --- paths that resolve to nothing --------------------------------------------------------


def test_missing_path_is_null_unquoted_and_empty_quoted_and_reported():
    paths = {"coupon": "$.detail.coupon.code", "id": "$.detail.order.id"}
    t = InputTransformer(paths, '{"coupon": <coupon>, "label": "code=<coupon>;", "id": <id>}')
    result = t.transform(ORDER_EVENT)
    assert result.value == {"coupon": None, "label": "code=;", "id": "o-42"}
    assert result.missing == (MissingPath("coupon", "$.detail.coupon.code"),)
    assert str(result.missing[0]) == "<coupon> ($.detail.coupon.code) resolved to nothing"


def test_missing_path_in_a_text_template_renders_as_nothing():
    t = InputTransformer({"c": "$.detail.coupon"}, "coupon [<c>]")
    result = t.transform(ORDER_EVENT)
    assert result.text == "coupon []"
    assert [m.name for m in result.missing] == ["c"]


def test_present_null_value_is_not_missing():
    t = order_transformer('{"note": <note>, "text": "<note>"}')
    result = t.transform(ORDER_EVENT)
    assert result.value == {"note": None, "text": "null"}
    assert result.missing == ()


def test_unused_map_entries_are_not_resolved_or_reported():
    t = InputTransformer({"id": "$.detail.order.id", "gone": "$.nope"}, "<id>")
    assert t.transform(ORDER_EVENT).missing == ()


@pytest.mark.parametrize(
    "path",
    [
        "$.detail.items[5].sku",  # index out of range
        "$.detail.order.id.deeper",  # through a string
        "$.detail.order[0]",  # index into an object
        "$.detail.items.sku",  # name on a list
        "$.detail.items[*].missing",  # wildcard that matches nothing
    ],
)
def test_paths_that_match_nothing_are_missing(path):
    t = InputTransformer({"v": path}, '{"v": <v>}')
    result = t.transform(ORDER_EVENT)
    assert result.value == {"v": None}
    assert result.missing == (MissingPath("v", path),)


def test_missing_variables_are_listed_in_template_order():
    t = InputTransformer({"a": "$.x", "b": "$.y"}, '{"b": <b>, "a": <a>}')
    assert [m.name for m in t.transform(ORDER_EVENT).missing] == ["b", "a"]


# --- path syntax --------------------------------------------------------------------------


def test_wildcard_index_collects_every_item():
    t = InputTransformer({"skus": "$.detail.items[*].sku"}, '{"skus": <skus>}')
    assert t.render_json(ORDER_EVENT) == {"skus": ["A-1", "B-2"]}


def test_dot_wildcard_collects_object_values():
    t = InputTransformer({"vals": "$.detail.order.*"}, "<vals>")
    assert t.render_json(ORDER_EVENT) == ["o-42", 99.5, True, None]


def test_path_names_may_hold_dashes_underscores_and_slashes():
    event = {"detail-type": "X", "detail": {"a_b": {"c/d": 1}}}
    t = InputTransformer({"t": "$.detail-type", "v": "$.detail.a_b.c/d"}, '{"t": <t>, "v": <v>}')
    assert t.render_json(event) == {"t": "X", "v": 1}


def test_nested_array_indices():
    event = {"detail": {"grid": [[1, 2], [3, 4]]}}
    t = InputTransformer({"v": "$.detail.grid[1][0]"}, "<v>")
    assert t.render_json(event) == 3


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("detail.id", "must start with '$'"),
        ("$detail", "unexpected 'd'"),
        ("$.", "expected a name after '.'"),
        ("$.detail..id", "expected a name after '.'"),
        ("$['detail']", "use dot notation for names"),
        ("$.items[-1]", "only array indices"),
        ("$.items[a]", "only array indices"),
        ("$.a b", "unexpected ' '"),
        ("", "must be 1-256 characters"),
        ("$." + "a" * 300, "must be 1-256 characters"),
    ],
)
def test_invalid_path_syntax_names_the_key_and_the_reason(path, reason):
    with pytest.raises(InvalidTransformer) as info:
        InputTransformer({"order_id": path}, "<order_id>")
    assert info.value.key == "order_id"
    assert reason in info.value.reason
    assert "InputPathsMap key 'order_id'" in str(info.value)


def test_non_string_path_is_rejected_naming_the_key():
    with pytest.raises(InvalidTransformer, match=r"'n'.*must be a string"):
        InputTransformer({"n": 5}, "<n>")  # type: ignore[dict-item]


# --- keys and limits ----------------------------------------------------------------------


@pytest.mark.parametrize("key", ["order.id", "has space", "ünï", "a:b"])
def test_keys_allow_only_letters_digits_underscore_and_dash(key):
    with pytest.raises(InvalidTransformer) as info:
        InputTransformer({key: "$.id"}, "x")
    assert info.value.key == key
    assert "only letters, digits" in info.value.reason


@pytest.mark.parametrize("key", ["aws.events.rule-name", "AWS.custom", "aws.x"])
def test_aws_prefixed_keys_are_reserved(key):
    with pytest.raises(InvalidTransformer, match="reserved") as info:
        InputTransformer({key: "$.id"}, "x")
    assert info.value.key == key


def test_empty_key_is_rejected():
    with pytest.raises(InvalidTransformer, match="non-empty string"):
        InputTransformer({"": "$.id"}, "x")


def test_key_longer_than_256_characters_is_rejected():
    key = "k" * 257
    with pytest.raises(InvalidTransformer, match="at most 256 characters"):
        InputTransformer({key: "$.id"}, "x")
    InputTransformer({"k" * 256: "$.id"}, "x")


def test_at_most_100_input_paths():
    paths = {f"v{i}": "$.id" for i in range(MAX_INPUT_PATHS)}
    InputTransformer(paths, "x")
    paths["one_more"] = "$.id"
    with pytest.raises(InvalidTransformer, match="101 entries; at most 100"):
        InputTransformer(paths, "x")


def test_template_length_is_1_to_8192_characters():
    InputTransformer(None, "x" * MAX_TEMPLATE_LENGTH)
    with pytest.raises(InvalidTransformer, match="1-8192 characters"):
        InputTransformer(None, "x" * (MAX_TEMPLATE_LENGTH + 1))
    with pytest.raises(InvalidTransformer, match="1-8192 characters"):
        InputTransformer(None, "")


def test_template_must_be_a_string():
    with pytest.raises(InvalidTransformer, match="must be a string"):
        InputTransformer(None, {"a": 1})  # type: ignore[arg-type]


def test_none_and_empty_paths_map_are_the_same():
    assert InputTransformer(None, '"hi"').render(ORDER_EVENT) == '"hi"'
    assert InputTransformer({}, '"hi"').render(ORDER_EVENT) == '"hi"'


# --- template errors ----------------------------------------------------------------------


def test_unknown_placeholder_is_named():
    with pytest.raises(InvalidTransformer) as info:
        InputTransformer({"id": "$.id"}, '{"id": <id>, "x": <order_total>}')
    assert info.value.key == "order_total"
    assert "<order_total> is not defined in InputPathsMap" in str(info.value)


def test_unknown_aws_variable_is_rejected():
    with pytest.raises(InvalidTransformer, match=re.escape("<aws.events.rule-id>")):
        InputTransformer(None, "<aws.events.rule-id>")


def test_quoted_placeholder_cannot_be_an_object_key():
    with pytest.raises(InvalidTransformer, match="cannot be used as an object key") as info:
        InputTransformer({"k": "$.id"}, '{"<k>": 1}')
    assert info.value.key == "k"


def test_unquoted_placeholder_cannot_be_an_object_key():
    with pytest.raises(InvalidTransformer, match="cannot be used as an object key") as info:
        InputTransformer({"k": "$.id"}, "{<k>: 1}")
    assert info.value.key == "k"


def test_object_key_check_applies_inside_nested_objects():
    with pytest.raises(InvalidTransformer, match="object key"):
        InputTransformer({"k": "$.id"}, '[{"a": {"x<k>": 1}}]')


def test_a_template_shaped_like_an_object_must_be_valid_json():
    with pytest.raises(InvalidTransformer, match="JSON object but not valid JSON") as info:
        InputTransformer({"id": "$.id"}, '{"id": <id>,}')
    assert info.value.key is None
    assert str(info.value).startswith("InputTemplate: ")


def test_text_that_is_not_an_object_is_a_plain_text_template():
    t = InputTransformer({"id": "$.id"}, "[alert] <id> is down {soon")
    assert not t.is_json_template
    assert t.render({"id": "x"}) == "[alert] x is down {soon"


def test_transformer_exposes_its_definition():
    t = InputTransformer(ORDER_PATHS, '{"id": <id>}')
    assert t.input_paths_map == ORDER_PATHS
    assert t.input_template == '{"id": <id>}'
    assert t.is_json_template
    assert "InputTransformer(" in repr(t)


# --- rendering errors ---------------------------------------------------------------------


def test_render_json_of_a_text_template_raises_transform_error():
    t = InputTransformer({"id": "$.id"}, "order <id>")
    with pytest.raises(TransformError, match="plain text, not JSON"):
        t.render_json({"id": "x"})


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), {1, 2}])
def test_value_without_a_json_form_raises_transform_error_naming_the_variable(bad):
    t = InputTransformer({"v": "$.v"}, '{"v": <v>}')
    with pytest.raises(TransformError, match="<v> has no JSON form"):
        t.render({"v": bad})


def test_shop_scenario_transformer_renders_the_tax_payload():
    t = InputTransformer(
        {"order": "$.detail.order_id", "amount": "$.detail.total", "currency": "$.detail.currency"},
        '{"order": "<order>", "amount": <amount>, "currency": "<currency>"}',
    )
    event = {"detail": {"order_id": "o-1", "total": 12.5, "currency": "EUR"}}
    assert t.render_json(event) == {"order": "o-1", "amount": 12.5, "currency": "EUR"}
