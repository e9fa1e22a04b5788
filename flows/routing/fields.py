"""Reading the leaf values of an event at the paths patterns name.

An event-ruler "field" is a leaf of the event JSON (string, number, boolean or null)
named by the dot-joined keys on its way down; arrays are transparent, so
``{"a": [{"b": 1}, {"b": 2}]}`` has two values for ``a.b``. Empty arrays and objects
contribute nothing, which is why ``exists`` only sees leaves. Keys that contain dots
are honoured: ``{"a.b": 1}`` and ``{"a": {"b": 1}}`` both give a value for ``a.b``.

Each value also carries its *array chain*: the ``(array_id, index)`` pairs of the arrays
of objects (or of arrays) it sits in, the array id being the ``id()`` of the list, so it
is the same whichever path found it. Two values can be used together by one rule only
if their chains agree on every array they share (event-ruler's array consistency), so
``{"a": {"b": [1], "c": [2]}}`` does not match ``{"a": [{"b": 1}, {"b": 3, "c": 2}]}``.
An array whose elements are scalars never enters a chain: only one path can see it; the
same holds for an array of arrays with no object at any depth.

:func:`resolve` reads one path; :class:`FieldSelector` reads a fixed set of paths into
:class:`Fields`; :class:`LazyFields` reads paths on demand and remembers them (the rule
index asks only for the paths of the states it reaches).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "Chain",
    "FieldSelector",
    "Fields",
    "Found",
    "LazyFields",
    "PathPlan",
    "chains_consistent",
    "flatten",
    "merge_chains",
    "plan_path",
    "resolve",
]

Chain = tuple[tuple[int, int], ...]
# For each depth, the event keys that may continue a path there and the depth each reaches.
Levels = tuple[tuple[tuple[str, int], ...], ...]

_SCALARS = frozenset({str, int, float, bool, type(None)})
_ABSENT: Any = object()


class Fields:
    """Leaf values by path, plus their array chains.

    ``values[path]`` lists the leaf values at ``path``, read-only (paths without values are left
    out); when ``chains`` is not None, ``chains[path][i]`` is the chain of
    ``values[path][i]``. ``chains`` is None when no value sits inside an array of
    objects, i.e. array consistency cannot matter.
    """

    __slots__ = ("chains", "values")

    def __init__(
        self, values: dict[str, Sequence[Any]], chains: dict[str, Sequence[Chain]] | None
    ) -> None:
        self.values = values
        self.chains = chains

    def __repr__(self) -> str:
        return f"Fields({self.values!r}, chains={self.chains!r})"


def chains_consistent(chain: Chain, membership: Chain) -> bool:
    """True unless ``chain`` picks a different element of an array ``membership`` uses."""
    for array_id, index in chain:
        for other_id, other_index in membership:
            if array_id == other_id and index != other_index:
                return False
    return True


def merge_chains(membership: Chain, chain: Chain) -> Chain:
    """The membership after also using a value with ``chain`` (sorted, so hashable-stable)."""
    if not chain:
        return membership
    return tuple(sorted(set(membership).union(chain)))


class PathPlan:
    """How to read one path.

    ``levels[i]`` lists, for depth ``i``, the event keys that may continue the path
    there and the depth each reaches: the next segment alone, or it joined by dots with
    the following ones (``{"a.b": 1}`` has a value for ``a.b`` too). ``plain`` is the
    common case made quick: per depth, the segment and the joined keys whose presence
    sends the read down the general way.
    """

    __slots__ = ("levels", "plain")

    def __init__(self, path: str) -> None:
        segments = path.split(".")
        n = len(segments)
        self.levels = tuple(
            tuple((".".join(segments[i:j]), j) for j in range(i + 1, n + 1)) for i in range(n)
        )
        self.plain = tuple(
            (segment, tuple(key for key, _ in level[1:]))
            for segment, level in zip(segments, self.levels, strict=True)
        )

    def __repr__(self) -> str:
        return f"PathPlan({'.'.join(segment for segment, _ in self.plain)!r})"


def plan_path(path: str) -> PathPlan:
    return PathPlan(path)


Found = tuple[Sequence[Any], Sequence[Chain]]
# The chains of a single value in no array.
_NO_ARRAY: tuple[Chain] = ((),)


def resolve(event: Mapping[str, Any], plan: PathPlan) -> Found | None:
    """The values at one path of ``event`` and their chains, or None if it has none.
    Treat both as read-only: a lone value in no array comes in shared tuples."""
    node: Any = event
    for segment, joins in plan.plain:
        # Most paths run through plain objects: each segment a key of a dict, no key of
        # those dicts holding a dot that could join segments. Anything else (an array on
        # the way, a joined key present) takes the general way below.
        if type(node) is not dict:
            break
        if joins:
            joined = False
            for key in joins:
                if key in node:
                    joined = True
                    break
            if joined:
                break
        node = node.get(segment, _ABSENT)
        if node is _ABSENT:
            return None
    else:
        if type(node) in _SCALARS:
            return (node,), _NO_ARRAY
        values: list[Any] = []
        chains: list[Chain] = []
        _leaf(node, (), values, chains)
        return (values, chains) if values else None
    values = []
    chains = []
    _descend(event, plan.levels, 0, (), values, chains)
    return (values, chains) if values else None


def _descend(
    obj: Mapping[str, Any],
    plan: Levels,
    depth: int,
    chain: Chain,
    values: list[Any],
    chains: list[Chain],
) -> None:
    last = len(plan)
    for key, reached in plan[depth]:
        value = obj.get(key, _ABSENT)
        if value is _ABSENT:
            continue
        if reached == last:
            if type(value) in _SCALARS:
                values.append(value)
                chains.append(chain)
            else:
                _leaf(value, chain, values, chains)
        elif type(value) is dict:
            _descend(value, plan, reached, chain, values, chains)
        else:
            _inner(value, plan, reached, chain, values, chains)


def _inner(
    value: Any, plan: Levels, depth: int, chain: Chain, values: list[Any], chains: list[Chain]
) -> None:
    t = type(value)
    if t is dict:
        _descend(value, plan, depth, chain, values, chains)
    elif t is list or t is tuple:
        array_id = id(value)
        for index, element in enumerate(value):
            if type(element) not in _SCALARS:
                _inner(element, plan, depth, (*chain, (array_id, index)), values, chains)
    elif t not in _SCALARS and isinstance(value, Mapping):
        _descend(value, plan, depth, chain, values, chains)


def _leaf(value: Any, chain: Chain, values: list[Any], chains: list[Chain]) -> None:
    t = type(value)
    if t in _SCALARS:
        values.append(value)
        chains.append(chain)
    elif t is list or t is tuple:
        found: list[Any] = []
        if _scalars_only(value, found):
            # No object at any depth: no other path sees inside, so no chain entries.
            values.extend(found)
            chains.extend([chain] * len(found))
            return
        array_id = id(value)
        for index, element in enumerate(value):
            te = type(element)
            if te in _SCALARS:
                values.append(element)
                chains.append(chain)
            elif te is list or te is tuple:
                _leaf(element, (*chain, (array_id, index)), values, chains)
            elif te is not dict and not isinstance(element, Mapping):
                values.append(element)
                chains.append(chain)
    elif t is not dict and not isinstance(value, Mapping):
        values.append(value)
        chains.append(chain)


def _scalars_only(array: list[Any] | tuple[Any, ...], out: list[Any]) -> bool:
    """Append the leaves of an array of (arrays of) non-objects to ``out``; False as soon
    as an object turns up at any depth (``out`` is then partly filled)."""
    for element in array:
        te = type(element)
        if te in _SCALARS:
            out.append(element)
        elif te is list or te is tuple:
            if not _scalars_only(element, out):
                return False
        elif te is dict or isinstance(element, Mapping):
            return False
        else:
            out.append(element)
    return True


def flatten(event: Mapping[str, Any]) -> dict[str, Found]:
    """Every leaf of ``event``, by path (same values and chains as :func:`resolve`)."""
    found: dict[str, tuple[list[Any], list[Chain]]] = {}

    def add(path: str, value: Any, chain: Chain) -> None:
        entry = found.get(path)
        if entry is None:
            found[path] = ([value], [chain])
        else:
            entry[0].append(value)
            entry[1].append(chain)

    def walk(obj: Mapping[str, Any], prefix: str, chain: Chain) -> None:
        for key, value in obj.items():
            visit(value, f"{prefix}.{key}" if prefix else key, chain)

    def visit(value: Any, path: str, chain: Chain) -> None:
        t = type(value)
        if t in _SCALARS:
            add(path, value, chain)
        elif t is dict or (t is not list and t is not tuple and isinstance(value, Mapping)):
            walk(value, path, chain)
        elif t is list or t is tuple:
            leaves: list[Any] = []
            if _scalars_only(value, leaves):
                for leaf in leaves:
                    add(path, leaf, chain)
                return
            array_id = id(value)
            for index, element in enumerate(value):
                if type(element) in _SCALARS:
                    add(path, element, chain)
                else:
                    visit(element, path, (*chain, (array_id, index)))
        else:
            add(path, value, chain)

    walk(event, "", ())
    return found


class FieldSelector:
    """A set of paths (reference-counted) and the reader that collects them as Fields."""

    __slots__ = ("_plans", "_refs")

    def __init__(self, paths: Iterable[str] = ()) -> None:
        self._plans: dict[str, PathPlan] = {}
        self._refs: dict[str, int] = {}
        for path in paths:
            self.add(path)

    @property
    def plans(self) -> Mapping[str, PathPlan]:
        return self._plans

    def add(self, path: str) -> None:
        count = self._refs.get(path, 0)
        if not count:
            self._plans[path] = plan_path(path)
        self._refs[path] = count + 1

    def remove(self, path: str) -> None:
        count = self._refs.get(path, 0)
        if count > 1:
            self._refs[path] = count - 1
        elif count:
            del self._refs[path]
            del self._plans[path]

    def collect(self, event: Mapping[str, Any]) -> Fields:
        values: dict[str, Sequence[Any]] = {}
        chains: dict[str, Sequence[Chain]] = {}
        nested = False
        for path, plan in self._plans.items():
            found = resolve(event, plan)
            if found is not None:
                values[path], chains[path] = found
                if not nested and any(found[1]):
                    nested = True
        return Fields(values, chains if nested else None)


class LazyFields:
    """One event's paths, read on first use and remembered.

    ``get(path)`` returns ``(values, chains)`` (read-only) or None.
    """

    __slots__ = ("_all", "_cache", "_event", "_plans")

    def __init__(self, event: Mapping[str, Any], plans: Mapping[str, PathPlan]) -> None:
        self._event = event
        self._plans = plans
        self._cache: dict[str, Found | None] = {}
        self._all: dict[str, Found] | None = None

    def get(self, path: str) -> Found | None:
        cache = self._cache
        if path in cache:
            return cache[path]
        found = cache[path] = resolve(self._event, self._plans[path])
        return found

    def everything(self) -> dict[str, Found]:
        """All leaves of the event by path, for states with more paths than it has."""
        if self._all is None:
            self._all = flatten(self._event)
        return self._all
