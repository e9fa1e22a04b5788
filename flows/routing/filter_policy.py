"""SNS subscription filter policies, validated the SNS way and matched by the event-pattern
engine where the two services agree.

A filter policy decides whether a topic delivers a message to one subscription. Its
*scope* says what it looks at (AWS SNS Developer Guide, "Amazon SNS message filtering"):

- ``MessageAttributes`` (the default): the message attributes. The policy is flat: each
  key is an attribute name (nested objects are refused, SNS "Filter policy constraints").
  ``message`` is either the SNS form ``{"store": {"Type": "String", "Value": "x"}}``
  (the Publish API form ``{"DataType": ..., "StringValue": ...}`` is accepted too) or, as
  in our envelope's ``attributes`` field, plain values ``{"store": "x", "price": 10.5}``.
  Plain values are typed as SNS would type them: ``str`` -> String, ``bool`` -> String
  ``"true"``/``"false"`` (SNS has no boolean attribute type), ``int``/``float`` -> Number,
  ``list`` -> String.Array (elements keep their JSON types, as when SNS parses the
  array's text); ``None`` and objects are ignored (an attribute has no null and
  attribute filtering has no nesting).
  Type rules: a String attribute is matched only by string conditions and a Number only
  by numeric ones (exact numbers, ``numeric``, numeric ``anything-but``); ``exists``
  matches either. A String.Array matches when any element matches; Binary attributes
  are ignored. SNS "Key matching": ``"exists": false`` "only matches if at least one
  attribute is present", so a message without attributes matches no (non-empty) policy.
- ``MessageBody``: the message body, a JSON object or its JSON text (our envelope's
  ``detail``, or the whole envelope: the caller decides). Policies may nest. ``exists``
  applies only to leaves, and ``"exists": true`` needs "a non-null and non-empty value"
  (SNS "Key matching"), so a ``null`` in the body counts as absent. Other type rules are
  EventBridge's: ``{"anything-but": "x"}`` matches the number ``5`` in a body.

Operators (SNS "String value matching", "Numeric value matching", "Key matching",
"AND/OR logic"): exact strings/numbers (and ``true``/``false``/``null``), ``prefix``,
``suffix``, ``equals-ignore-case``, ``anything-but`` (a value, a list, or
``{"prefix"|"suffix"|"wildcard": ...}``), ``numeric`` (``=``, ``<``, ``<=``, ``>``, ``>=``,
one comparison or a lower and an upper bound), ``exists``, ``cidr``, ``wildcard`` and
``$or``. ``$or`` counts as an operator only as SNS defines it: an array of at least two
objects none of whose keys is an operator name (a nested ``$or`` is fine, the AWS example
has one); otherwise ``"$or"`` is a plain key. EventBridge-only forms (``prefix`` with
``equals-ignore-case``, ``anything-but`` with ``equals-ignore-case``) are refused.

Limits enforced on construction (SNS "Filter policy constraints"):

- at most 5 keys: distinct attribute names, or for a nested policy distinct leaf paths
  (``detail.scope``), counted once however many ``$or`` branches name them;
- at most 150 combinations: each key weighs (number of values) x (nesting level), the
  weights multiply across keys and add up across ``$or`` alternatives, which reproduces
  the AWS examples (6, 72, 7 and 32);
- a policy of at most 256 KB (its compact JSON text, for a dict);
- numbers within -1e9..1e9; numbers on both sides are compared with five decimal digits;
- wildcards ("Wildcard pattern usage guidelines"): at most 3 ``*`` per pattern and a
  complexity of at most 100, a field scoring (sum of its pattern points) x (number of
  patterns), with 1 point for a one-``*`` pattern, 3 for a several-``*`` one and 1 for an
  ``anything-but`` (fields without a wildcard score nothing).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from flows.routing.explain import Wording, explain_subrules
from flows.routing.fields import Fields, FieldSelector
from flows.routing.matchers import (
    AnythingBut,
    AnythingButIgnoreCase,
    AnythingButPrefix,
    AnythingButSuffix,
    AnythingButWildcard,
    Matcher,
    parse_cidr,
    to_number,
)
from flows.routing.patterns import (
    MISSING,
    OPERATORS,
    Mismatch,
    Step,
    SubRule,
    compile_pattern,
    match_subrule,
)

__all__ = [
    "MAX_COMBINATIONS",
    "MAX_KEYS",
    "MAX_POLICY_BYTES",
    "MESSAGE_ATTRIBUTES",
    "MESSAGE_BODY",
    "MISSING",
    "SCOPES",
    "FilterPolicy",
    "InvalidFilterPolicy",
    "Mismatch",
    "PolicyStats",
    "attributes_to_dict",
    "validate_policy",
]

MESSAGE_ATTRIBUTES = "MessageAttributes"
MESSAGE_BODY = "MessageBody"
SCOPES = (MESSAGE_ATTRIBUTES, MESSAGE_BODY)

MAX_KEYS = 5
MAX_COMBINATIONS = 150
MAX_POLICY_BYTES = 256 * 1024
NUMERIC_LIMIT = 1_000_000_000
NUMERIC_DECIMALS = 5
MAX_WILDCARDS_PER_PATTERN = 3
MAX_WILDCARD_COMPLEXITY = 100

OR = "$or"
RESERVED_KEYWORDS = frozenset(
    {
        "anything-but",
        "cidr",
        "equals-ignore-case",
        "exists",
        "numeric",
        "prefix",
        "suffix",
        "wildcard",
        OR,
    }
)
NUMERIC_OPERATORS = frozenset({"=", "<", "<=", ">", ">="})
_LOWER_BOUNDS = frozenset({">", ">="})
_UPPER_BOUNDS = frozenset({"<", "<="})

# SNS reads "$or" as a plain key when it does not have the operator's shape; the pattern
# engine always reads it as an operator, so such a key is renamed on both sides.
_LITERAL_OR = "\x00$or"


class InvalidFilterPolicy(ValueError):
    """The filter policy is invalid. ``path`` locates the fault (``price[0].numeric``,
    ``detail.scope``; ``""`` for the policy as a whole) and ``reason`` says why."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"Filter policy {path}: {reason}" if path else f"Filter policy: {reason}")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_finite_number(value: Any) -> bool:
    # Python ints are unbounded and always finite (math.isfinite overflows on huge ones).
    return _is_number(value) and (isinstance(value, int) or math.isfinite(value))


