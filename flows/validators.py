"""Model-side validation through the pure-Python routing core.

Each function returns a list of human-readable messages (empty when valid), so model
``clean()`` methods and the admin show every problem next to its field.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema

from flows.routing import (
    EventPattern,
    FilterPolicy,
    InputTransformer,
    InvalidFilterPolicy,
    InvalidPattern,
    InvalidTransformer,
)

# The largest integer the database stores (BigIntegerField, BigAutoField: SQLite's INTEGER
# and PostgreSQL's bigint); an id or seed beyond it is refused before a query overflows.
DB_INT_MAX = 2**63 - 1
# JSON nesting a person's message, event or pattern may have. EventBridge events and
# patterns are a few levels deep; the routing core walks them recursively, and a
# 5,000-deep document would exhaust Python's stack there (or in json.loads itself).
JSON_DEPTH_MAX = 32


def db_int_error(value: Any, name: str, *, minimum: int = 1) -> str | None:
    """Why ``value`` is not an integer from ``minimum`` to DB_INT_MAX, or None."""
    if not isinstance(value, int) or isinstance(value, bool):
        return f"{name} must be an integer, not {type_name(value)}"
    if not minimum <= value <= DB_INT_MAX:
        return f"{name} must be from {minimum} to {DB_INT_MAX}"
    return None


def json_depth_error(value: Any, *, limit: int = JSON_DEPTH_MAX, name: str = "JSON") -> str | None:
    """Why ``value`` nests deeper than ``limit`` arrays/objects, or None (no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return f"{name} nests deeper than {limit} levels"
        stack.extend((child, depth + 1) for child in children)
    return None


def json_loads_bounded(text: str | bytes, *, limit: int = JSON_DEPTH_MAX) -> Any:
    """``json.loads`` that refuses nesting deeper than ``limit`` with a ValueError.

    json.loads itself raises RecursionError on very deep input; that becomes a ValueError
    here too, so a caller has one exception to turn into a 400.
    """
    try:
        value = json.loads(text)
    except RecursionError:
        raise ValueError(f"JSON nests deeper than {limit} levels") from None
    error = json_depth_error(value, limit=limit)
    if error is not None:
        raise ValueError(error)
    return value


def json_syntax_error(exc: json.JSONDecodeError) -> str:
    """What is wrong with JSON text and where, as the editor counts (1-based)."""
    return f"Not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}."


def event_pattern_errors(pattern: Any) -> list[str]:
    if not isinstance(pattern, dict):
        return [f"An event pattern must be a JSON object, not {type_name(pattern)}."]
    try:
        EventPattern(pattern)
    except InvalidPattern as exc:
        return [str(exc)]
    return []


def filter_policy_errors(policy: Any, scope: str) -> list[str]:
    if not isinstance(policy, dict):
        return [f"A filter policy must be a JSON object, not {type_name(policy)}."]
    try:
        FilterPolicy(policy, scope=scope)
    except InvalidFilterPolicy as exc:
        return [str(exc)]
    return []


def transformer_errors(paths_map: Any, template: str) -> list[str]:
    if paths_map is not None and not isinstance(paths_map, dict):
        return [f"InputPathsMap must be a JSON object, not {type_name(paths_map)}."]
    try:
        InputTransformer(paths_map or {}, template)
    except InvalidTransformer as exc:
        return [str(exc)]
    return []


def json_schema_errors(schema: Any) -> list[str]:
    if not isinstance(schema, dict):
        return [f"A JSON Schema must be a JSON object, not {type_name(schema)}."]
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = "/".join(str(part) for part in exc.path) or "(root)"
        return [f"Invalid JSON Schema at {where}: {exc.message}"]
    return []


def type_name(value: Any) -> str:
    names = {
        list: "an array",
        str: "a string",
        int: "a number",
        float: "a number",
        bool: "a boolean",
        type(None): "null",
    }
    return names.get(type(value), type(value).__name__)
