"""EventBridge input transformers: ``InputPathsMap`` + ``InputTemplate``.

A rule target may reshape the event before delivery. ``InputPathsMap`` names values
taken from the event with JSON paths; ``InputTemplate`` is text with ``<name>``
placeholders that are filled with those values (AWS EventBridge User Guide, "Amazon
EventBridge input transformation"; API reference, ``InputTransformer``).

Contract (what AWS documents, and what we chose where it is silent):

- ``InputPathsMap``: at most 100 entries; keys match ``[A-Za-z0-9_-]+`` (1-256 chars), so
  the reserved ``aws.*`` names cannot be redefined; values are JSON paths in dot notation
  (``$``, ``$.detail.order.id``, ``$.detail.items[0].sku``, ``$.resources[*]``): dashes,
  underscores, alphanumerics, forward slashes, array indices and ``*`` wildcards.
  Bracket notation for names (``$['detail']``) is rejected, as AWS asks for dot notation.
- ``InputTemplate``: 1-8192 characters. Predefined placeholders: ``<aws.events.rule-name>``,
  ``<aws.events.rule-arn>``, ``<aws.events.event.ingestion-time>``, ``<aws.events.event>``
  (the original event without its ``detail`` field) and ``<aws.events.event.json>`` (the
  whole original event); the last two only as an unquoted value inside a JSON template,
  since AWS does not escape them. Any other placeholder must be a key of the map.
- A template is a *JSON template* when it is valid JSON once its placeholders are filled
  (an object, an array, or a JSON string such as ``"instance <id> is in <state>"``).
  Inside a JSON template:
  - ``"...<x>..."`` (inside quotes) inserts the value as string content: a string is
    inserted without its quotes, any other value as its JSON text, JSON-escaped either
    way so the output stays valid JSON. (AWS notes that it does not escape extracted
    values; a value with a quote in it would then break the target's JSON. We escape on
    purpose: a simulation should not invent a broken payload.)
  - ``<x>`` (unquoted) inserts the value's JSON text, so a string arrives quoted
    (AWS example "Simple JSON": ``{"instance": <instance>}`` gives
    ``{"instance": "i-0123456789"}``).
  - A placeholder cannot be an object key (AWS restriction): ``InvalidTransformer``.
  - The output is minified JSON, as AWS sends it to the target.
- A template that is not JSON (``<instance> is in state <status>``) is plain text: a
  string value is inserted as is, any other value as its compact JSON text. A template
  that starts with ``{`` and ends with ``}`` is meant as a JSON object and must be one.
- A path that matches nothing: AWS says the variable "isn't created and won't appear in
  the output". We render it as nothing (empty text) where that keeps the output valid and
  as ``null`` for an unquoted value in a JSON template (where nothing would break the
  JSON), and we list it in ``TransformResult.missing`` so the simulation can record "a
  transformer path that resolves to nothing". A JSON ``null`` that *is* in the event is
  a value, not missing, and renders as ``null``.
- Time is passed in: ``<aws.events.event.ingestion-time>`` is the ``ingestion_time``
  argument, defaulting to the event's ``time`` field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "MAX_INPUT_PATHS",
    "MAX_TEMPLATE_LENGTH",
    "PREDEFINED_VARIABLES",
    "InputTransformer",
    "InvalidTransformer",
    "MissingPath",
    "TransformError",
    "TransformResult",
]

MAX_INPUT_PATHS = 100
MAX_TEMPLATE_LENGTH = 8192
MAX_KEY_LENGTH = 256
MAX_PATH_LENGTH = 256

RULE_NAME = "aws.events.rule-name"
RULE_ARN = "aws.events.rule-arn"
INGESTION_TIME = "aws.events.event.ingestion-time"
EVENT = "aws.events.event"
EVENT_JSON = "aws.events.event.json"
PREDEFINED_VARIABLES = frozenset({RULE_NAME, RULE_ARN, INGESTION_TIME, EVENT, EVENT_JSON})
# These two are inserted as raw JSON, so they can only stand where a JSON value may.
_RAW_JSON_VARIABLES = frozenset({EVENT, EVENT_JSON})

_KEY_RE = re.compile(r"[A-Za-z0-9_\-]+")
_PLACEHOLDER_RE = re.compile(r"<([A-Za-z0-9_.\-]+)>")
_PATH_NAME_RE = re.compile(r"[\w\-/]+")
_INDEX_RE = re.compile(r"\[(\d+|\*)\]")

_MISSING: Any = object()


class InvalidTransformer(ValueError):
    """The transformer definition is invalid. ``key`` names the map key (or the
    placeholder) at fault, ``None`` when the fault is in the template as a whole."""

    def __init__(self, key: str | None, reason: str) -> None:
        self.key = key
        self.reason = reason
        where = f"InputPathsMap key {key!r}" if key is not None else "InputTemplate"
        super().__init__(f"{where}: {reason}")


class TransformError(ValueError):
    """Rendering produced something unusable (e.g. a value that has no JSON form, or
    ``render_json`` on a template whose output is not JSON)."""


@dataclass(frozen=True, slots=True)
class MissingPath:
    """A template variable whose JSON path matched nothing in the event."""

    name: str
    path: str

    def __str__(self) -> str:
        return f"<{self.name}> ({self.path}) resolved to nothing"


@dataclass(frozen=True, slots=True)
class TransformResult:
    """What a target receives, plus what the simulation needs to explain it.

    ``text`` is the payload as sent (minified JSON for a JSON template); ``value`` is
    the parsed JSON for a JSON template and ``text`` itself otherwise; ``missing`` lists
    the template variables whose paths matched nothing, in template order.
    """

    text: str
    value: Any
    is_json: bool
    missing: tuple[MissingPath, ...] = ()


# A path step: a name, an index, or a wildcard over a list's items / an object's values.
_Step = str | int | None


@dataclass(frozen=True, slots=True)
class _JsonPath:
    source: str
    steps: tuple[_Step, ...]

    @property
    def has_wildcard(self) -> bool:
        return any(step is None for step in self.steps)

    def resolve(self, event: Any) -> Any:
        """The value at this path, a list of values for a wildcard path, or _MISSING."""
        nodes = [event]
        for step in self.steps:
            found: list[Any] = []
            for node in nodes:
                if step is None:
                    if isinstance(node, list):
                        found.extend(node)
                    elif isinstance(node, dict):
                        found.extend(node.values())
                elif isinstance(step, int):
                    if isinstance(node, list) and step < len(node):
                        found.append(node[step])
                elif isinstance(node, dict) and step in node:
                    found.append(node[step])
            nodes = found
            if not nodes:
                return _MISSING
        if self.has_wildcard:
            return nodes
        return nodes[0]


def _parse_path(key: str, path: Any) -> _JsonPath:
    if not isinstance(path, str):
        raise InvalidTransformer(key, f"the JSON path must be a string, not {path!r}")
    if not 1 <= len(path) <= MAX_PATH_LENGTH:
        raise InvalidTransformer(key, f"the JSON path must be 1-{MAX_PATH_LENGTH} characters")
    if not path.startswith("$"):
        raise InvalidTransformer(key, f"the JSON path {path!r} must start with '$'")
    steps: list[_Step] = []
    pos = 1
    while pos < len(path):
        if path[pos] == ".":
            if path.startswith("*", pos + 1):
                steps.append(None)
                pos += 2
                continue
            match = _PATH_NAME_RE.match(path, pos + 1)
            if match is None:
                raise InvalidTransformer(
                    key, f"invalid JSON path {path!r}: expected a name after '.' at {pos}"
                )
            steps.append(match.group())
            pos = match.end()
        elif path[pos] == "[":
            match = _INDEX_RE.match(path, pos)
            if match is None:
                raise InvalidTransformer(
                    key,
                    f"invalid JSON path {path!r} at {pos}: only array indices like [0] or [*] "
                    "may use brackets; use dot notation for names",
                )
            steps.append(None if match.group(1) == "*" else int(match.group(1)))
            pos = match.end()
        else:
            raise InvalidTransformer(
                key, f"invalid JSON path {path!r}: unexpected {path[pos]!r} at {pos}"
            )
    return _JsonPath(path, tuple(steps))


@dataclass(frozen=True, slots=True)
class _Placeholder:
    start: int
    end: int
    name: str
    quoted: bool  # inside a JSON string literal of the template


def _scan_placeholders(template: str) -> list[_Placeholder]:
    """Find placeholders and note which stand inside a double-quoted string.

    The quote tracking follows JSON string rules (a backslash escapes the next
    character); for a template that is not JSON the flag is simply not used.
    """
    found: list[_Placeholder] = []
    in_string = False
    pos = 0
    while pos < len(template):
        char = template[pos]
        if in_string and char == "\\":
            pos += 2
            continue
        if char == '"':
            in_string = not in_string
        elif char == "<":
            match = _PLACEHOLDER_RE.match(template, pos)
            if match is not None:
                found.append(_Placeholder(pos, match.end(), match.group(1), in_string))
                pos = match.end()
                continue
        pos += 1
    return found


def _is_object_key(template: str, placeholder: _Placeholder) -> bool:
    """True when the string (or bare placeholder) holding ``placeholder`` is followed
    by ':' — that is, it is used as an object key."""
    pos = placeholder.end
    if placeholder.quoted:
        while pos < len(template):
            if template[pos] == "\\":
                pos += 2
                continue
            if template[pos] == '"':
                pos += 1
                break
            pos += 1
    rest = template[pos:].lstrip()
    return rest.startswith(":")


class InputTransformer:
    """An EventBridge input transformer, validated on construction.

    ``InputTransformer(input_paths_map, input_template)`` raises ``InvalidTransformer``
    (naming the key or placeholder at fault) for anything AWS would refuse.
    """

    def __init__(self, input_paths_map: Mapping[str, str] | None, input_template: str) -> None:
        paths_map = dict(input_paths_map or {})
        if len(paths_map) > MAX_INPUT_PATHS:
            raise InvalidTransformer(
                None,
                f"InputPathsMap has {len(paths_map)} entries; at most {MAX_INPUT_PATHS} "
                "are allowed",
            )
        paths: dict[str, _JsonPath] = {}
        for key, path in paths_map.items():
            if not isinstance(key, str) or not key:
                raise InvalidTransformer(str(key), "a key must be a non-empty string")
            if key.lower().startswith("aws."):
                raise InvalidTransformer(key, "names starting with 'aws.' are reserved")
            if len(key) > MAX_KEY_LENGTH:
                raise InvalidTransformer(key, f"a key may have at most {MAX_KEY_LENGTH} characters")
            if _KEY_RE.fullmatch(key) is None:
                raise InvalidTransformer(key, "a key may contain only letters, digits, '_' and '-'")
            paths[key] = _parse_path(key, path)

        if not isinstance(input_template, str):
            raise InvalidTransformer(None, "the template must be a string")
        if not 1 <= len(input_template) <= MAX_TEMPLATE_LENGTH:
            raise InvalidTransformer(
                None, f"the template must be 1-{MAX_TEMPLATE_LENGTH} characters long"
            )

        placeholders = _scan_placeholders(input_template)
        for ph in placeholders:
            if ph.name not in paths and ph.name not in PREDEFINED_VARIABLES:
                raise InvalidTransformer(
                    ph.name,
                    f"placeholder <{ph.name}> is not defined in InputPathsMap "
                    "and is not a predefined aws.events variable",
                )

        is_json = self._classify(input_template, placeholders)
        for ph in placeholders:
            if ph.name in _RAW_JSON_VARIABLES and (not is_json or ph.quoted):
                raise InvalidTransformer(
                    ph.name,
                    f"<{ph.name}> can only be used as an unquoted value in a JSON template",
                )

        self.input_paths_map: dict[str, str] = {key: p.source for key, p in paths.items()}
        self.input_template = input_template
        self.is_json_template = is_json
        self._paths = paths
        self._placeholders = tuple(placeholders)

    @property
    def variables(self) -> tuple[str, ...]:
        """Placeholder names used in the template, in order of first use."""
        return tuple(dict.fromkeys(ph.name for ph in self._placeholders))

    @staticmethod
    def _classify(template: str, placeholders: list[_Placeholder]) -> bool:
        """True for a JSON template; raises for a JSON object template that is broken."""
        skeleton = _fill(template, placeholders, lambda ph: "" if ph.quoted else "null")
        try:
            json.loads(skeleton)
        except ValueError as exc:
            stripped = template.strip()
            if not (stripped.startswith("{") and stripped.endswith("}")):
                return False
            for ph in placeholders:
                if not ph.quoted and _is_object_key(template, ph):
                    raise InvalidTransformer(
                        ph.name, f"placeholder <{ph.name}> cannot be used as an object key"
                    ) from None
            raise InvalidTransformer(
                None, f"the template is a JSON object but not valid JSON: {exc}"
            ) from None
        for ph in placeholders:
            # In valid JSON, a string followed by ':' is an object key.
            if ph.quoted and _is_object_key(template, ph):
                raise InvalidTransformer(
                    ph.name, f"placeholder <{ph.name}> cannot be used as an object key"
                )
        return True

    def transform(
        self,
        event: Mapping[str, Any],
        *,
        rule_name: str = "",
        rule_arn: str = "",
        ingestion_time: str | datetime | None = None,
    ) -> TransformResult:
        """Render the template for ``event`` and report the paths that matched nothing."""
        values: dict[str, Any] = {}
        missing: list[MissingPath] = []
        for name in self.variables:
            if name in self._paths:
                value = self._paths[name].resolve(event)
                if value is _MISSING:
                    missing.append(MissingPath(name, self._paths[name].source))
                values[name] = value
        values[RULE_NAME] = rule_name
        values[RULE_ARN] = rule_arn
        values[INGESTION_TIME] = _iso_time(
            ingestion_time if ingestion_time is not None else event.get("time", "")
        )
        if EVENT in self.variables:
            values[EVENT] = {k: v for k, v in event.items() if k != "detail"}
        values[EVENT_JSON] = event

        if not self.is_json_template:
            text = _fill(self.input_template, self._placeholders, lambda ph: _as_text(ph, values))
            return TransformResult(text, text, False, tuple(missing))

        raw = _fill(self.input_template, self._placeholders, lambda ph: _as_json(ph, values))
        try:
            parsed = json.loads(raw)
        except ValueError as exc:  # values are escaped/encoded above; kept as a safety net
            raise TransformError(f"the rendered template is not valid JSON: {exc}") from exc
        text = json.dumps(parsed, ensure_ascii=False, separators=(",", ":"))
        return TransformResult(text, parsed, True, tuple(missing))

    def render(
        self,
        event: Mapping[str, Any],
        *,
        rule_name: str = "",
        rule_arn: str = "",
        ingestion_time: str | datetime | None = None,
    ) -> str:
        """The payload text a target receives (see ``transform``)."""
        return self.transform(
            event, rule_name=rule_name, rule_arn=rule_arn, ingestion_time=ingestion_time
        ).text

    def render_json(
        self,
        event: Mapping[str, Any],
        *,
        rule_name: str = "",
        rule_arn: str = "",
        ingestion_time: str | datetime | None = None,
    ) -> Any:
        """The payload parsed as JSON; ``TransformError`` if the template is not JSON."""
        result = self.transform(
            event, rule_name=rule_name, rule_arn=rule_arn, ingestion_time=ingestion_time
        )
        if not result.is_json:
            raise TransformError(
                "the template is plain text, not JSON; its output cannot be parsed as JSON: "
                f"{result.text[:80]!r}"
            )
        return result.value

    def __repr__(self) -> str:
        return f"InputTransformer({self.input_paths_map!r}, {self.input_template!r})"


def _fill(
    template: str, placeholders: Iterable[_Placeholder], replace: Callable[[_Placeholder], str]
) -> str:
    parts: list[str] = []
    pos = 0
    for ph in placeholders:
        parts.append(template[pos : ph.start])
        parts.append(replace(ph))
        pos = ph.end
    parts.append(template[pos:])
    return "".join(parts)


def _dumps(name: str, value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TransformError(f"the value of <{name}> has no JSON form: {exc}") from exc


def _as_json(ph: _Placeholder, values: dict[str, Any]) -> str:
    value = values[ph.name]
    if ph.quoted:
        if value is _MISSING:
            return ""
        content = value if isinstance(value, str) else _dumps(ph.name, value)
        return json.dumps(content, ensure_ascii=False)[1:-1]
    if value is _MISSING:
        return "null"
    return _dumps(ph.name, value)


def _as_text(ph: _Placeholder, values: dict[str, Any]) -> str:
    value = values[ph.name]
    if value is _MISSING:
        return ""
    if isinstance(value, str):
        return value
    return _dumps(ph.name, value)


def _iso_time(value: Any) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return str(value)