def _sns_number(value: int | float) -> int | float:
    """SNS compares numbers with five digits after the decimal point."""
    if isinstance(value, int):
        return value
    rounded = round(value, NUMERIC_DECIMALS)
    return int(rounded) if rounded.is_integer() and abs(rounded) < 2**53 else rounded


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _is_or_operator(value: Any) -> bool:
    """SNS "OR operator": an array of at least two objects, none keyed by a keyword."""
    return (
        isinstance(value, list)
        and len(value) >= 2
        and all(isinstance(item, dict) for item in value)
        # A nested "$or" is allowed (the AWS example nests one); operator names are not.
        and not any(key in RESERVED_KEYWORDS - {OR} for item in value for key in item)
    )


@dataclass(frozen=True, slots=True)
class PolicyStats:
    """Figures SNS limits, exposed so an editor can show how close a policy is."""

    keys: tuple[str, ...]
    combinations: int
    wildcard_complexity: int


class _Validator:
    """Walks a policy once: checks every operand, counts keys, combinations and wildcard
    complexity, and builds the equivalent event pattern."""

    def __init__(self, scope: str) -> None:
        self.scope = scope
        self.leaf_keys: dict[str, None] = {}
        self.wildcard_complexity = 0

    # Each method returns (compiled pattern fragment, combination total).

    def object(
        self, node: Mapping[str, Any], path: str, depth: int, field: str = ""
    ) -> tuple[dict, int]:
        """``path`` locates errors (with ``$or[i]`` steps); ``field`` is the property path
        that keys are counted by (the same key in two ``$or`` branches counts once)."""
        if not node:
            raise InvalidFilterPolicy(path, "an object in a filter policy cannot be empty")
        compiled: dict[str, Any] = {}
        total = 1
        for key, value in node.items():
            if not isinstance(key, str):
                raise InvalidFilterPolicy(path, f"key {key!r} must be a string")
            key_path = _join(path, key)
            if key == OR and _is_or_operator(value):
                branches = []
                or_total = 0
                for index, branch in enumerate(value):
                    fragment, branch_total = self.object(
                        branch, f"{key_path}[{index}]", depth, field
                    )
                    branches.append(fragment)
                    or_total += branch_total
                compiled[OR] = branches
                total *= or_total
                continue
            compiled_key = _LITERAL_OR if key == OR else key
            key_field = _join(field, key)
            if isinstance(value, dict):
                if self.scope == MESSAGE_ATTRIBUTES:
                    raise InvalidFilterPolicy(
                        key_path,
                        "nested filter policies are not supported for the MessageAttributes "
                        "scope (use the MessageBody scope)",
                    )
                fragment, child_total = self.object(value, key_path, depth + 1, key_field)
                compiled[compiled_key] = fragment
                total *= child_total
                continue
            compiled[compiled_key] = self.values(value, key_path)
            self.leaf_keys[key_field] = None
            # SNS: a leaf weighs (number of values) x (its nesting level).
            total *= len(value) * depth
        return compiled, total

    def values(self, value: Any, path: str) -> list[Any]:
        if not isinstance(value, list):
            raise InvalidFilterPolicy(
                path, f"the value must be an array of conditions, not {json.dumps(value)}"
            )
        if not value:
            raise InvalidFilterPolicy(path, "the array of conditions cannot be empty")
        compiled = [self.condition(item, f"{path}[{index}]") for index, item in enumerate(value)]
        points = sum(self._wildcard_points(item) for item in value)
        if any(self._has_wildcard(item) for item in value):
            # SNS "Wildcard pattern usage guidelines": (sum of points) x (number of patterns).
            self.wildcard_complexity += points * len(value)
        return compiled

    def condition(self, item: Any, path: str) -> Any:
        if item is None or isinstance(item, bool | str):
            return item
        if _is_number(item):
            return self.number(item, path)
        if isinstance(item, list):
            raise InvalidFilterPolicy(path, "a condition cannot be an array")
        if not isinstance(item, dict):  # pragma: no cover - JSON has no other types
            raise InvalidFilterPolicy(path, f"unsupported value {item!r}")
        if len(item) != 1:
            raise InvalidFilterPolicy(
                path,
                f"an operator object must have exactly one key, not {len(item)} "
                f"({', '.join(map(str, item)) or 'none'})",
            )
        ((operator, operand),) = item.items()
        op_path = _join(path, str(operator))
        check = self._OPERATORS.get(operator)
        if check is None:
            raise InvalidFilterPolicy(
                op_path,
                f"unknown operator {operator!r}; SNS supports "
                + ", ".join(sorted(RESERVED_KEYWORDS - {OR})),
            )
        return {operator: check(self, operand, op_path)}

    def number(self, value: Any, path: str) -> int | float:
        if not _is_finite_number(value):
            raise InvalidFilterPolicy(path, f"expected a number, not {json.dumps(value)}")
        if not -NUMERIC_LIMIT <= value <= NUMERIC_LIMIT:
            raise InvalidFilterPolicy(
                path, f"numbers must be between -1e9 and 1e9 (inclusive), not {value}"
            )
        return _sns_number(value)

    def _string(self, operand: Any, path: str) -> str:
        if not isinstance(operand, str):
            raise InvalidFilterPolicy(path, f"expected a string, not {json.dumps(operand)}")
        return operand

    def _wildcard(self, operand: Any, path: str) -> str:
        pattern = self._string(operand, path)
        if pattern.count("*") > MAX_WILDCARDS_PER_PATTERN:
            raise InvalidFilterPolicy(
                path,
                f"a wildcard pattern may hold at most {MAX_WILDCARDS_PER_PATTERN} '*', "
                f"{pattern!r} has {pattern.count('*')}",
            )
        return pattern

    def _exists(self, operand: Any, path: str) -> bool:
        if not isinstance(operand, bool):
            raise InvalidFilterPolicy(path, f"expected true or false, not {json.dumps(operand)}")
        return operand

    def _cidr(self, operand: Any, path: str) -> str:
        text = self._string(operand, path)
        try:
            parse_cidr(text)
        except ValueError as exc:
            raise InvalidFilterPolicy(path, f"{text!r} is not a CIDR block: {exc}") from None
        return text

    def _numeric(self, operand: Any, path: str) -> list[Any]:
        if not isinstance(operand, list) or len(operand) not in (2, 4):
            raise InvalidFilterPolicy(
                path,
                'expected [operator, number] or [">"|">=", low, "<"|"<=", high], '
                f"not {json.dumps(operand)}",
            )
        compiled: list[Any] = []
        for index in range(0, len(operand), 2):
            operator = operand[index]
            if operator not in NUMERIC_OPERATORS:
                raise InvalidFilterPolicy(
                    f"{path}[{index}]",
                    f"unknown numeric operator {json.dumps(operator)}; use one of =, <, <=, >, >=",
                )
            compiled += [operator, self.number(operand[index + 1], f"{path}[{index + 1}]")]
        if len(compiled) == 4:
            low_op, low, high_op, high = compiled
            if low_op not in _LOWER_BOUNDS or high_op not in _UPPER_BOUNDS:
                raise InvalidFilterPolicy(
                    path,
                    'a range must be a lower bound (">" or ">=") then an upper bound ("<" or "<=")',
                )
            if low >= high:
                raise InvalidFilterPolicy(path, f"the range is empty: {low} is not below {high}")
        return compiled

    def _anything_but(self, operand: Any, path: str) -> Any:
        if isinstance(operand, str):
            return operand
        if _is_number(operand):
            return self.number(operand, path)
        if isinstance(operand, list):
            if not operand:
                raise InvalidFilterPolicy(path, "the list of excluded values cannot be empty")
            compiled: list[Any] = []
            for index, value in enumerate(operand):
                if isinstance(value, str):
                    compiled.append(value)
                elif _is_number(value):
                    compiled.append(self.number(value, f"{path}[{index}]"))
                else:
                    raise InvalidFilterPolicy(
                        f"{path}[{index}]",
                        f"excluded values must be strings or numbers, not {json.dumps(value)}",
                    )
            return compiled
        if isinstance(operand, dict) and len(operand) == 1:
            ((inner, value),) = operand.items()
            inner_path = _join(path, str(inner))
            if inner in ("prefix", "suffix"):
                return {inner: self._string(value, inner_path)}
            if inner == "wildcard":
                return {inner: self._wildcard(value, inner_path)}
            raise InvalidFilterPolicy(
                inner_path,
                f"anything-but supports prefix, suffix or wildcard here, not {inner!r}",
            )
        raise InvalidFilterPolicy(
            path,
            "anything-but takes a string, a number, a non-empty array of them, or one of "
            f'{{"prefix"|"suffix"|"wildcard": ...}}, not {json.dumps(operand)}',
        )

    _OPERATORS = {
        "anything-but": _anything_but,
        "cidr": _cidr,
        "equals-ignore-case": _string,
        "exists": _exists,
        "numeric": _numeric,
        "prefix": _string,
        "suffix": _string,
        "wildcard": _wildcard,
    }

    @staticmethod
    def _has_wildcard(item: Any) -> bool:
        if not isinstance(item, dict):
            return False
        if "wildcard" in item:
            return True
        inner = item.get("anything-but")
        return isinstance(inner, dict) and "wildcard" in inner

    @staticmethod
    def _wildcard_points(item: Any) -> int:
        if not isinstance(item, dict):
            return 0
        if "anything-but" in item:
            return 1
        pattern = item.get("wildcard")
        if not isinstance(pattern, str):
            return 0
        stars = pattern.count("*")
        if stars == 0:
            return 0
        return 1 if stars == 1 else 3


