"""EventBridge event patterns: validation, compilation and matching.

Public API (re-exported by :mod:`flows.routing`)::

    p = EventPattern({"source": ["shop.orders"], "detail": {"total": [{"numeric": [">", 100]}]}})
    p.matches(event)   # event: dict or JSON text
    p.explain(event)   # [] when it matches, else one Mismatch per failed clause

Semantics are those of aws/event-ruler, the engine behind EventBridge (checked against
its test suite, see tests/routing/test_conformance.py): exact values, prefix, suffix,
equals-ignore-case (alone and inside prefix/suffix), wildcard, anything-but (values,
prefix, suffix, equals-ignore-case, wildcard), numeric (compared as IEEE doubles), exists,
cidr (IPv4/IPv6) and ``$or``. A field in an array matches if any element matches, and
fields taken from an array of objects must come from the same element.

Internal API, shared with :mod:`flows.routing.index` and the SNS filter-policy layer
(:mod:`flows.routing.filter_policy`)::

    compile_pattern(obj, *, operators=OPERATORS, error_type=InvalidPattern)
        -> tuple[SubRule, ...]
        Validates a decoded pattern and expands ``$or`` into alternative sub-rules
        (the pattern matches when any sub-rule does). ``operators`` restricts the operator
        set (unknown or disallowed operators are rejected); ``error_type(path, reason)``
        builds the exception raised on invalid input.
    SubRule = tuple[Step, ...]          steps in matching order (see _order_steps)
    Step.path / .matchers / .absent_ok / .clause / .test / .signature / .selectivity
        ``matchers`` are the value alternatives (flows.routing.matchers); ``absent_ok``
        is set by ``{"exists": false}``; ``test(value) -> bool`` ORs the matchers;
        ``clause`` is the list as written; ``signature`` is a hashable identity of the
        condition (without the path); ``selectivity`` ranks how narrow it is (0-3).
    FieldSelector(paths).collect(event) -> Fields   (flows.routing.fields)
    match_subrule(subrule, fields) -> bool
    explain_subrules(subrules, fields, wording) -> list[Mismatch]   (flows.routing.explain)
    load_pattern(obj_or_json_text, error_type=InvalidPattern) -> Mapping
    coerce_event(dict_or_json_text) -> Mapping

So a filter policy on SNS message attributes can build its own ``Fields`` (say
``Fields({"store": ["example_corp"], "price": [301.5]}, None)`` from ``{"Type": ...,
"Value": ...}`` attributes, one list entry per element of a ``String.Array``) and still
use ``match_subrule``; on a message body it can use ``FieldSelector`` as is.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn

from flows.routing._json import JSON_TEXT_TYPES, dumps, loads
from flows.routing.explain import MISSING, Mismatch, Wording, explain_subrules
from flows.routing.fields import (
    Chain,
    Fields,
    FieldSelector,
    chains_consistent,
    merge_chains,
)
from flows.routing.matchers import (
    EXISTS,
    AnythingBut,
    AnythingButIgnoreCase,
    AnythingButPrefix,
    AnythingButSuffix,
    AnythingButWildcard,
    Cidr,
    EqualsIgnoreCase,
    ExactLiteral,
    ExactNumber,
    ExactString,
    Exists,
    IpExact,
    Matcher,
    NumericRange,
    Prefix,
    PrefixIgnoreCase,
    Suffix,
    SuffixIgnoreCase,
    Wildcard,
    fold,
    parse_cidr,
    parse_ip,
    to_number,
)

__all__ = [
    "MISSING",
    "OPERATORS",
    "EventPattern",
    "InvalidPattern",
    "Mismatch",
    "Step",
    "SubRule",
    "coerce_event",
    "compile_pattern",
    "load_pattern",
    "match_subrule",
    "path_sort_key",
]

OPERATORS = frozenset(
    {
        "anything-but",
        "cidr",
        "equals-ignore-case",
        "exists",
        "numeric",
        "prefix",
        "suffix",
        "wildcard",
    }
)
OR_KEY = "$or"

# Field names event-ruler refuses inside "$or" (its operators, present and reserved),
# so that an operator object placed one level too high is not taken for a field.
RESERVED_IN_OR = frozenset(
    {
        *OPERATORS,
        "exactly",
        "html",
        "=",
        "<",
        "<=",
        ">",
        ">=",
        "regex",
        "not-wildcard",
        "not-equals-ignore-case",
        "date-after",
        "date-on-or-after",
        "date-before",
        "date-on-or-before",
        "in-date-range",
        "ip-address-in-range",
        "ip-address-not-in-range",
    }
)

# "$or" alternatives multiply; past this many sub-rules a pattern is refused rather than
# compiled into a structure nobody meant to build.
MAX_SUBRULES = 1024

_ANYTHING_BUT_MODIFIERS = ("prefix", "suffix", "equals-ignore-case", "wildcard")
_NUMERIC_EXAMPLE = '[">", 0, "<=", 5]'


class InvalidPattern(ValueError):
    """An event pattern that EventBridge would refuse.

    ``path`` is the dotted location of the problem (``""`` for the pattern itself,
    ``$or[i]`` marks an alternative) and ``reason`` says what is wrong there.
    """

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"invalid event pattern at {path or '(root)'}: {reason}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.path, self.reason))


def path_sort_key(path: str) -> bytes:
    """Java's String order (UTF-16 code units), in which event-ruler sorts a rule's
    fields; the order of sub-rules holding ``exists: false`` (see :func:`_order_steps`)."""
    return path.encode("utf-16-be")


class Step:
    """One field condition of a sub-rule: the value alternatives for ``path`` (ORed),
    optionally also satisfied by the field's absence."""

    __slots__ = ("absent_ok", "clause", "matchers", "path", "selectivity", "signature", "test")

    def __init__(
        self, path: str, matchers: tuple[Matcher, ...], absent_ok: bool, clause: list[Any]
    ) -> None:
        self.path = path
        self.matchers = matchers
        self.absent_ok = absent_ok
        self.clause = clause
        self.test = _compile_test(matchers)
        self.signature = (frozenset(matchers), absent_ok)
        self.selectivity = _selectivity(matchers)

    def __repr__(self) -> str:
        return f"Step({self.path!r}, {dumps(self.clause)})"


