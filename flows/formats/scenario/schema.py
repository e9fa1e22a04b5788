"""The shape of a scenario file (a JSON Schema), and reading one within bounds."""

from __future__ import annotations

from typing import Any

import jsonschema

from flows.formats import yamldoc
from flows.formats.yamldoc import Document
from flows.models import ChannelKind, FilterScope, MessageKind


class ScenarioError(yamldoc.DocumentError):
    """A scenario file that cannot be loaded; the message names the line and key."""


MAX_SCENARIO_BYTES = 1024 * 1024


_NAME = {"type": "string", "minLength": 1, "maxLength": 200}
_JSON_OBJECT = {"type": "object"}
_NUMBER = {"type": "number", "minimum": 0}

SCENARIO_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["slug", "name"],
    "properties": {
        "slug": {"type": "string", "pattern": "^[-a-zA-Z0-9_]+$"},
        "name": _NAME,
        "description": {"type": "string"},
        "public": {"type": "boolean"},
        "featured": {"type": "boolean"},
        "script": {"type": "array", "items": {"type": "object"}},
        "message_types": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name"],
                "properties": {
                    "name": _NAME,
                    "kind": {"enum": list(MessageKind.values)},
                    "version": {"type": "integer", "minimum": 1},
                    "source": {"type": "string"},
                    "schema": _JSON_OBJECT,
                },
            },
        },
        "channels": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "kind"],
                "properties": {
                    "name": _NAME,
                    "kind": {"enum": list(ChannelKind.values)},
                    "description": {"type": "string"},
                    "visibility_timeout": _NUMBER,
                    "max_receives": {"type": "integer", "minimum": 1},
                    "dead_letter_queue": _NAME,
                    "fifo": {"type": "boolean"},
                    "archive": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "pattern": _JSON_OBJECT,
                            "retention_days": {"type": "integer", "minimum": 0},
                        },
                    },
                },
            },
        },
        "consumers": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name"],
                "properties": {
                    "name": _NAME,
                    "service": {"type": "string"},
                    "latency_ms": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {"mean": _NUMBER, "jitter": _NUMBER},
                    },
                    "failure_rate": {"type": "number", "minimum": 0, "maximum": 1},
                    "concurrency": {"type": "integer", "minimum": 1},
                    "online": {"type": "boolean"},
                    "idempotent": {"type": "boolean"},
                    "expects": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["type"],
                        "properties": {
                            "type": _NAME,
                            "version": {"type": "integer", "minimum": 1},
                        },
                    },
                },
            },
        },
        "producers": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "channel", "emits"],
                "properties": {
                    "name": _NAME,
                    "channel": _NAME,
                    "rate": _NUMBER,
                    "jitter": {"type": "number", "minimum": 0, "maximum": 1},
                    "burst": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "size": {"type": "integer", "minimum": 0},
                            "every": _NUMBER,
                        },
                    },
                    "paused": {"type": "boolean"},
                    "emits": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["type"],
                            "properties": {
                                "type": _NAME,
                                "version": {"type": "integer", "minimum": 1},
                                "weight": _NUMBER,
                                "payload": _JSON_OBJECT,
                                "attributes": _JSON_OBJECT,
                            },
                        },
                    },
                },
            },
        },
        "subscriptions": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["channel"],
                "oneOf": [{"required": ["consumer"]}, {"required": ["target_channel"]}],
                "properties": {
                    "channel": _NAME,
                    "consumer": _NAME,
                    "target_channel": _NAME,
                    "filter_policy": _JSON_OBJECT,
                    "filter_scope": {"enum": list(FilterScope.values)},
                    "dead_letter_queue": _NAME,
                    "max_retries": {"type": "integer", "minimum": 0},
                    "mirror_of": _NAME,
                },
            },
        },
        "rules": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "bus", "pattern"],
                "properties": {
                    "name": _NAME,
                    "bus": _NAME,
                    "description": {"type": "string"},
                    "enabled": {"type": "boolean"},
                    "pattern": {},
                    "targets": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "oneOf": [{"required": ["channel"]}, {"required": ["consumer"]}],
                            "properties": {
                                "channel": _NAME,
                                "consumer": _NAME,
                                "input_transformer": {
                                    "type": "object",
                                    "additionalProperties": False,
                                    "required": ["InputTemplate"],
                                    "properties": {
                                        "InputPathsMap": _JSON_OBJECT,
                                        "InputTemplate": {"type": "string"},
                                    },
                                },
                                "max_retries": {"type": "integer", "minimum": 0},
                                "dead_letter_queue": _NAME,
                            },
                        },
                    },
                },
            },
        },
    },
}


def read(text: str, origin: str = "<scenario>") -> Document:
    """Parse a scenario (bounded: see ``yamldoc``) and check its shape."""
    doc = yamldoc.parse(text, origin, max_bytes=MAX_SCENARIO_BYTES, error=ScenarioError)
    validate_shape(doc)
    return doc


def validate_shape(doc: Document) -> None:
    """Refuse a document that is not a scenario, naming the line and key at fault."""
    validator = jsonschema.Draft202012Validator(SCENARIO_SCHEMA)
    errors = sorted(validator.iter_errors(doc.data), key=lambda e: list(map(str, e.path)))
    if not errors:
        return
    error = jsonschema.exceptions.best_match(errors)
    path = tuple(error.absolute_path)
    message = error.message
    if error.validator == "maxLength":
        message = f"{error.instance!r} is too long (at most {error.validator_value} characters)"
    elif error.validator == "minLength":
        message = f"{error.instance!r} is too short (at least {error.validator_value} characters)"
    elif error.validator == "additionalProperties":
        message = f"unknown key ({error.message})"
    elif error.validator == "oneOf":
        message = "give exactly one of " + " or ".join(
            repr(option["required"][0]) for option in error.validator_value
        )
    raise doc.error(path, message)
