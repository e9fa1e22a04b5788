"""Sample events that a given event pattern (or filter policy) matches, for inferred producers.

An imported architecture should route at once: a producer inferred for a bus emits, for
each rule of the bus, an event the rule matches, plus one event no rule matches, so the
dashboard shows matched and unmatched traffic. Samples are built from the pattern's own
values and checked with ``flows.routing.EventPattern``; a pattern no sample is found for
(it needs envelope fields the simulator does not set, say) is reported by the caller.
No Django here.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from flows.routing import EventPattern, InvalidPattern

_NOTHING = object()  # a field that must be absent


def sample_for(pattern: dict[str, Any]) -> dict[str, Any] | None:
    """An event ``pattern`` matches (None when no simple one is found)."""
    event = _object(pattern)
    if event is None:
        return None
    try:
        return event if EventPattern(pattern).matches(event) else None
    except (InvalidPattern, TypeError, ValueError):
        return None


def _object(pattern: dict[str, Any]) -> dict[str, Any] | None:
    out: dict[str, Any] = {}
    for key, value in pattern.items():
        if key == "$or" and isinstance(value, list) and value:
            branch = _object(value[0]) if isinstance(value[0], dict) else None
            if branch is None:
                return None
            out.update(branch)
            continue
        if isinstance(value, dict):
            nested = _object(value)
            if nested is None:
                return None
            out[key] = nested
        elif isinstance(value, list):
            chosen = _value(value)
            if chosen is None:
                return None
            if chosen is not _NOTHING:
                out[key] = chosen
        else:
            return None
    return out


def _value(options: list[Any]) -> Any:
    for option in options:
        found = _one(option)
        if found is not None:
            return found
    return None


def _one(option: Any) -> Any:
    if not isinstance(option, dict):
        return option if option is not None else None
    if len(option) != 1:
        return None
    ((operator, operand),) = option.items()
    if operator == "prefix":
        text = operand if isinstance(operand, str) else operand.get("equals-ignore-case", "")
        return f"{text}sample"
    if operator == "suffix":
        text = operand if isinstance(operand, str) else operand.get("equals-ignore-case", "")
        return f"sample{text}"
    if operator == "equals-ignore-case":
        return operand
    if operator == "wildcard" and isinstance(operand, str):
        return operand.replace("\\*", "\0").replace("*", "x").replace("\0", "*")
    if operator == "exists":
        return "present" if operand else _NOTHING
    if operator == "cidr":
        try:
            return str(next(ipaddress.ip_network(operand, strict=False).hosts(), None) or "")
        except ValueError:
            return None
    if operator == "numeric":
        return _numeric(operand)
    if operator == "anything-but":
        excluded = operand if isinstance(operand, list) else [operand]
        if isinstance(operand, dict):
            return "other-value"
        if all(isinstance(x, int | float) for x in excluded):
            return max(excluded, default=0) + 1
        return "other-value"
    return None


def _numeric(operand: Any) -> float | None:
    if not isinstance(operand, list):
        return None
    low, high = float("-inf"), float("inf")
    exact = None
    for i in range(0, len(operand) - 1, 2):
        op, number = operand[i], operand[i + 1]
        if op == "=":
            exact = number
        elif op in (">", ">="):
            low = number if op == ">=" else number + 0.5
        elif op in ("<", "<="):
            high = number if op == "<=" else number - 0.5
    if exact is not None:
        return exact
    if low != float("-inf") and high != float("inf"):
        return (low + high) / 2
    if low != float("-inf"):
        return low + 1
    if high != float("inf"):
        return high - 1
    return 0
