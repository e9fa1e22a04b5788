"""Payload templates: JSON with generator objects, rendered with a seeded random.

A generator is a one-key object whose key starts with ``$``:

- ``{"$seq": {"prefix": "o-", "start": 1}}``  the producer's message number
- ``{"$choice": ["a", "b"]}``                 one of the values
- ``{"$int": [1, 6]}``                        an integer in [1, 6]
- ``{"$decimal": [5, 900, 2]}``               a number in [5, 900], 2 decimals
- ``{"$uuid": {}}``                           a random (seeded) UUID
- ``{"$now": {}}``                            the message time, ISO 8601
- ``{"$bool": 0.3}``                          true with probability 0.3

Anything else is copied; objects and lists are rendered recursively.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from typing import Any


class TemplateError(ValueError):
    """A payload template with an unknown or malformed generator."""


Context = tuple[random.Random, int, str]  # (rng, message number, ISO time)


def _seq(arg: Any, ctx: Context) -> Any:
    options = arg if isinstance(arg, dict) else {}
    number = int(options.get("start", 1)) + ctx[1]
    prefix = options.get("prefix")
    return f"{prefix}{number}" if prefix is not None else number


def _choice(arg: Any, ctx: Context) -> Any:
    if not isinstance(arg, list) or not arg:
        raise TemplateError("$choice takes a non-empty list")
    return arg[ctx[0].randrange(len(arg))]


def _int(arg: Any, ctx: Context) -> Any:
    low, high = _bounds("$int", arg, 2)
    return ctx[0].randint(int(low), int(high))


def _decimal(arg: Any, ctx: Context) -> Any:
    low, high, *rest = _bounds("$decimal", arg, 3, optional=1)
    places = int(rest[0]) if rest else 2
    return round(ctx[0].uniform(float(low), float(high)), places)


def _uuid(arg: Any, ctx: Context) -> Any:
    return str(uuid.UUID(int=ctx[0].getrandbits(128), version=4))


def _now(arg: Any, ctx: Context) -> Any:
    return ctx[2]


def _bool(arg: Any, ctx: Context) -> Any:
    probability = 0.5 if arg in ({}, None) else arg
    if not isinstance(probability, int | float) or not 0 <= probability <= 1:
        raise TemplateError("$bool takes a probability between 0 and 1")
    return ctx[0].random() < probability


def _bounds(name: str, arg: Any, size: int, optional: int = 0) -> list[Any]:
    if (
        not isinstance(arg, list)
        or not size - optional <= len(arg) <= size
        or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in arg)
    ):
        raise TemplateError(f"{name} takes a list of {size - optional} numbers [low, high]")
    if arg[0] > arg[1]:
        raise TemplateError(f"{name}: low {arg[0]} is above high {arg[1]}")
    return list(arg)


GENERATORS: dict[str, Callable[[Any, Context], Any]] = {
    "$seq": _seq,
    "$choice": _choice,
    "$int": _int,
    "$decimal": _decimal,
    "$uuid": _uuid,
    "$now": _now,
    "$bool": _bool,
}


def render(template: Any, *, rng: random.Random, number: int, time: str) -> Any:
    """Render ``template`` for the producer's ``number``-th message (0-based)."""
    return _render(template, (rng, number, time))


def _render(node: Any, ctx: Context) -> Any:
    if isinstance(node, dict):
        if len(node) == 1:
            ((key, arg),) = node.items()
            if isinstance(key, str) and key.startswith("$"):
                generator = GENERATORS.get(key)
                if generator is None:
                    known = ", ".join(GENERATORS)
                    raise TemplateError(f"unknown generator {key!r} (known: {known})")
                return generator(arg, ctx)
        return {key: _render(value, ctx) for key, value in node.items()}
    if isinstance(node, list):
        return [_render(item, ctx) for item in node]
    return node


def check(template: Any) -> list[str]:
    """Errors a template would raise, found by rendering it once with a fixed seed."""
    try:
        render(template, rng=random.Random(0), number=0, time="1970-01-01T00:00:00Z")
    except TemplateError as exc:
        return [str(exc)]
    return []
