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