def _load(policy: Mapping[str, Any] | str) -> tuple[dict[str, Any], int]:
    """The policy as a dict, and its size in bytes as SNS would measure the JSON text."""
    if isinstance(policy, str | bytes):
        text = policy.decode() if isinstance(policy, bytes) else policy
        size = len(text.encode())
        if size > MAX_POLICY_BYTES:
            raise InvalidFilterPolicy("", f"the policy is {size} bytes; at most 256 KB")
        try:
            loaded = json.loads(text)
        except ValueError as exc:
            raise InvalidFilterPolicy("", f"the policy is not valid JSON: {exc}") from None
    else:
        loaded = policy
        try:
            size = len(json.dumps(loaded, separators=(",", ":"), allow_nan=False).encode())
        except (TypeError, ValueError) as exc:
            raise InvalidFilterPolicy("", f"the policy is not JSON data: {exc}") from None
        if size > MAX_POLICY_BYTES:
            raise InvalidFilterPolicy("", f"the policy is {size} bytes; at most 256 KB")
    if not isinstance(loaded, Mapping):
        raise InvalidFilterPolicy("", f"the policy must be a JSON object, not {json.dumps(loaded)}")
    return dict(loaded), size


def validate_policy(
    policy: Mapping[str, Any] | str, scope: str = MESSAGE_ATTRIBUTES
) -> tuple[dict[str, Any], dict[str, Any], PolicyStats]:
    """Check ``policy`` against SNS rules for ``scope``.

    Returns the policy as a dict, the equivalent event pattern (numbers rounded as SNS
    compares them) and its ``PolicyStats``; raises ``InvalidFilterPolicy``.
    """
    if scope not in SCOPES:
        raise InvalidFilterPolicy(
            "", f"unknown scope {scope!r}; use {MESSAGE_ATTRIBUTES} or {MESSAGE_BODY}"
        )
    loaded, _size = _load(policy)
    if not loaded:
        return loaded, {}, PolicyStats((), 0, 0)
    validator = _Validator(scope)
    compiled, combinations = validator.object(loaded, "", 1)
    keys = tuple(validator.leaf_keys)
    if len(keys) > MAX_KEYS:
        raise InvalidFilterPolicy(
            "",
            f"a filter policy can have at most {MAX_KEYS} keys"
            + (" (leaf keys, for a nested policy)" if scope == MESSAGE_BODY else "")
            + f"; this one has {len(keys)}: {', '.join(keys)}",
        )
    if combinations > MAX_COMBINATIONS:
        raise InvalidFilterPolicy(
            "",
            f"the policy has {combinations} combinations of values; at most "
            f"{MAX_COMBINATIONS} are allowed (the product of each key's number of values"
            + (" and nesting level" if scope == MESSAGE_BODY else "")
            + ", summed over $or alternatives)",
        )
    if validator.wildcard_complexity > MAX_WILDCARD_COMPLEXITY:
        raise InvalidFilterPolicy(
            "",
            f"the wildcard complexity is {validator.wildcard_complexity}; at most "
            f"{MAX_WILDCARD_COMPLEXITY} is allowed",
        )
    return loaded, compiled, PolicyStats(keys, combinations, validator.wildcard_complexity)