SubRule = tuple[Step, ...]

_HASHED = frozenset({ExactString, ExactNumber, ExactLiteral, IpExact})
_BROAD = frozenset(
    {
        AnythingBut,
        AnythingButIgnoreCase,
        AnythingButPrefix,
        AnythingButSuffix,
        AnythingButWildcard,
        Exists,
    }
)


def _selectivity(matchers: tuple[Matcher, ...]) -> int:
    """0 for hash lookups, 1 for other narrow operators, 2 for ranges, 3 for clauses that
    match nearly everything (anything-but, exists)."""
    kinds = {type(m) for m in matchers}
    if kinds <= _HASHED:
        return 0
    if kinds & _BROAD:
        return 3
    if NumericRange in kinds:
        return 2
    return 1


def _order_steps(steps: list[Step]) -> SubRule:
    """Step order of a sub-rule.

    With ``exists: false`` in the sub-rule, event-ruler's order (by path) is kept: inside
    arrays of objects an absence is judged against the elements earlier steps chose.
    Otherwise order cannot change the result, so the most selective steps go first; in a
    RuleIndex that keeps the states reached per event few however many rules there are.
    """
    if any(step.absent_ok for step in steps):
        return tuple(sorted(steps, key=lambda s: path_sort_key(s.path)))
    return tuple(sorted(steps, key=lambda s: (s.selectivity, path_sort_key(s.path))))


def _always(value: object) -> bool:
    return True


