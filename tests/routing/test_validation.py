"""Invalid event patterns: each is refused with the path and the reason."""

from __future__ import annotations

import pickle

import pytest

from flows.routing import EventPattern, InvalidPattern

# (pattern, path of the problem, fragment of the reason)
INVALID = [
    # the pattern itself
    ([1, 2, 3], "", "must be a JSON object, got array"),
    ("[1, 2, 3]", "", "must be a JSON object, got array"),
    ('"source"', "", "must be a JSON object, got string"),
    ("{not json", "", "not valid JSON"),
    ({}, "", "empty objects are not allowed"),
    ({1: ["x"]}, "", "field names must be strings"),
    # fields
    ({"detail": {}}, "detail", "empty objects are not allowed"),
    ({"source": "shop"}, "source", "must be an object (to match nested fields) or an array"),
    ({"detail": {"amount": 5}}, "detail.amount", "got number 5"),
    ({"source": None}, "source", "got null"),
    ({"source": []}, "source", "empty arrays are not allowed"),
    ({"a": [["x"]]}, "a", "nested arrays are not allowed"),
    # operator objects
    ({"a": [{}]}, "a", "empty operator object"),
    ({"a": [{"prefix": "x", "suffix": "y"}]}, "a", "exactly one operator, got 'prefix', 'suffix'"),
    ({"a": [{"contains": "x"}]}, "a", "unknown operator 'contains'"),
    ({"detail": [{"state": ["x"]}]}, "detail", "use an object, not an array"),
    ({"a": [{"exactly": "x"}]}, "a", "unknown operator 'exactly'"),
    # prefix / suffix / equals-ignore-case
    ({"a": [{"prefix": 3}]}, "a", "prefix needs a string"),
    ({"a": [{"prefix": {"invalid": "x"}}]}, "a", "got an object with 'invalid'"),
    ({"a": [{"prefix": {"equals-ignore-case": 5}}]}, "a", "equals-ignore-case needs a string"),
    ({"a": [{"suffix": ["x"]}]}, "a", "suffix needs a string"),
    ({"a": [{"suffix": {"equals-ignore-case": "x", "b": 1}}]}, "a", "accepts a string or"),
    ({"a": [{"equals-ignore-case": ["abc"]}]}, "a", "equals-ignore-case needs a string, got array"),
    # wildcard
    ({"key": [{"wildcard": "abc**def"}]}, "key", "consecutive wildcard characters"),
    ({"key": [{"wildcard": "a\\b"}]}, "key", "invalid escape"),
    ({"key": [{"wildcard": 5}]}, "key", "wildcard needs a string"),
    # anything-but
    ({"a": [{"anything-but": None}]}, "a", "anything-but needs a string, a number"),
    ({"a": [{"anything-but": True}]}, "a", "got boolean"),
    ({"a": [{"anything-but": []}]}, "a", "anything-but list must not be empty"),
    ({"a": [{"anything-but": ["x", 1]}]}, "a", "only strings or only numbers"),
    ({"a": [{"anything-but": ["x", None]}]}, "a", "must be strings or numbers, got null"),
    ({"a": [{"anything-but": {}}]}, "a", "got nothing"),
    ({"a": [{"anything-but": {"numeric": [">", 1]}}]}, "a", "got 'numeric'"),
    ({"a": [{"anything-but": {"prefix": ""}}]}, "a", "anything-but prefix must not be empty"),
    (
        {"a": [{"anything-but": {"suffix": ["x", ""]}}]},
        "a",
        "anything-but suffix must not be empty",
    ),
    ({"a": [{"anything-but": {"prefix": 27}}]}, "a", "prefix values must be strings, got number"),
    ({"a": [{"anything-but": {"equals-ignore-case": [1]}}]}, "a", "must be strings"),
    ({"a": [{"anything-but": {"wildcard": "a**"}}]}, "a", "consecutive wildcard characters"),
    ({"a": [{"anything-but": {"prefix": []}}]}, "a", "prefix list must not be empty"),
    # numeric
    ({"n": [{"numeric": 5}]}, "n", "numeric needs a non-empty array"),
    ({"n": [{"numeric": []}]}, "n", "numeric needs a non-empty array"),
    ({"n": [{"numeric": ["==", 1]}]}, "n", 'unknown numeric operator "=="'),
    ({"n": [{"numeric": [5]}]}, "n", "unknown numeric operator 5"),
    ({"n": [{"numeric": ["<"]}]}, "n", "needs a number after it"),
    ({"n": [{"numeric": ["=", "5"]}]}, "n", "needs a number, got string"),
    ({"n": [{"numeric": [">=", True]}]}, "n", "needs a number, got boolean"),
    ({"n": [{"numeric": ["=", 1, ">", 0]}]}, "n", "too many elements"),
    ({"n": [{"numeric": ["<", 10, ">", 0]}]}, "n", "write the lower bound first"),
    ({"n": [{"numeric": [">", 1, "<", 30, False]}]}, "n", "too many elements"),
    ({"n": [{"numeric": [">", 0, ">", 5]}]}, "n", "continues with < or <="),
    ({"n": [{"numeric": [">", 0, "<"]}]}, "n", "incomplete numeric range"),
    ({"n": [{"numeric": [">", 0, "<", "5"]}]}, "n", "'<' needs a number, got string"),
    ({"n": [{"numeric": [">", 30, "<", 1]}]}, "n", "lower bound 30 is not below upper bound 1"),
    ({"n": [{"numeric": [">=", 1, "<=", 1]}]}, "n", "numeric range is empty"),
    ('{"n": [{"numeric": [">", 1e400]}]}', "n", "out of range"),
    ('{"n": [1e400]}', "n", "out of range"),
    ('{"n": [{"anything-but": -1e400}]}', "n", "out of range"),
    # exists
    ({"x": [{"exists": "badString"}]}, "x", "exists must be true or false, got string"),
    ({"x": [{"exists": True, "extraKey": 1}]}, "x", "exactly one operator"),
    # cidr
    ({"ip": [{"cidr": "10.0.0.0"}]}, "ip", "exactly one '/'"),
    ({"ip": [{"cidr": "foo/24"}]}, "ip", "'foo' is not an IPv4 or IPv6 address"),
    ({"ip": [{"cidr": "10.0.0.0/33"}]}, "ip", "longer than 32 bits"),
    ({"ip": [{"cidr": "2001:db8::/129"}]}, "ip", "longer than 128 bits"),
    ({"ip": [{"cidr": "10.0.0.0/x"}]}, "ip", "not a whole number"),
    ({"ip": [{"cidr": "10.0.0.300/8"}]}, "ip", "not an IPv4 or IPv6 address"),
    ({"ip": [{"cidr": 10}]}, "ip", "cidr needs a string"),
    # $or
    ({"$or": {"a": ["x"]}}, "$or", "$or must be an array of objects, got object"),
    ({"$or": [{"metricName": ["CPU"]}]}, "$or", "at least 2 alternatives, got 1"),
    ({"detail": {"$or": [{"a": ["x"]}, [{"b": ["y"]}]]}}, "detail.$or[1]", "must be objects"),
    ({"$or": [{"a": ["x"]}, {}]}, "$or[1]", "empty objects are not allowed"),
    ({"$or": [{"a": ["x"]}, {"numeric": [1]}]}, "$or[1].numeric", "operator name"),
    ({"$or": [{"a": ["x"]}, {"b": {"prefix": ["y"]}}]}, "$or[1].b.prefix", "operator name"),
    ({"detail": {"$or": [{"a": ["x"]}, {"b": []}]}}, "detail.$or[1].b", "empty arrays"),
]


