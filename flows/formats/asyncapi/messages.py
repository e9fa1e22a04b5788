"""AsyncAPI messages -> message types, and the producer payloads their examples make.

A message's payload is the type's JSON Schema once every ``$ref`` in it is resolved
(``refs.Refs``); a payload in another schema format (Avro, say) is not modelled. Its
examples become the payload templates of the producers that send it (headers become
message attributes on a topic, for filter policies); a message without examples gets a
template built from its schema (``payload_template``), so a producer sends something
that fits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flows import validators
from flows.engine import generators
from flows.formats.asyncapi.refs import RefError, Refs
from flows.formats.report import IMPORTED, INFERRED, NOT_MODELLED, REFUSED
from flows.formats.yamldoc import KeyPath

EXT = "x-eventviz-"
GENERIC_TYPE = "Message"
JSON_SCHEMA_FORMATS = ("application/schema+", "application/vnd.aai.asyncapi")

TypeKey = tuple[str, int]


def ext(obj: Any, name: str, default: Any = None) -> Any:
    """The document's ``x-eventviz-<name>`` extension on ``obj``."""
    return obj.get(EXT + name, default) if isinstance(obj, dict) else default


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class Messages:
    """The message types of one document, by (name, version), with their examples."""

    def __init__(
        self,
        refs: Refs,
        add: Callable[[str, KeyPath, str, str], None],
        refused: Callable[[KeyPath, str, RefError], None],
    ) -> None:
        self.refs = refs
        self.add = add
        self.refused = refused
        self.types: dict[TypeKey, dict[str, Any]] = {}
        self.examples: dict[TypeKey, list[tuple[Any, Any]]] = {}
        self.read_by_id: dict[int, TypeKey | None] = {}

    def read(self, path: KeyPath, raw: Any, key: str) -> tuple[str, int] | None:
        """The (name, version) of the message at ``path``; None when it is refused."""
        noted = len(self.refs.notes)
        try:
            # One message is named from components, its channels and its operations:
            # read once, by the object its references lead to.
            target = self.refs.shallow(raw, path)
            if id(target) in self.read_by_id:
                return self.read_by_id[id(target)]
            message = self.refs.deep(target, path)
        except RefError as exc:
            self.refused(path, "message", exc)
            return None
        for note in self.refs.notes[noted:]:
            self.add(NOT_MODELLED, path, "recursive schema", note)
        if not isinstance(message, dict):
            self.add(REFUSED, path, "message", "a message is an object")
            return None
        extra = as_dict(ext(message, "message"))
        name = message.get("name") or message.get("messageId") or key
        name = str(name)[:200]
        version = extra.get("version", 1)
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            version = 1
        type_key = (name, version)
        self.read_by_id[id(target)] = type_key
        if type_key in self.types:
            return type_key
        tags = {str(as_dict(t).get("name", "")).lower() for t in message.get("tags") or []}
        kind = extra.get("kind") or ("command" if "command" in tags else "event")
        item: dict[str, Any] = {
            "name": name,
            "kind": kind if kind in ("command", "event") else "event",
        }
        if version != 1:
            item["version"] = version
        if isinstance(extra.get("source"), str) and extra["source"]:
            item["source"] = extra["source"]
        notes: list[str] = []
        schema = self.payload_schema(path, message.get("payload"), notes)
        if schema:
            item["schema"] = schema
        examples = []
        for example in message.get("examples") or []:
            example = as_dict(example)
            if "payload" in example or "headers" in example:
                examples.append((example.get("payload"), example.get("headers")))
        self.examples[type_key] = examples
        if examples:
            notes.append(f"{len(examples)} example(s)")
        self.types[type_key] = item
        detail = f"message type {name!r} v{version} ({item['kind']})"
        self.add(IMPORTED, path, "message", detail + (f": {', '.join(notes)}" if notes else ""))
        return type_key

    def payload_schema(self, path: KeyPath, payload: Any, notes: list[str]) -> dict[str, Any]:
        if isinstance(payload, dict) and "schema" in payload and "schemaFormat" in payload:
            fmt = str(payload["schemaFormat"])
            if not fmt.startswith(JSON_SCHEMA_FORMATS):
                self.add(
                    NOT_MODELLED,
                    (*path, "payload"),
                    "message",
                    f"schemaFormat {fmt!r}: only JSON Schema payloads are read",
                )
                return {}
            payload = payload["schema"]
        if not isinstance(payload, dict) or not payload:
            return {}
        schema = {k: v for k, v in payload.items() if not k.startswith("x-")}
        errors = validators.json_schema_errors(schema)
        if errors:
            self.add(
                REFUSED,
                (*path, "payload"),
                "message",
                f"{' '.join(errors)} (the message type is imported without a schema)",
            )
            return {}
        notes.append("schema")
        return schema

    def emits(
        self, types: list[tuple[str, int]], channel_kind: str, path: KeyPath
    ) -> list[dict[str, Any]]:
        emits: list[dict[str, Any]] = []
        for type_key in types:
            examples = self.examples.get(type_key, [])
            emit: dict[str, Any] = {"type": type_key[0]}
            if type_key[1] != 1:
                emit["version"] = type_key[1]
            payloads = [p for p, _ in examples if isinstance(p, dict)]
            headers = [h for _, h in examples if isinstance(h, dict) and h]
            if payloads:
                emit["payload"] = payloads[0] if len(payloads) == 1 else {"$choice": payloads}
            else:
                template = payload_template(self.types[type_key].get("schema", {}))
                if template and not generators.check(template):
                    emit["payload"] = template
            if headers and channel_kind == "topic":
                emit["attributes"] = headers[0] if len(headers) == 1 else {"$choice": headers}
            emits.append(emit)
        if not emits:
            if (GENERIC_TYPE, 1) not in self.types:
                self.types[(GENERIC_TYPE, 1)] = {"name": GENERIC_TYPE, "kind": "event"}
            emits.append({"type": GENERIC_TYPE, "payload": {"id": {"$seq": {"prefix": "m-"}}}})
            self.add(INFERRED, path, "operation", f"no message: it sends {GENERIC_TYPE!r}")
        return emits


def payload_template(schema: Any, depth: int = 0) -> Any:
    """A payload template (with generators) whose messages fit ``schema``, roughly."""
    if not isinstance(schema, dict) or depth > 6:
        return None
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return {"$choice": schema["enum"]}
    if "examples" in schema and isinstance(schema["examples"], list) and schema["examples"]:
        return schema["examples"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind == "object" or (kind is None and "properties" in schema):
        out = {}
        for key, sub in as_dict(schema.get("properties")).items():
            value = payload_template(sub, depth + 1)
            if value is not None:
                out[key] = value
        return out
    if kind == "array":
        item = payload_template(schema.get("items"), depth + 1)
        return [item] if item is not None else []
    if kind == "integer":
        low = schema.get("minimum", 1)
        return {"$int": [low, schema.get("maximum", max(low, 0) + 100)]}
    if kind == "number":
        low = schema.get("minimum", 1)
        return {"$decimal": [low, schema.get("maximum", max(low, 0) + 1000), 2]}
    if kind == "boolean":
        return {"$bool": 0.5}
    if kind == "string":
        fmt = schema.get("format")
        if fmt == "uuid":
            return {"$uuid": {}}
        if fmt == "date-time":
            return {"$now": {}}
        return {"$seq": {"prefix": "s-"}}
    return None