def _compile_test(matchers: tuple[Matcher, ...]) -> Callable[[Any], bool] | None:
    """One predicate ORing ``matchers``, specialised for the common shapes."""
    if not matchers:
        return None
    strings: set[str] = set()
    numbers: set[float] = set()
    literals: list[bool | None] = []
    str_tests: list[Callable[[Any], bool]] = []
    num_tests: list[Callable[[Any], bool]] = []
    any_tests: list[Callable[[Any], bool]] = []
    for m in matchers:
        kind = type(m)
        if kind is ExactString:
            strings.add(m.value)  # type: ignore[attr-defined]
        elif kind is ExactNumber:
            numbers.add(m.value)  # type: ignore[attr-defined]
        elif kind is ExactLiteral:
            literals.append(m.value)  # type: ignore[attr-defined]
        elif kind is Exists:
            return _always
        elif m.kind == "str":
            str_tests.append(m.matches)
        elif m.kind == "num":
            num_tests.append(m.matches)
        else:
            any_tests.append(m.matches)
    if len(strings) == len(matchers):
        # Only strings equal strings, and every leaf value is hashable.
        return frozenset(strings).__contains__
    if len(matchers) == 1:
        return matchers[0].matches
    string_set = frozenset(strings)
    number_set = frozenset(numbers)

    def test(value: Any) -> bool:
        t = type(value)
        if t is str:
            if string_set and value in string_set:
                return True
            for check in str_tests:
                if check(value):
                    return True
        elif t is int or t is float:
            if number_set and to_number(value) in number_set:
                return True
            for check in num_tests:
                if check(value):
                    return True
        elif t is bool or value is None:
            for literal in literals:
                if value is literal:
                    return True
        for check in any_tests:  # noqa: SIM110 - hot path: a loop beats any() + generator
            if check(value):
                return True
        return False

    return test


# --- validation and compilation ---------------------------------------------------


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, (list, tuple)):
        return "array"
    return type(value).__name__


def _is_number(value: object) -> bool:
    t = type(value)
    return t is int or t is float


class _Absent:
    """Parse result of ``{"exists": false}``."""


_ABSENT = _Absent()