def _ids() -> list[str]:
    return [f"{i:02d}-{reason[:40]}" for i, (_, _, reason) in enumerate(INVALID)]


@pytest.mark.parametrize(("pattern", "path", "reason"), INVALID, ids=_ids())
def test_invalid_pattern_names_the_path_and_the_reason(pattern, path, reason):
    with pytest.raises(InvalidPattern) as caught:
        EventPattern(pattern)
    error = caught.value
    assert error.path == path
    assert reason in error.reason
    assert reason in str(error)
    assert (path or "(root)") in str(error)


def test_invalid_pattern_is_a_value_error():
    with pytest.raises(ValueError, match=r"invalid event pattern at detail\.amount: "):
        EventPattern({"detail": {"amount": [{"numeric": [">", 5, "<", 1]}]}})


def test_invalid_pattern_survives_pickling():
    error = InvalidPattern("detail.amount", "numeric range is empty")
    clone = pickle.loads(pickle.dumps(error))
    assert (clone.path, clone.reason, str(clone)) == (error.path, error.reason, str(error))


def test_too_many_or_combinations_are_refused():
    alternatives = [{f"f{i}": ["x"]} for i in range(40)]
    pattern = {"a": {"$or": alternatives}, "b": {"$or": alternatives}}
    with pytest.raises(InvalidPattern, match="more than 1024 alternatives"):
        EventPattern(pattern)


@pytest.mark.parametrize(
    "pattern",
    [
        {"a": [{"prefix": ""}]},
        {"a": [{"anything-but": {"equals-ignore-case": ""}}]},
        {"a": [{"anything-but": {"wildcard": ""}}]},
        {"a": [{"numeric": [">", 1e-320]}]},
        {"a": [{"cidr": "10.0.0.1/32"}]},
        {"a": [{"cidr": "220.160.153.171/31"}]},
        {"a": [{"wildcard": "a\\*\\\\*"}]},
        {"prefix": ["field named like an operator, outside $or"]},
        {"a": ["x", 1, True, None, {"exists": False}]},
    ],
)
def test_edge_patterns_that_eventbridge_accepts_are_valid(pattern):
    EventPattern(pattern)