# --- messages ----------------------------------------------------------------------------


_NUMBER_TEXT = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")


def _parse_number(raw: Any) -> int | float | None:
    """A Number attribute's value (JSON number syntax, as text or a number), or None."""
    if _is_number(raw):
        return _sns_number(raw) if _is_finite_number(raw) else None
    text = str(raw).strip()
    match = _NUMBER_TEXT.fullmatch(text)
    if match is None:
        return None
    if match.group(1) is None and match.group(2) is None:
        return int(text)
    value = float(text)
    return _sns_number(value) if math.isfinite(value) else None


def _array_items(items: list[Any]) -> list[Any]:
    # Elements keep their JSON types; objects and nested arrays cannot be matched flat.
    return [
        _sns_number(v) if _is_finite_number(v) else v
        for v in items
        if not isinstance(v, dict | list | tuple)
    ]


def _typed_attribute(data_type: str, value: Any) -> Any:
    """An SNS-typed attribute as the value the pattern engine compares, or None to ignore.

    Custom type suffixes (``Number.float``, ``String.json``) follow their base type, as in
    SNS; ``Binary`` attributes are ignored.
    """
    if data_type.startswith(("String.Array", "Number.Array")):
        items = value
        if isinstance(value, str):
            try:
                items = json.loads(value)
            except ValueError:
                return None
        return _array_items(items) if isinstance(items, list) else None
    if data_type == "Number" or data_type.startswith("Number."):
        return _parse_number(value)
    if data_type == "String" or data_type.startswith("String."):
        return None if value is None else str(value)
    return None