class _Compiler:
    def __init__(
        self, operators: frozenset[str], error_type: Callable[[str, str], Exception]
    ) -> None:
        self.operators = operators
        self.error_type = error_type

    def fail(self, where: str, reason: str) -> NoReturn:
        raise self.error_type(where, reason)

    def compile(self, pattern: Mapping[str, Any]) -> tuple[SubRule, ...]:
        branches = self.parse_object(pattern, (), "", in_or=False)
        return tuple(_order_steps(branch) for branch in branches)

    def parse_object(
        self, obj: Mapping[str, Any], prefix: tuple[str, ...], where: str, *, in_or: bool
    ) -> list[list[Step]]:
        if not obj:
            self.fail(where, "empty objects are not allowed")
        branches: list[list[Step]] = [[]]
        for key, value in obj.items():
            if not isinstance(key, str):
                self.fail(where, f"field names must be strings, got {key!r}")
            here = f"{where}.{key}" if where else key
            if key == OR_KEY:
                alternatives = self.parse_or(value, prefix, here)
                branches = [b + alt for b in branches for alt in alternatives]
                if len(branches) > MAX_SUBRULES:
                    self.fail(
                        here, f"$or combinations expand to more than {MAX_SUBRULES} alternatives"
                    )
                continue
            if in_or and key in RESERVED_IN_OR:
                self.fail(
                    here,
                    f"{key!r} is an operator name and cannot be used as a field name "
                    "inside $or (operators go in the list of match values)",
                )
            if type(value) is dict or isinstance(value, Mapping):
                sub = self.parse_object(value, (*prefix, key), here, in_or=in_or)
                branches = [b + s for b in branches for s in sub]
                if len(branches) > MAX_SUBRULES:
                    self.fail(
                        here, f"$or combinations expand to more than {MAX_SUBRULES} alternatives"
                    )
            elif type(value) is list or isinstance(value, (list, tuple)):
                step = self.parse_step(value, ".".join((*prefix, key)), here)
                for branch in branches:
                    branch.append(step)
            else:
                self.fail(
                    here,
                    "must be an object (to match nested fields) or an array of match values, "
                    f"got {_json_type(value)} {dumps(value)}",
                )
        return branches

    def parse_or(self, value: Any, prefix: tuple[str, ...], where: str) -> list[list[Step]]:
        if not isinstance(value, (list, tuple)):
            self.fail(where, f"$or must be an array of objects, got {_json_type(value)}")
        if len(value) < 2:
            self.fail(where, f"$or needs at least 2 alternatives, got {len(value)}")
        result: list[list[Step]] = []
        for i, alternative in enumerate(value):
            here = f"{where}[{i}]"
            if not isinstance(alternative, Mapping):
                self.fail(here, f"$or alternatives must be objects, got {_json_type(alternative)}")
            result.extend(self.parse_object(alternative, prefix, here, in_or=True))
        return result

    def parse_step(self, values: Sequence[Any], path: str, where: str) -> Step:
        if not values:
            self.fail(where, "empty arrays are not allowed: list at least one value to match")
        matchers: list[Matcher] = []
        absent_ok = False
        for value in values:
            t = type(value)
            if t is str:
                ip = parse_ip(value) if value[:1].isalnum() or value[:1] == ":" else None
                matchers.append(IpExact(*ip) if ip else ExactString(value))
            elif value is None or t is bool:
                matchers.append(ExactLiteral(value))
            elif t is int or t is float:
                matchers.append(ExactNumber(self.number(value, where, "value")))
            elif t is dict or isinstance(value, Mapping):
                parsed = self.parse_operator(value, where)
                if parsed is _ABSENT:
                    absent_ok = True
                else:
                    matchers.append(parsed)  # type: ignore[arg-type]
            elif isinstance(value, (list, tuple)):
                self.fail(
                    where,
                    "match values must be strings, numbers, booleans, null or operator "
                    "objects; nested arrays are not allowed",
                )
            else:
                self.fail(where, f"unsupported match value of type {_json_type(value)}")
        return Step(path, tuple(dict.fromkeys(matchers)), absent_ok, _plain(values))

    def number(self, value: Any, where: str, what: str) -> float:
        x = to_number(value)
        if x is None or not math.isfinite(x):
            self.fail(where, f"{what} {value!r} is out of range for a 64-bit floating point")
        return x

    def parse_operator(self, expression: Mapping[str, Any], where: str) -> Matcher | _Absent:
        if not expression:
            self.fail(where, "empty operator object: expected one of " + _operator_list(self))
        if len(expression) > 1:
            names = ", ".join(repr(k) for k in expression)
            self.fail(where, f"an operator object takes exactly one operator, got {names}")
        ((operator, operand),) = expression.items()
        if operator not in self.operators:
            if operator in OPERATORS:
                self.fail(where, f"operator {operator!r} is not supported here")
            self.fail(
                where,
                f"unknown operator {operator!r}; expected one of {_operator_list(self)} "
                "(to match fields nested under this one, use an object, not an array)",
            )
        if operator in ("prefix", "suffix"):
            return self.parse_affix(operator, operand, where)
        if operator == "equals-ignore-case":
            return EqualsIgnoreCase(fold(self.string(operand, where, "equals-ignore-case")))
        if operator == "wildcard":
            return self.wildcard(self.string(operand, where, "wildcard"), where)
        if operator == "exists":
            if not isinstance(operand, bool):
                self.fail(
                    where,
                    f"exists must be true or false, got {_json_type(operand)} {dumps(operand)}",
                )
            return EXISTS if operand else _ABSENT
        if operator == "cidr":
            text = self.string(operand, where, "cidr")
            try:
                return Cidr(*parse_cidr(text))
            except ValueError as exc:
                self.fail(where, f"invalid CIDR block {text!r}: {exc}")
        if operator == "numeric":
            return self.parse_numeric(operand, where)
        return self.parse_anything_but(operand, where)

    def string(self, operand: Any, where: str, operator: str) -> str:
        if not isinstance(operand, str):
            self.fail(
                where,
                f"{operator} needs a string, got {_json_type(operand)} {dumps(operand)}",
            )
        return operand

    def wildcard(self, text: str, where: str) -> Wildcard:
        try:
            return Wildcard.compile(text)
        except ValueError as exc:
            self.fail(where, f"invalid wildcard {text!r}: {exc}")

    def parse_affix(self, operator: str, operand: Any, where: str) -> Matcher:
        if isinstance(operand, str):
            return Prefix(operand) if operator == "prefix" else Suffix(operand)
        if isinstance(operand, Mapping):
            if len(operand) != 1 or "equals-ignore-case" not in operand:
                names = ", ".join(repr(k) for k in operand) or "nothing"
                self.fail(
                    where,
                    f'{operator} accepts a string or {{"equals-ignore-case": string}}, '
                    f"got an object with {names}",
                )
            text = fold(self.string(operand["equals-ignore-case"], where, "equals-ignore-case"))
            return PrefixIgnoreCase(text) if operator == "prefix" else SuffixIgnoreCase(text)
        self.fail(
            where,
            f'{operator} needs a string or {{"equals-ignore-case": string}}, '
            f"got {_json_type(operand)} {dumps(operand)}",
        )

    def parse_numeric(self, operand: Any, where: str) -> Matcher:
        if not isinstance(operand, (list, tuple)) or not operand:
            self.fail(where, f"numeric needs a non-empty array like {_NUMERIC_EXAMPLE}")
        operator = operand[0]
        if operator not in ("=", "<", "<=", ">", ">="):
            self.fail(
                where,
                f"unknown numeric operator {dumps(operator)}: use =, <, <=, > or >=",
            )
        if len(operand) < 2:
            self.fail(where, f"numeric operator {operator!r} needs a number after it")
        first = self.numeric_operand(operator, operand[1], where)
        if operator in ("=", "<", "<=") and len(operand) > 2:
            hint = " (write the lower bound first)" if operator != "=" else ""
            self.fail(where, f"too many elements in numeric expression{hint}")
        if operator == "=":
            return ExactNumber(first)
        if operator in ("<", "<="):
            return NumericRange(-math.inf, False, first, operator == "<")
        if len(operand) == 2:
            return NumericRange(first, operator == ">", math.inf, False)
        if len(operand) != 4:
            problem = "incomplete numeric range" if len(operand) == 3 else "too many elements"
            self.fail(where, f"{problem} in numeric expression, expected {_NUMERIC_EXAMPLE}")
        upper = operand[2]
        if upper not in ("<", "<="):
            self.fail(
                where,
                f"a numeric range continues with < or <=, got {dumps(upper)}",
            )
        second = self.numeric_operand(upper, operand[3], where)
        if not first < second:
            self.fail(
                where,
                f"numeric range is empty: lower bound {operand[1]} is not below "
                f"upper bound {operand[3]}",
            )
        return NumericRange(first, operator == ">", second, upper == "<")

    def numeric_operand(self, operator: str, value: Any, where: str) -> float:
        if not _is_number(value):
            self.fail(
                where,
                f"numeric {operator!r} needs a number, got {_json_type(value)} {dumps(value)}",
            )
        return self.number(value, where, "numeric value")

    def parse_anything_but(self, operand: Any, where: str) -> Matcher:
        if isinstance(operand, str):
            return AnythingBut(frozenset((operand,)), frozenset())
        if _is_number(operand):
            return AnythingBut(frozenset(), frozenset((self.number(operand, where, "value"),)))
        if isinstance(operand, (list, tuple)):
            if not operand:
                self.fail(where, "anything-but list must not be empty")
            if all(isinstance(v, str) for v in operand):
                return AnythingBut(frozenset(operand), frozenset())
            if all(_is_number(v) for v in operand):
                numbers = frozenset(self.number(v, where, "value") for v in operand)
                return AnythingBut(frozenset(), numbers)
            bad = [v for v in operand if not isinstance(v, str) and not _is_number(v)]
            if bad:
                self.fail(
                    where,
                    "anything-but list values must be strings or numbers, "
                    f"got {_json_type(bad[0])} {dumps(bad[0])}",
                )
            self.fail(where, "anything-but list must hold only strings or only numbers, not both")
        if isinstance(operand, Mapping):
            if len(operand) != 1 or next(iter(operand)) not in _ANYTHING_BUT_MODIFIERS:
                names = ", ".join(repr(k) for k in operand) or "nothing"
                self.fail(
                    where,
                    "anything-but object takes exactly one of prefix, suffix, "
                    f"equals-ignore-case or wildcard, got {names}",
                )
            ((modifier, value),) = operand.items()
            texts = self.anything_but_strings(modifier, value, where)
            if modifier == "prefix":
                return AnythingButPrefix(tuple(sorted(set(texts))))
            if modifier == "suffix":
                return AnythingButSuffix(tuple(sorted(set(texts))))
            if modifier == "equals-ignore-case":
                return AnythingButIgnoreCase(frozenset(fold(t) for t in texts))
            wildcards = tuple(self.wildcard(t, where) for t in sorted(set(texts)))
            return AnythingButWildcard(wildcards)
        self.fail(
            where,
            "anything-but needs a string, a number, an array of either, or an object "
            f"with prefix/suffix/equals-ignore-case/wildcard; got {_json_type(operand)} "
            f"{dumps(operand)}",
        )

    def anything_but_strings(self, modifier: str, value: Any, where: str) -> list[str]:
        texts = list(value) if isinstance(value, (list, tuple)) else [value]
        if not texts:
            self.fail(where, f"anything-but {modifier} list must not be empty")
        for text in texts:
            if not isinstance(text, str):
                self.fail(
                    where,
                    f"anything-but {modifier} values must be strings, "
                    f"got {_json_type(text)} {dumps(text)}",
                )
            if not text and modifier in ("prefix", "suffix"):
                self.fail(where, f"anything-but {modifier} must not be empty")
        return texts


