"""YAML documents read safely, with the line of every key path (no Django).

Every document EventViz reads from a person (scenario files, CloudFormation and SAM
templates, AsyncAPI documents) goes through ``parse``, which bounds what a small file can
cost before anything is built from it:

1. The text is refused past ``max_bytes``.
2. The YAML is composed into a node graph. Aliases share nodes, so this is cheap even for
   an "alias bomb" (a 500-byte file whose aliases expand to gigabytes).
3. The size the graph would have once expanded (every alias copied) is counted with one
   memoised walk, and refused past ``max_nodes``, as is a recursive alias or nesting past
   ``max_depth``. Only then are Python objects constructed.

Errors name the origin, the line and the key path at fault, e.g.
``shop.yaml line 14: channels[2].kind: 'queu' is not one of [...]``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

KeyPath = tuple[str | int, ...]

MAX_BYTES = 2 * 1024 * 1024
MAX_NODES = 200_000
MAX_DEPTH = 64


class DocumentError(ValueError):
    """A document that cannot be read; the message names the origin, line and key path."""


@dataclass
class Document:
    """Parsed YAML plus the line (1-based) where each key path starts."""

    data: Any
    lines: dict[KeyPath, int]
    origin: str
    error_cls: type[Exception] = DocumentError

    def where(self, path: KeyPath) -> str:
        line = None
        for depth in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:depth]))
            if line is not None:
                break
        dotted = format_path(path)
        location = f"{self.origin} line {line}" if line else self.origin
        return f"{location}: {dotted}" if dotted else location

    def error(self, path: KeyPath, message: str) -> Exception:
        """The error to raise for ``path`` (of the class the document was parsed with)."""
        return self.error_cls(f"{self.where(path)}: {message}")


def format_path(path: KeyPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


Constructor = Callable[[yaml.Node], Any]


def parse(
    text: str | bytes,
    origin: str = "<document>",
    *,
    loader: type[yaml.SafeLoader] = yaml.SafeLoader,
    max_bytes: int = MAX_BYTES,
    max_nodes: int = MAX_NODES,
    max_depth: int = MAX_DEPTH,
    error: type[Exception] = DocumentError,
) -> Document:
    """Read one YAML (or JSON) document within the bounds above.

    ``loader`` constructs scalars and tagged nodes (a loader with CloudFormation's short
    tags, say); mappings and sequences are built here so every key path gets its line.
    """
    size = len(text.encode("utf-8") if isinstance(text, str) else text)
    if size > max_bytes:
        raise error(f"{origin}: the document is {size:,} bytes; at most {max_bytes:,} are read")
    try:
        node = yaml.compose(text, Loader=loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{origin} line {mark.line + 1}" if mark else origin
        problem = getattr(exc, "problem", None) or str(exc)
        raise error(f"{where}: not valid YAML: {problem}") from None
    except RecursionError:
        raise error(f"{origin}: nested too deeply to read") from None
    if node is None:
        raise error(f"{origin}: the file is empty")
    _check_expansion(node, origin, max_nodes=max_nodes, max_depth=max_depth, error=error)
    lines: dict[KeyPath, int] = {}
    construct = loader("")
    data = _construct(node, (), lines, construct, origin, error)
    return Document(data=data, lines=lines, origin=origin, error_cls=error)


def _check_expansion(
    root: yaml.Node, origin: str, *, max_nodes: int, max_depth: int, error: type[Exception]
) -> None:
    """Refuse a graph whose expansion is too big, too deep or infinite, before building it."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()

    def size(node: yaml.Node, depth: int) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        line = node.start_mark.line + 1
        if depth > max_depth:
            raise error(f"{origin} line {line}: nested deeper than {max_depth} levels")
        if key in on_path:
            raise error(f"{origin} line {line}: a recursive alias (a node that contains itself)")
        total = 1
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            on_path.add(key)
            children = (
                [n for pair in node.value for n in pair]
                if isinstance(node, yaml.MappingNode)
                else node.value
            )
            for child in children:
                total += size(child, depth + 1)
                if total > max_nodes:
                    raise error(
                        f"{origin} line {line}: the document expands to more than "
                        f"{max_nodes:,} values (aliases included); refused before reading it"
                    )
            on_path.discard(key)
        sizes[key] = total
        return total

    size(root, 0)


def _construct(
    node: yaml.Node,
    path: KeyPath,
    lines: dict[KeyPath, int],
    loader: yaml.SafeLoader,
    origin: str,
    error: type[Exception],
) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode) and node.tag == "tag:yaml.org,2002:map":
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                key = str(key)
            if key in result:
                raise error(
                    f"{origin} line {key_node.start_mark.line + 1}: "
                    f"{format_path((*path, key))}: duplicate key"
                )
            lines[(*path, key)] = key_node.start_mark.line + 1
            result[key] = _construct(value_node, (*path, key), lines, loader, origin, error)
        return result
    if isinstance(node, yaml.SequenceNode) and node.tag == "tag:yaml.org,2002:seq":
        return [
            _construct(item, (*path, i), lines, loader, origin, error)
            for i, item in enumerate(node.value)
        ]
    try:
        return loader.construct_object(node, deep=True)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc)
        raise error(f"{origin} line {node.start_mark.line + 1}: {problem}") from None
