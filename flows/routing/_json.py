"""JSON decoding for patterns and events: orjson when installed, the stdlib otherwise."""

from __future__ import annotations

import json
from typing import Any

try:
    import orjson
except ImportError:  # pragma: no cover - orjson is a declared dependency
    orjson = None  # type: ignore[assignment]

__all__ = ["JSON_TEXT_TYPES", "dumps", "loads"]

JSON_TEXT_TYPES = (str, bytes, bytearray, memoryview)


def loads(data: str | bytes | bytearray | memoryview) -> Any:
    """Decode JSON text; raises ValueError (json.JSONDecodeError) when it is not JSON."""
    if orjson is not None:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            # orjson refuses integers wider than 64 bits, which the stdlib accepts; it is
            # also the stdlib's error message we want to show for bad input.
            pass
    if not isinstance(data, str):
        data = bytes(data).decode("utf-8")
    return json.loads(data)


def dumps(value: Any) -> str:
    """Compact JSON for messages and reprs (non-ASCII kept readable)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=repr)