def _operator_list(compiler: _Compiler) -> str:
    return ", ".join(sorted(compiler.operators))


def _plain(value: Any) -> Any:
    """Deep copy into plain dicts and lists (the normalized JSON form)."""
    t = type(value)
    if t is str or t is int or t is float or t is bool or value is None:
        return value
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _canonical(value: Any) -> Any:
    """Hashable form for equality: key order ignored, 5 == 5.0, true != 1."""
    if isinstance(value, Mapping):
        return ("o", tuple(sorted((k, _canonical(v)) for k, v in value.items())))
    if isinstance(value, (list, tuple)):
        return ("a", tuple(_canonical(v) for v in value))
    if value is None or isinstance(value, bool):
        return ("l", value)
    if _is_number(value):
        return ("n", to_number(value))
    return ("s", value)


def load_pattern(
    pattern: Any, error_type: Callable[[str, str], Exception] = InvalidPattern
) -> Mapping[str, Any]:
    """A pattern given as a mapping or JSON text, as a mapping (not yet validated)."""
    if isinstance(pattern, JSON_TEXT_TYPES):
        try:
            pattern = loads(pattern)
        except ValueError as exc:
            raise error_type("", f"not valid JSON: {exc}") from None
    if not isinstance(pattern, Mapping):
        raise error_type("", f"must be a JSON object, got {_json_type(pattern)}")
    return pattern


