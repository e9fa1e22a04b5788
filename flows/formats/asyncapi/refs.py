"""``$ref`` resolution inside one AsyncAPI document, with the ``referencing`` library (no Django).

Only references within the document (``#/components/messages/OrderPlaced``) are followed.
A reference to another file or a URL is refused with a message that names it and where it
is: EventViz reads the one document it is handed and never opens a path or a URL that a
document names (an upload must not read the server's files or reach its network).

Resolving copies what a reference points to, so a document of a few kilobytes could name
one schema a million times over; the copies are counted and refused past a bound, as
``yamldoc`` does for YAML aliases. A schema that refers to itself (a tree of categories,
say) is cut at the point it recurs: that place accepts anything, and the cut is noted.
"""

from __future__ import annotations

from typing import Any

from referencing import Registry, Resource
from referencing.exceptions import Unresolvable

from flows.formats.yamldoc import KeyPath, format_path

BASE = "urn:eventviz:asyncapi-document"
MAX_COPIED = 200_000


class RefError(ValueError):
    """A ``$ref`` that is not followed: external, pointing to nothing, or a loop."""

    def __init__(self, where: str, detail: str) -> None:
        super().__init__(f"{where}: {detail}")
        self.where = where
        self.detail = detail


class Refs:
    def __init__(self, document: Any, *, max_copied: int = MAX_COPIED) -> None:
        registry: Registry[Any] = Registry().with_resource(BASE, Resource.opaque(document))
        self._resolver = registry.resolver(base_uri=BASE)
        self._budget = max_copied
        self.notes: list[str] = []  # recursive schemas cut, for the report

    def _lookup(self, ref: Any, path: KeyPath) -> Any:
        where = format_path(path) or "(document)"
        if not isinstance(ref, str):
            raise RefError(where, f"$ref must be a string, not {ref!r}")
        if not ref.startswith("#"):
            raise RefError(
                where,
                f"$ref {ref!r} refers outside this document; external files and "
                "URLs are not followed (put what it points to under components)",
            )
        try:
            return self._resolver.lookup(ref).contents
        except Unresolvable:
            raise RefError(where, f"$ref {ref!r} points to nothing in this document") from None

    def shallow(self, node: Any, path: KeyPath) -> Any:
        """``node``, or what its ``$ref`` (chain) points to."""
        seen: set[str] = set()
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if ref in seen:
                raise RefError(format_path(path), f"$ref {ref!r} refers to itself")
            seen.add(ref)
            target = self._lookup(ref, path)
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            node = {**target, **siblings} if siblings and isinstance(target, dict) else target
        return node

    def deep(self, node: Any, path: KeyPath) -> Any:
        """``node`` with every ``$ref`` in it replaced by a copy of what it points to."""
        return self._deep(node, path, ())

    def _deep(self, node: Any, path: KeyPath, stack: tuple[str, ...]) -> Any:
        self._budget -= 1
        if self._budget < 0:
            raise RefError(
                format_path(path),
                f"the document's $refs expand to more than {MAX_COPIED:,} values; refused",
            )
        if isinstance(node, list):
            return [self._deep(item, (*path, i), stack) for i, item in enumerate(node)]
        if not isinstance(node, dict):
            return node
        if "$ref" in node and isinstance(node["$ref"], str):
            ref = node["$ref"]
            if ref in stack:
                self.notes.append(
                    f"{format_path(path)}: $ref {ref!r} recurs; cut there (accepts anything)"
                )
                return {}
            target = self._lookup(ref, path)
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            merged = {**target, **siblings} if siblings and isinstance(target, dict) else target
            return self._deep(merged, path, (*stack, ref))
        return {key: self._deep(value, (*path, key), stack) for key, value in node.items()}
