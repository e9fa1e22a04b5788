"""RuleIndex: many event patterns compiled into one state machine.

Like aws/event-ruler's ``Machine``: every pattern becomes one or more sub-rules (one per
``$or`` alternative), each a sequence of field steps. The steps of all rules form a tree
of states; a state's child is keyed by the step's path and condition, so rules that begin
with the same conditions share states. Per state and path, one :class:`_ValueIndex`
maps an event value to the children it leads to: exact values by hash, prefixes and
suffixes by hashing the value's leading/trailing slice for each length in use, numeric
and CIDR ranges by bisecting their endpoints (then a table of answers, or a stabbing-query
segment tree when there are many), wildcards by their literal prefix or suffix, and only
the anything-but family (whose matches are "everything but") by trying each clause. Each
value index calls only the lookups for what it holds (most hold exact strings only).

Step order: hash-lookup steps go first, led by the one with the lowest expected pass rate
(its values over the different values the index's rules name on that path), so rules
that differ by one field are told apart at the first step, whichever field it is. In a
sub-rule with ``exists: false``, the steps under the top-level key of an absent field
keep event-ruler's order (by path), on which its meaning inside arrays depends (see
``RuleIndex._order``). Orders are re-checked as the value counts drift (amortized).

Matching reads event paths lazily, only for the states it reaches, walks the tree from
the root following the children each present value selects (and the ``exists: false``
children of absent fields), and tracks array elements only once a value inside an array
of objects leads to a state below which a step shares its top-level key. The cost grows
with the event's fields and the states actually reached, not with the number of rules
(wildcards with no literal start or end, like ``*x*``, and anything-but clauses are
tried one by one at their state). Adding and removing a rule touches only that rule's
states.

Results equal ``EventPattern.matches`` for every rule, including array consistency
(tests/routing/test_index.py checks that on random patterns and events).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Hashable, Iterable, Iterator, Mapping
from typing import Any

from flows.routing.fields import (
    Chain,
    FieldSelector,
    LazyFields,
    chains_consistent,
    merge_chains,
)
from flows.routing.matchers import (
    AnythingBut,
    AnythingButIgnoreCase,
    AnythingButPrefix,
    AnythingButSuffix,
    AnythingButWildcard,
    Cidr,
    EqualsIgnoreCase,
    ExactLiteral,
    ExactNumber,
    ExactString,
    Exists,
    IpExact,
    Matcher,
    NumericRange,
    Prefix,
    PrefixIgnoreCase,
    Suffix,
    SuffixIgnoreCase,
    Wildcard,
    fold,
    parse_ip,
    to_number,
)
from flows.routing.patterns import EventPattern, Step, SubRule, coerce_event, path_sort_key

__all__ = ["RuleIndex"]

_NEGATIVE = (
    AnythingBut,
    AnythingButIgnoreCase,
    AnythingButPrefix,
    AnythingButSuffix,
    AnythingButWildcard,
)

# Up to this many ranges in one index, each slot between their endpoints keeps its answer
# (at most about 2n slots of n states); beyond, a segment tree holds them.
_SLOT_ANSWERS = 24
# A state with more paths than this reads the whole event once, then looks up the
# paths the event has, rather than looking for each of its paths in the event.
_WIDE_STATE = 48
# Rules re-ordered at most once per this many adds and removes, however few rules.
_REBALANCE_MIN = 8
# Matchers looked up by hashing the value: what _order's pass-rate estimate counts.
_HASHED = frozenset({ExactString, ExactNumber, ExactLiteral, IpExact})


class _State:
    __slots__ = ("absent", "below", "children", "edge", "parent", "rules", "trans")

    def __init__(self, parent: _State | None, edge: Step | None) -> None:
        self.parent = parent
        self.edge = edge
        self.children: dict[tuple[str, Hashable], _State] = {}
        self.trans: dict[str, _ValueIndex] = {}
        self.absent: dict[str, dict[_State, None]] = {}
        self.rules: dict[Hashable, int] = {}
        # Top-level keys of the steps in this state's subtree (the steps leaving it and
        # all further down), with how many placed sub-rule steps use each.
        self.below: dict[str, int] = {}


# path -> its top-level key (first segment); paths are few (those of rules)
_HEADS: dict[str, str] = {}


def _head(path: str) -> str:
    head = _HEADS.get(path)
    if head is None:
        head = _HEADS[path] = path.split(".", 1)[0]
    return head


def _put(buckets: dict[Any, dict[Any, None]], key: Any, item: Any) -> None:
    bucket = buckets.get(key)
    if bucket is None:
        buckets[key] = {item: None}
    else:
        bucket[item] = None


def _drop(buckets: dict[Any, dict[Any, None]], key: Any, item: Any) -> None:
    bucket = buckets[key]
    del bucket[item]
    if not bucket:
        del buckets[key]


class _AffixIndex:
    """Strings by their leading (or trailing) characters, bucketed by length."""

    __slots__ = ("by_length", "suffix")

    def __init__(self, suffix: bool) -> None:
        self.suffix = suffix
        self.by_length: dict[int, dict[str, dict[Any, None]]] = {}

    def add(self, text: str, item: Any) -> None:
        buckets = self.by_length.setdefault(len(text), {})
        _put(buckets, text, item)

    def remove(self, text: str, item: Any) -> None:
        length = len(text)
        buckets = self.by_length[length]
        _drop(buckets, text, item)
        if not buckets:
            del self.by_length[length]

    def lookup(self, value: str, out: list[Any]) -> None:
        size = len(value)
        for length, buckets in self.by_length.items():
            if length > size:
                continue
            key = value[size - length :] if self.suffix else value[:length]
            bucket = buckets.get(key)
            if bucket:
                out.extend(bucket)


class _RangeIndex:
    """Intervals ``(lo, lo_open, hi, hi_open)`` answering "which contain x?".

    Endpoints split the line into points and the open gaps between them (slots); a
    query finds x's slot by bisection. With few intervals each slot keeps its answer; with
    more, a segment tree over the slots stores each interval in O(log n) nodes and a
    query walks one leaf-to-root path. Rebuilt lazily after changes.
    """

    __slots__ = ("answers", "entries", "points", "size", "tree")

    def __init__(self) -> None:
        self.entries: dict[tuple[tuple[Any, bool, Any, bool], _State], None] = {}
        self.points: list[Any] | None = None
        self.answers: list[tuple[_State, ...]] | None = None
        self.size = 0
        self.tree: list[list[_State] | None] = []

    def add(self, bounds: tuple[Any, bool, Any, bool], state: _State) -> None:
        self.entries[(bounds, state)] = None
        self.points = None

    def remove(self, bounds: tuple[Any, bool, Any, bool], state: _State) -> None:
        del self.entries[(bounds, state)]
        self.points = None

    def lookup(self, x: Any, out: list[Any]) -> None:
        if x != x:  # NaN is in no range
            return
        points = self.points
        if points is None:
            points = self._build()
        i = bisect_left(points, x)
        slot = 2 * i + 1 if i < len(points) and points[i] == x else 2 * i
        answers = self.answers
        if answers is not None:
            answer = answers[slot]
            if answer:
                out.extend(answer)
            return
        node = slot + self.size
        tree = self.tree
        while node:
            bucket = tree[node]
            if bucket:
                out.extend(bucket)
            node >>= 1

    def _slots(self, position: dict[Any, int]) -> Iterator[tuple[int, int, _State]]:
        """Each interval as its first and last slot (inclusive)."""
        last_slot = 2 * len(position)
        for (lo, lo_open, hi, hi_open), state in self.entries:
            first = 0 if lo == -math.inf else 2 * position[lo] + (2 if lo_open else 1)
            last = last_slot if hi == math.inf else 2 * position[hi] + (0 if hi_open else 1)
            yield first, last, state

    def _build(self) -> list[Any]:
        finite = set()
        for (lo, _, hi, _), _state in self.entries:
            if lo != -math.inf:
                finite.add(lo)
            if hi != math.inf:
                finite.add(hi)
        points = sorted(finite)
        position = {p: i for i, p in enumerate(points)}
        last_slot = 2 * len(points)
        if len(self.entries) <= _SLOT_ANSWERS:
            answers: list[list[_State]] = [[] for _ in range(last_slot + 1)]
            for first, last, state in self._slots(position):
                for slot in range(first, last + 1):
                    answers[slot].append(state)
            self.answers = [tuple(answer) for answer in answers]
            self.tree = []
            self.points = points
            return points
        self.answers = None
        size = 1
        while size <= last_slot:
            size *= 2
        tree: list[list[_State] | None] = [None] * (2 * size)
        for first, last, state in self._slots(position):
            left = first + size
            right = last + size + 1
            while left < right:
                if left & 1:
                    bucket = tree[left]
                    if bucket is None:
                        tree[left] = [state]
                    else:
                        bucket.append(state)
                    left += 1
                if right & 1:
                    right -= 1
                    bucket = tree[right]
                    if bucket is None:
                        tree[right] = [state]
                    else:
                        bucket.append(state)
                left >>= 1
                right >>= 1
        self.size = size
        self.tree = tree
        self.points = points
        return points


class _WildcardIndex:
    """Wildcards filed under their literal prefix, else their literal suffix, so an event
    value is only tried against wildcards whose fixed ends it already has."""

    __slots__ = ("by_prefix", "by_suffix", "general")

    def __init__(self) -> None:
        self.by_prefix = _AffixIndex(suffix=False)
        self.by_suffix = _AffixIndex(suffix=True)
        self.general: dict[tuple[Wildcard, _State], None] = {}

    def __bool__(self) -> bool:
        return bool(self.general or self.by_prefix.by_length or self.by_suffix.by_length)

    def add(self, wildcard: Wildcard, state: _State) -> None:
        if wildcard.literal_prefix:
            self.by_prefix.add(wildcard.literal_prefix, (wildcard, state))
        elif wildcard.literal_suffix:
            self.by_suffix.add(wildcard.literal_suffix, (wildcard, state))
        else:
            self.general[(wildcard, state)] = None

    def remove(self, wildcard: Wildcard, state: _State) -> None:
        if wildcard.literal_prefix:
            self.by_prefix.remove(wildcard.literal_prefix, (wildcard, state))
        elif wildcard.literal_suffix:
            self.by_suffix.remove(wildcard.literal_suffix, (wildcard, state))
        else:
            del self.general[(wildcard, state)]

    def lookup(self, value: str, out: list[Any]) -> None:
        candidates: list[tuple[Wildcard, _State]] = list(self.general)
        self.by_prefix.lookup(value, candidates)
        self.by_suffix.lookup(value, candidates)
        for wildcard, state in candidates:
            if wildcard.matches(value):
                out.append(state)


class _ValueIndex:
    """For one state and one path: event value -> child states, over every kind of
    matcher the rules use there. Structures are created when first needed."""

    __slots__ = (
        "cidrs",
        "exists",
        "folded",
        "folded_prefixes",
        "folded_suffixes",
        "ips",
        "literals",
        "lookup",
        "negatives",
        "numbers",
        "numeric_only",
        "prefixes",
        "ranges",
        "size",
        "string_probes",
        "strings",
        "suffixes",
        "wildcards",
    )

    def __init__(self) -> None:
        self.strings: dict[str, dict[_State, None]] = {}
        self.numbers: dict[float, dict[_State, None]] | None = None
        self.literals: dict[bool | None, dict[_State, None]] | None = None
        self.ranges: _RangeIndex | None = None
        self.negatives: dict[tuple[Matcher, _State], None] | None = None
        self.exists: dict[_State, None] | None = None
        # string operators beyond equality
        self.ips: dict[tuple[int, int], dict[_State, None]] | None = None
        self.folded: dict[str, dict[_State, None]] | None = None
        self.prefixes: _AffixIndex | None = None
        self.suffixes: _AffixIndex | None = None
        self.folded_prefixes: _AffixIndex | None = None
        self.folded_suffixes: _AffixIndex | None = None
        self.wildcards: _WildcardIndex | None = None
        self.cidrs: dict[int, _RangeIndex] | None = None
        self.size = 0
        self.string_probes: tuple[Any, ...] = ()
        self.numeric_only = False
        self.lookup = self._lookup_exact

    def _pick_lookup(self) -> None:
        """Set :attr:`lookup` (and the string probes) for what the index now holds.

        Most indexes hold only exact strings, which one dict lookup answers; one of
        strings and string operators skips the number, literal and negative checks; and a
        string value is put only to the string operators the index holds.
        """
        probes: list[Any] = []
        for affixes in (self.prefixes, self.suffixes):
            if affixes is not None and affixes.by_length:
                probes.append(affixes.lookup)
        if (
            self.folded
            or (self.folded_prefixes is not None and self.folded_prefixes.by_length)
            or (self.folded_suffixes is not None and self.folded_suffixes.by_length)
        ):
            probes.append(self._probe_folded)
        if self.wildcards:
            probes.append(self.wildcards.lookup)
        if self.ips or self.cidrs:
            probes.append(self._probe_ip)
        self.string_probes = tuple(probes)
        numeric = bool(self.numbers or (self.ranges is not None and self.ranges.entries))
        others = bool(self.literals or self.negatives or self.exists)
        self.numeric_only = numeric and not others and not probes and not self.strings
        if numeric or others:
            self.lookup = self._lookup_any
        elif probes:
            self.lookup = self._lookup_text
        else:
            self.lookup = self._lookup_exact

    def add(self, matcher: Matcher, state: _State) -> None:
        self._add(matcher, state)
        self._pick_lookup()

    def remove(self, matcher: Matcher, state: _State) -> None:
        self._remove(matcher, state)
        self._pick_lookup()

    def _add(self, matcher: Matcher, state: _State) -> None:
        self.size += 1
        kind = type(matcher)
        if kind is ExactString:
            _put(self.strings, matcher.value, state)  # type: ignore[attr-defined]
        elif kind is ExactNumber:
            if self.numbers is None:
                self.numbers = {}
            _put(self.numbers, matcher.value, state)  # type: ignore[attr-defined]
        elif kind is ExactLiteral:
            if self.literals is None:
                self.literals = {}
            _put(self.literals, matcher.value, state)  # type: ignore[attr-defined]
        elif kind is NumericRange:
            assert isinstance(matcher, NumericRange)
            if self.ranges is None:
                self.ranges = _RangeIndex()
            self.ranges.add((matcher.lo, matcher.lo_open, matcher.hi, matcher.hi_open), state)
        elif kind is Exists:
            if self.exists is None:
                self.exists = {}
            self.exists[state] = None
        elif kind in _NEGATIVE:
            if self.negatives is None:
                self.negatives = {}
            self.negatives[(matcher, state)] = None
        else:
            self._add_string_op(matcher, state)

    def _add_string_op(self, matcher: Matcher, state: _State) -> None:
        kind = type(matcher)
        if kind is IpExact:
            assert isinstance(matcher, IpExact)
            if self.ips is None:
                self.ips = {}
            _put(self.ips, (matcher.version, matcher.address), state)
        elif kind is EqualsIgnoreCase:
            if self.folded is None:
                self.folded = {}
            _put(self.folded, matcher.value, state)  # type: ignore[attr-defined]
        elif kind is Cidr:
            assert isinstance(matcher, Cidr)
            if self.cidrs is None:
                self.cidrs = {}
            ranges = self.cidrs.get(matcher.version)
            if ranges is None:
                ranges = self.cidrs[matcher.version] = _RangeIndex()
            ranges.add((matcher.first, False, matcher.last, False), state)
        elif kind is Wildcard:
            assert isinstance(matcher, Wildcard)
            if self.wildcards is None:
                self.wildcards = _WildcardIndex()
            self.wildcards.add(matcher, state)
        else:
            name = _AFFIX_SLOTS[kind]
            affixes = getattr(self, name)
            if affixes is None:
                affixes = _AffixIndex(suffix=kind in (Suffix, SuffixIgnoreCase))
                setattr(self, name, affixes)
            affixes.add(matcher.value, state)  # type: ignore[attr-defined]

    def _remove(self, matcher: Matcher, state: _State) -> None:
        # Emptied structures stay allocated: the state is usually pruned with its index.
        self.size -= 1
        kind = type(matcher)
        if kind is ExactString:
            _drop(self.strings, matcher.value, state)  # type: ignore[attr-defined]
        elif kind is ExactNumber:
            _drop(self.numbers, matcher.value, state)  # type: ignore[arg-type, attr-defined]
        elif kind is ExactLiteral:
            _drop(self.literals, matcher.value, state)  # type: ignore[arg-type, attr-defined]
        elif kind is NumericRange:
            assert isinstance(matcher, NumericRange) and self.ranges is not None
            self.ranges.remove((matcher.lo, matcher.lo_open, matcher.hi, matcher.hi_open), state)
        elif kind is Exists:
            del self.exists[state]  # type: ignore[union-attr]
        elif kind in _NEGATIVE:
            del self.negatives[(matcher, state)]  # type: ignore[union-attr]
        else:
            if kind is IpExact:
                assert isinstance(matcher, IpExact)
                _drop(self.ips, (matcher.version, matcher.address), state)  # type: ignore[arg-type]
            elif kind is EqualsIgnoreCase:
                _drop(self.folded, matcher.value, state)  # type: ignore[arg-type, attr-defined]
            elif kind is Cidr:
                assert isinstance(matcher, Cidr) and self.cidrs is not None
                ranges = self.cidrs[matcher.version]
                ranges.remove((matcher.first, False, matcher.last, False), state)
                if not ranges.entries:
                    del self.cidrs[matcher.version]
            elif kind is Wildcard:
                assert isinstance(matcher, Wildcard) and self.wildcards is not None
                self.wildcards.remove(matcher, state)
            else:
                affixes = getattr(self, _AFFIX_SLOTS[kind])
                affixes.remove(matcher.value, state)  # type: ignore[attr-defined]

    def _lookup_exact(self, value: Any, out: list[Any]) -> None:
        bucket = self.strings.get(value)
        if bucket:
            out.extend(bucket)

    def _lookup_text(self, value: Any, out: list[Any]) -> None:
        if type(value) is str:
            bucket = self.strings.get(value)
            if bucket:
                out.extend(bucket)
            for probe in self.string_probes:
                probe(value, out)

    def _lookup_any(self, value: Any, out: list[Any]) -> None:
        """Append to ``out`` every child state ``value`` leads to (maybe repeated)."""
        t = type(value)
        if t is str:
            bucket = self.strings.get(value)
            if bucket:
                out.extend(bucket)
            for probe in self.string_probes:
                probe(value, out)
        elif t is int or t is float:
            if self.numbers is not None or self.ranges is not None:
                x = to_number(value)
                if x is not None:
                    if self.numbers:
                        bucket = self.numbers.get(x)
                        if bucket:
                            out.extend(bucket)
                    if self.ranges is not None and self.ranges.entries:
                        self.ranges.lookup(x, out)
        elif (t is bool or value is None) and self.literals:
            bucket = self.literals.get(value)  # type: ignore[arg-type]
            if bucket:
                out.extend(bucket)
        if self.negatives:
            for matcher, state in self.negatives:
                if matcher.matches(value):
                    out.append(state)
        if self.exists:
            out.extend(self.exists)

    def lookup_all(self, values: list[Any], out: list[Any]) -> None:
        """:meth:`lookup` for each of ``values``; numbers with the same double value
        select the same states, so each is looked up once (long arrays of coordinates
        repeat their zeros and their first point)."""
        lookup = self.lookup
        if len(values) < 4:
            for value in values:
                lookup(value, out)
            return
        done: set[float] = set()
        if self.numeric_only:
            # Long arrays are mostly numbers (coordinates): the numeric part of
            # _lookup_any, inlined.
            numbers = self.numbers
            ranges = self.ranges if self.ranges is not None and self.ranges.entries else None
            for value in values:
                t = type(value)
                if t is float:
                    x = value
                elif t is int:
                    x = to_number(value)
                    if x is None:
                        continue
                else:
                    continue
                if x in done:
                    continue
                done.add(x)
                if numbers:
                    bucket = numbers.get(x)
                    if bucket:
                        out.extend(bucket)
                if ranges is not None:
                    ranges.lookup(x, out)
            return
        for value in values:
            t = type(value)
            if t is float or t is int:
                x = to_number(value)
                if x is not None:
                    if x in done:
                        continue
                    done.add(x)
            lookup(value, out)

    def _probe_folded(self, value: str, out: list[Any]) -> None:
        folded = fold(value)
        if self.folded:
            bucket = self.folded.get(folded)
            if bucket:
                out.extend(bucket)
        if self.folded_prefixes is not None:
            self.folded_prefixes.lookup(folded, out)
        if self.folded_suffixes is not None:
            self.folded_suffixes.lookup(folded, out)

    def _probe_ip(self, value: str, out: list[Any]) -> None:
        parsed = parse_ip(value)
        if parsed is not None:
            if self.ips:
                bucket = self.ips.get(parsed)
                if bucket:
                    out.extend(bucket)
            if self.cidrs:
                ranges = self.cidrs.get(parsed[0])
                if ranges is not None:
                    ranges.lookup(parsed[1], out)


_AFFIX_SLOTS: dict[type, str] = {
    Prefix: "prefixes",
    Suffix: "suffixes",
    PrefixIgnoreCase: "folded_prefixes",
    SuffixIgnoreCase: "folded_suffixes",
}


class RuleIndex:
    """A set of named event patterns, matched all at once.

    ``add(rule_id, pattern)`` takes an :class:`EventPattern`, a dict or JSON text (and
    raises InvalidPattern before changing anything); adding an existing id replaces its
    pattern. ``matching(event)`` returns the ids of every rule whose pattern matches.
    """

    __slots__ = ("_balanced", "_changes", "_path_values", "_root", "_rules", "_selector")

    def __init__(self) -> None:
        self._root = _State(None, None)
        self._rules: dict[Hashable, tuple[EventPattern, list[tuple[_State, SubRule]]]] = {}
        self._selector = FieldSelector()
        # For each path, the exact values (hash-lookup matchers) the indexed sub-rules
        # name there, with how many steps name each: the statistics _order works from.
        self._path_values: dict[str, dict[Matcher, int]] = {}
        # Adds and removes since every rule's order was last checked (see _rebalance),
        # and how many rules there were then.
        self._changes = 0
        self._balanced = 0

    def __len__(self) -> int:
        return len(self._rules)

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._rules

    def __iter__(self) -> Iterator[Hashable]:
        return iter(self._rules)

    def __repr__(self) -> str:
        return f"<RuleIndex: {len(self._rules)} rules>"

    def get(self, rule_id: Hashable) -> EventPattern | None:
        entry = self._rules.get(rule_id)
        return entry[0] if entry else None

    def add(
        self, rule_id: Hashable, pattern: EventPattern | Mapping[str, Any] | str | bytes
    ) -> None:
        compiled = pattern if isinstance(pattern, EventPattern) else EventPattern(pattern)
        if rule_id in self._rules:
            self.remove(rule_id)
        path_values = self._path_values
        for sub in compiled.subrules:
            for step in sub:
                for matcher in step.matchers:
                    if type(matcher) in _HASHED:
                        values = path_values.get(step.path)
                        if values is None:
                            path_values[step.path] = {matcher: 1}
                        else:
                            values[matcher] = values.get(matcher, 0) + 1
        placed = []
        for sub in compiled.subrules:
            steps = self._order(sub)
            placed.append((self._attach(rule_id, steps), steps))
        for path in compiled.paths:
            self._selector.add(path)
        self._rules[rule_id] = (compiled, placed)
        self._changed()

    def remove(self, rule_id: Hashable) -> None:
        """Forget a rule; KeyError if there is none by that id."""
        compiled, placed = self._rules.pop(rule_id)
        for state, steps in placed:
            self._detach(rule_id, state, steps)
        path_values = self._path_values
        for sub in compiled.subrules:
            for step in sub:
                for matcher in step.matchers:
                    if type(matcher) in _HASHED:
                        values = path_values[step.path]
                        count = values[matcher] - 1
                        if count:
                            values[matcher] = count
                        else:
                            del values[matcher]
                            if not values:
                                del path_values[step.path]
        for path in compiled.paths:
            self._selector.remove(path)
        self._changed()

    def discard(self, rule_id: Hashable) -> None:
        if rule_id in self._rules:
            self.remove(rule_id)

    def _attach(self, rule_id: Hashable, steps: SubRule) -> _State:
        heads = [_head(step.path) for step in steps]
        state = self._root
        for k, step in enumerate(steps):
            below = state.below
            for head in heads[k:]:
                below[head] = below.get(head, 0) + 1
            state = self._child(state, step)
        state.rules[rule_id] = state.rules.get(rule_id, 0) + 1
        return state

    def _detach(self, rule_id: Hashable, state: _State, steps: SubRule) -> None:
        count = state.rules[rule_id] - 1
        if count:
            state.rules[rule_id] = count
        else:
            del state.rules[rule_id]
        heads = [_head(step.path) for step in steps]
        above = state.parent
        k = len(steps) - 1
        while above is not None:
            below = above.below
            for head in heads[k:]:
                left = below[head] - 1
                if left:
                    below[head] = left
                else:
                    del below[head]
            above = above.parent
            k -= 1
        self._prune(state)

    def _changed(self) -> None:
        self._changes += 1
        if self._changes > max(_REBALANCE_MIN, self._balanced):
            self._rebalance()

    def _rebalance(self) -> None:
        """Re-place the sub-rules whose order the current statistics would change.

        An order is decided with the value counts of its time, which drift as rules come
        and go; checking every rule once the changes since the last check outnumber the
        rules then indexed keeps each order close to current (the counts behind it have at
        most about doubled) at an amortized constant cost per add or remove.
        """
        self._changes = 0
        self._balanced = len(self._rules)
        for rule_id, (compiled, placed) in self._rules.items():
            for i, sub in enumerate(compiled.subrules):
                state, steps = placed[i]
                order = self._order(sub)
                if order == steps:
                    continue
                # Attach first, so states the two orders share are not pruned and rebuilt.
                placed[i] = (self._attach(rule_id, order), order)
                self._detach(rule_id, state, steps)

    def _order(self, steps: SubRule) -> SubRule:
        """The order this index walks a sub-rule in.

        Hash-lookup steps go first, led by the one the fewest events are expected to
        pass: its number of values over the number of different values the index's rules
        name on that path (a step listing 2 of a path's 8 values passes about a quarter of
        events, one listing 1 of 1,000 sources about 0.1%). Other operators follow, by
        selectivity. An event then reaches few states whichever field tells the rules
        apart.

        With ``exists: false`` in a sub-rule, an absence inside arrays of objects is
        judged against the array elements earlier steps chose, so the steps under the
        same top-level key as an ``exists: false`` step keep their path order (the
        sub-rule's order, see patterns._order_steps). Steps under other top-level keys
        can sit anywhere: values under different top-level keys of an event never share
        an array, so their array chains are independent of those steps' memberships.
        """
        if len(steps) < 2:
            return steps
        path_values = self._path_values

        def key(step: Step) -> tuple[int, float, bytes]:
            if step.absent_ok or step.selectivity:
                return step.selectivity or 3, 0.0, path_sort_key(step.path)
            values = path_values.get(step.path)
            wanted = len(step.matchers)
            distinct = len(values) if values else 0
            return 0, wanted / max(distinct, wanted, 1), path_sort_key(step.path)

        if not any(step.absent_ok for step in steps):
            return tuple(sorted(steps, key=key))
        heads = {step.path.split(".", 1)[0] for step in steps if step.absent_ok}
        fixed = [step for step in steps if step.path.split(".", 1)[0] in heads]
        free = sorted((step for step in steps if step.path.split(".", 1)[0] not in heads), key=key)
        if not free:
            return steps
        # Merge, keeping the fixed steps in their order.
        fixed_keys = [key(step) for step in fixed]
        order: list[Step] = []
        i = j = 0
        while i < len(free) and j < len(fixed):
            if key(free[i]) <= fixed_keys[j]:
                order.append(free[i])
                i += 1
            else:
                order.append(fixed[j])
                j += 1
        order.extend(free[i:])
        order.extend(fixed[j:])
        return tuple(order)

    @staticmethod
    def _child(state: _State, step: Step) -> _State:
        key = (step.path, step.signature)
        child = state.children.get(key)
        if child is not None:
            return child
        child = state.children[key] = _State(state, step)
        if step.matchers:
            index = state.trans.get(step.path)
            if index is None:
                index = state.trans[step.path] = _ValueIndex()
            for matcher in step.matchers:
                index.add(matcher, child)
        if step.absent_ok:
            _put(state.absent, step.path, child)
        return child

    @staticmethod
    def _prune(state: _State) -> None:
        while state.parent is not None and not state.rules and not state.children:
            parent = state.parent
            step = state.edge
            assert step is not None
            del parent.children[(step.path, step.signature)]
            if step.matchers:
                index = parent.trans[step.path]
                for matcher in step.matchers:
                    index.remove(matcher, state)
                if not index.size:
                    del parent.trans[step.path]
            if step.absent_ok:
                _drop(parent.absent, step.path, state)
            state = parent

    def matching(self, event: Mapping[str, Any] | str | bytes) -> set[Hashable]:
        """Ids of the rules whose pattern matches ``event`` (a dict or JSON text)."""
        fields = LazyFields(coerce_event(event), self._selector.plans)
        matched: set[Hashable] = set()
        left = self._match_flat(fields, matched)
        if left is not None:
            # A value inside an array of objects turned up: go on tracking elements. Every
            # value used so far sits in no such array, so the states reached so far are
            # those the tracking walk reaches with no element committed to; it resumes
            # from there (the state being expanded is expanded again).
            stack, seen = left
            self._match_nested(fields, matched, [(s, ()) for s in stack], {(s, ()) for s in seen})
        return matched

    def _match_flat(
        self, fields: LazyFields, matched: set[Hashable]
    ) -> tuple[list[_State], set[_State]] | None:
        """Walk without tracking array elements. Values inside arrays of objects are
        used as if in no array while no step further down the states they lead to has
        the same top-level key (only such a step could share one of their arrays). As
        soon as one does, return the states still to expand and the ones expanded (None
        when done)."""
        get = fields.get
        stack: list[_State] = [self._root]
        seen: set[_State] = set()
        reached: list[_State] = []
        while stack:
            state = stack.pop()
            if state in seen:
                continue
            seen.add(state)
            if state.rules:
                matched.update(state.rules)
            trans = state.trans
            if trans:
                for path, index in _transitions(trans, fields):
                    found = get(path)
                    if found is None:
                        continue
                    values, chains = found
                    if len(values) == 1:
                        if not chains[0]:
                            index.lookup(values[0], stack)
                            continue
                    elif not any(chains):
                        index.lookup_all(values, stack)
                        continue
                    # Values inside arrays of objects: their array elements can be
                    # ignored only if no step further down shares the top-level key.
                    index.lookup_all(values, reached)
                    head = _head(path)
                    for child in reached:
                        if head in child.below:
                            reached.clear()
                            seen.discard(state)
                            stack.append(state)
                            return stack, seen
                    stack.extend(reached)
                    reached.clear()
            if state.absent:
                # With the elements committed to so far unknown to every step from here
                # (see above), an absence is judged as with none committed to.
                for path, children in state.absent.items():
                    if get(path) is None:
                        stack.extend(children)
        return None

    def _match_nested(
        self,
        fields: LazyFields,
        matched: set[Hashable],
        stack: list[tuple[_State, Chain]],
        seen: set[tuple[_State, Chain]],
    ) -> None:
        # Each reached state carries the array elements it committed to (its membership).
        get = fields.get
        reached: list[_State] = []
        while stack:
            item = stack.pop()
            if item in seen:
                continue
            seen.add(item)
            state, membership = item
            if state.rules:
                matched.update(state.rules)
            trans = state.trans
            if trans:
                for path, index in _transitions(trans, fields):
                    found = get(path)
                    if found is None:
                        continue
                    values, chains = found
                    if not any(chains):
                        # In no array: the membership stays as it is.
                        index.lookup_all(values, reached)
                        for child in reached:
                            stack.append((child, membership))
                        reached.clear()
                        continue
                    for value, chain in zip(values, chains, strict=True):
                        if chain and not chains_consistent(chain, membership):
                            continue
                        index.lookup(value, reached)
                        if reached:
                            merged = merge_chains(membership, chain)
                            for child in reached:
                                stack.append((child, merged))
                            reached.clear()
            for path, children in state.absent.items():
                found = get(path)
                if found is None or not any(chains_consistent(c, membership) for c in found[1]):
                    for child in children:
                        stack.append((child, membership))


def _transitions(
    trans: dict[str, _ValueIndex], fields: LazyFields
) -> Iterable[tuple[str, _ValueIndex]]:
    """The transitions of a state to try on an event: all of them, except that a wide
    state whose paths outnumber the event's leaves tries only the paths the event has."""
    if len(trans) <= _WIDE_STATE:
        return trans.items()
    everything = fields.everything()
    if len(everything) < len(trans):
        return [(path, trans[path]) for path in everything if path in trans]
    return trans.items()