def compile_pattern(
    pattern: Mapping[str, Any],
    *,
    operators: frozenset[str] = OPERATORS,
    error_type: Callable[[str, str], Exception] = InvalidPattern,
) -> tuple[SubRule, ...]:
    """Validate a decoded pattern and compile it to its ``$or``-free sub-rules."""
    if not isinstance(pattern, Mapping):
        raise error_type("", f"must be a JSON object, got {_json_type(pattern)}")
    return _Compiler(operators, error_type).compile(pattern)


def coerce_event(event: Any) -> Mapping[str, Any]:
    """An event given as a mapping or JSON text, as a mapping."""
    if type(event) is dict or isinstance(event, Mapping):
        return event
    if isinstance(event, JSON_TEXT_TYPES):
        try:
            parsed = loads(event)
        except ValueError as exc:
            raise ValueError(f"event is not valid JSON: {exc}") from None
        if not isinstance(parsed, dict):
            raise ValueError(f"event must be a JSON object, got {_json_type(parsed)}")
        return parsed
    raise TypeError(f"event must be a dict or JSON text, not {type(event).__name__}")


# --- matching ---------------------------------------------------------------------


def match_subrule(steps: SubRule, fields: Fields) -> bool:
    """Whether ``fields`` satisfy every step, honouring array consistency."""
    values = fields.values
    if fields.chains is None:
        for step in steps:
            found = values.get(step.path)
            if found is None:
                if step.absent_ok:
                    continue
                return False
            test = step.test
            if test is None:
                return False
            for value in found:
                if test(value):
                    break
            else:
                return False
        return True
    return _search(steps, 0, values, fields.chains, ())