def _plain_attribute(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if _is_number(value):
        return _sns_number(value) if _is_finite_number(value) else None
    if isinstance(value, list | tuple):
        return _array_items(list(value))
    return None


def attributes_to_dict(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """SNS message attributes as a flat dict of typed values (see the module docstring).

    Binary attributes, ``None`` and unparseable values are left out, as SNS ignores them.
    """
    typed: dict[str, Any] = {}
    for name, raw in attributes.items():
        if isinstance(raw, Mapping) and ("Type" in raw or "DataType" in raw):
            data_type = str(raw.get("Type", raw.get("DataType", "")))
            value = raw.get("Value", raw.get("StringValue"))
            converted = _typed_attribute(data_type, value)
        else:
            converted = _plain_attribute(raw)
        if converted is not None:
            typed[name] = converted
    return typed


def _body_for_matching(node: Any) -> Any:
    """The body with numbers rounded as SNS compares them, empty values removed (an
    ``exists: true`` key "must have a non-null and non-empty value") and literal "$or"
    keys renamed like the policy's."""
    if isinstance(node, Mapping):
        out: dict[str, Any] = {}
        for key, value in node.items():
            converted = _body_for_matching(value)
            if converted is None or converted == [] or converted == {}:
                continue
            out[_LITERAL_OR if key == OR else key] = converted
        return out
    if isinstance(node, list):
        return [_body_for_matching(v) for v in node]
    if _is_finite_number(node):
        return _sns_number(node)
    return node


# --- SNS type rules on the pattern engine's matchers ----------------------------------


@dataclass(frozen=True, slots=True)
class _StringsOnly(Matcher):
    """An anything-but over strings, which SNS never applies to a Number attribute."""

    inner: Matcher
    operator: ClassVar[str] = "anything-but"
    kind: ClassVar[str] = "str"

    def matches(self, value: object) -> bool:
        return type(value) is str and self.inner.matches(value)


@dataclass(frozen=True, slots=True)
class _NumbersOnly(Matcher):
    """An anything-but over numbers, which SNS never applies to a String attribute."""

    inner: Matcher
    operator: ClassVar[str] = "anything-but"
    kind: ClassVar[str] = "num"

    def matches(self, value: object) -> bool:
        return to_number(value) is not None and self.inner.matches(value)


_STRING_ANYTHING_BUT = (
    AnythingButPrefix,
    AnythingButSuffix,
    AnythingButWildcard,
    AnythingButIgnoreCase,
)


def _typed_matcher(matcher: Matcher) -> Matcher:
    # Every other operator of the engine is already typed (exact values, prefix, numeric,
    # ...); only anything-but matches values of the other type, as EventBridge does.
    if isinstance(matcher, AnythingBut):
        return _NumbersOnly(matcher) if matcher.numbers else _StringsOnly(matcher)
    if isinstance(matcher, _STRING_ANYTHING_BUT):
        return _StringsOnly(matcher)
    return matcher


def _typed_step(step: Step) -> Step:
    matchers = tuple(_typed_matcher(m) for m in step.matchers)
    if matchers == step.matchers:
        return step
    return Step(step.path, matchers, step.absent_ok, step.clause)


def _display(path: str) -> str:
    return path.replace(_LITERAL_OR, OR)


def _policy_error(path: str, reason: str) -> InvalidFilterPolicy:
    return InvalidFilterPolicy(_display(path), _display(reason))


def _policy_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _attribute_type_hint(step: Step, present: list[Any]) -> str:
    """Why a clause missed an attribute of the other SNS type, if that is why."""
    kinds = {m.kind for m in step.matchers}
    if all(type(v) is str for v in present) and kinds <= {"num"}:
        return " (a String attribute is not matched by numeric conditions)"
    if all(to_number(v) is not None for v in present) and kinds <= {"str"}:
        return " (a Number attribute is not matched by string conditions)"
    return ""


# SNS's phrasing of a failed condition, per scope: "attribute store is missing; the policy
# expects [...]", listed in the policy's step order, with SNS's JSON spacing.
_WORDINGS = {
    scope: Wording(
        rule="policy",
        field="property",
        dumps=_policy_json,
        missing="attribute " if scope == MESSAGE_ATTRIBUTES else "property ",
        display=_display,
        hint=_attribute_type_hint if scope == MESSAGE_ATTRIBUTES else None,
    )
    for scope in SCOPES
}


# --- the policy ------------------------------------------------------------------------


class FilterPolicy:
    """A validated SNS subscription filter policy.

    ``FilterPolicy(policy, scope="MessageAttributes" | "MessageBody")`` takes a dict or
    JSON text and raises ``InvalidFilterPolicy`` (with ``path`` and ``reason``) for any
    policy SNS would refuse. ``matches(message)`` and ``explain(message)`` take the
    attributes dict (``MessageAttributes``) or the body (``MessageBody``: a dict, or JSON
    text of an object). An empty policy ``{}`` accepts every message.
    """

    __slots__ = ("_selector", "_subrules", "policy", "scope", "stats")

    def __init__(self, policy: Mapping[str, Any] | str, scope: str = MESSAGE_ATTRIBUTES) -> None:
        loaded, compiled, stats = validate_policy(policy, scope)
        self.policy: dict[str, Any] = loaded
        self.scope = scope
        self.stats = stats
        subrules: tuple[SubRule, ...] = ()
        if compiled:
            subrules = compile_pattern(compiled, operators=OPERATORS, error_type=_policy_error)
            if scope == MESSAGE_ATTRIBUTES:
                subrules = tuple(tuple(_typed_step(s) for s in sub) for sub in subrules)
        self._subrules = subrules
        self._selector = FieldSelector(step.path for sub in subrules for step in sub)

    def matches(self, message: Any) -> bool:
        """Whether SNS would deliver ``message`` to this subscription."""
        if not self._subrules:
            return True
        fields, _problem = self._fields(message)
        return fields is not None and any(match_subrule(sub, fields) for sub in self._subrules)

    def explain(self, message: Any) -> list[Mismatch]:
        """Why ``message`` is filtered out: ``[]`` when it matches, otherwise one
        ``Mismatch`` per failed condition (tagged with the ``$or`` branch when the policy
        has alternatives), shaped like ``EventPattern.explain``'s."""
        if not self._subrules:
            return []
        fields, problem = self._fields(message)
        if fields is None:
            return [Mismatch("", dict(self.policy), MISSING, problem)]
        if any(match_subrule(sub, fields) for sub in self._subrules):
            return []
        return explain_subrules(self._subrules, fields, _WORDINGS[self.scope])

    def _fields(self, message: Any) -> tuple[Fields | None, str]:
        if self.scope == MESSAGE_ATTRIBUTES:
            typed = attributes_to_dict(message) if isinstance(message, Mapping) else {}
            if not typed:
                # SNS "Key matching": even "exists": false needs one attribute present.
                return None, (
                    "the message has no message attributes SNS can filter on "
                    "(Binary attributes are ignored), so no filter policy matches it"
                )
            values = {
                (_LITERAL_OR if name == OR else name): (v if isinstance(v, list) else [v])
                for name, v in typed.items()
            }
            return Fields({k: v for k, v in values.items() if v}, None), ""
        body = message
        if isinstance(body, str | bytes):
            try:
                body = json.loads(body)
            except ValueError:
                return None, "the message body is not JSON, so a MessageBody policy cannot match"
        if not isinstance(body, Mapping):
            return (
                None,
                "the message body is not a JSON object, so a MessageBody policy cannot match",
            )
        return self._selector.collect(_body_for_matching(body)), ""

    def __repr__(self) -> str:
        return f"FilterPolicy({json.dumps(self.policy, ensure_ascii=False)}, scope={self.scope!r})"