def _search(
    steps: SubRule,
    i: int,
    values: dict[str, list[Any]],
    chains: dict[str, list[Chain]],
    membership: Chain,
) -> bool:
    # Steps run in path order and an absence is judged against the array elements the
    # earlier steps settled on: event-ruler's ACFinder does exactly this.
    if i == len(steps):
        return True
    step = steps[i]
    found = values.get(step.path)
    absent = found is None or not any(chains_consistent(c, membership) for c in chains[step.path])
    if step.absent_ok and absent and _search(steps, i + 1, values, chains, membership):
        return True
    test = step.test
    if found is None or test is None:
        return False
    tried: set[Chain] = set()
    for value, chain in zip(found, chains[step.path], strict=True):
        if chain and not chains_consistent(chain, membership):
            continue
        merged = merge_chains(membership, chain)
        if merged in tried or not test(value):
            continue
        tried.add(merged)
        if _search(steps, i + 1, values, chains, merged):
            return True
    return False


# EventBridge's phrasing of a failed clause: "detail.total is 5, which does not match
# [{"numeric":[">",100]}]", listed in path order, array-consistency failures located.
_EVENTBRIDGE = Wording(
    rule="pattern", field="field", dumps=dumps, order=path_sort_key, locate_consistency=True
)


class EventPattern:
    """A validated, compiled EventBridge event pattern.

    ``EventPattern(pattern)`` takes a dict or JSON text (str/bytes) and raises
    :class:`InvalidPattern` if EventBridge would refuse it. Instances are immutable;
    two patterns are equal when they are the same JSON up to key order (``5 == 5.0``).
    """

    __slots__ = ("_key", "_paths", "_pattern", "_selector", "_subrules")

    def __init__(self, pattern: Mapping[str, Any] | str | bytes | EventPattern) -> None:
        if isinstance(pattern, EventPattern):
            for name in self.__slots__:
                setattr(self, name, getattr(pattern, name))
            return
        raw = load_pattern(pattern)
        self._subrules = compile_pattern(raw)
        self._pattern: dict[str, Any] = _plain(raw)
        self._paths = frozenset(step.path for sub in self._subrules for step in sub)
        # Built on first use: a RuleIndex needs neither.
        self._key: Any = None
        self._selector: FieldSelector | None = None

    @property
    def pattern(self) -> dict[str, Any]:
        """The pattern as plain JSON data (a copy: mutating it changes nothing)."""
        return copy.deepcopy(self._pattern)

    @property
    def subrules(self) -> tuple[SubRule, ...]:
        """The ``$or``-free alternatives the pattern compiles to."""
        return self._subrules

    @property
    def paths(self) -> frozenset[str]:
        """Dotted paths of every field the pattern looks at."""
        return self._paths

    def matches(self, event: Mapping[str, Any] | str | bytes) -> bool:
        """Whether ``event`` (a dict, or JSON text of an object) matches."""
        selector = self._selector or self._make_selector()
        fields = selector.collect(coerce_event(event))
        for sub in self._subrules:  # noqa: SIM110 - hot path: a loop beats any() + generator
            if match_subrule(sub, fields):
                return True
        return False

    def explain(self, event: Mapping[str, Any] | str | bytes) -> list[Mismatch]:
        """Why ``event`` does not match: empty when it matches, otherwise the failed
        clauses (for a ``$or`` pattern, those of every alternative, tagged by branch)."""
        selector = self._selector or self._make_selector()
        fields = selector.collect(coerce_event(event))
        if any(match_subrule(sub, fields) for sub in self._subrules):
            return []
        return explain_subrules(self._subrules, fields, _EVENTBRIDGE)

    def _make_selector(self) -> FieldSelector:
        self._selector = FieldSelector(self._paths)
        return self._selector

    def _canonical_key(self) -> Any:
        if self._key is None:
            self._key = _canonical(self._pattern)
        return self._key

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EventPattern):
            return NotImplemented
        return self._canonical_key() == other._canonical_key()

    def __hash__(self) -> int:
        return hash(self._canonical_key())

    def __repr__(self) -> str:
        return f"EventPattern({dumps(self._pattern)})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (EventPattern, (self._pattern,))
