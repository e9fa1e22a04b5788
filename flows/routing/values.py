"""Value indexes: for one state of a RuleIndex and one path, event value -> child states.

A :class:`ValueIndex` holds every condition the steps leaving one state put on one path,
each filed under the structure its operator can be looked up in: exact values by hash,
prefixes and suffixes by hashing the value's leading/trailing slice for each length in
use (:class:`_AffixIndex`), numeric and CIDR ranges by bisecting their endpoints (then a
table of answers, or a stabbing-query segment tree when there are many:
:class:`_RangeIndex`), wildcards by their literal prefix or suffix
(:class:`_WildcardIndex`), and only the anything-but family (whose matches are
"everything but") by trying each clause. Each value index binds, as its ``lookup``, only
the lookup for what it holds (most hold exact strings only, which one dict lookup answers).

What a value leads to is opaque here (a :data:`Target`: :mod:`flows.routing.index` files
its child states); lookups append targets to a caller's list, repeats included.
These are RuleIndex's hot paths, tuned with callgrind: keep them free of extra call layers.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Callable, Hashable, Iterator
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from flows.routing.index import MatchCounter

__all__ = ["ANY", "EXACT", "TEXT", "Target", "ValueIndex", "drop", "put"]

# What a value leads to: for RuleIndex, a child state.
Target = Hashable

# ValueIndex.kind, the lookup an index binds: exact strings only (one dict lookup), strings
# and string operators (prefix, suffix, equals-ignore-case, wildcard, IP address, cidr),
# or anything (numbers, ranges, true/false/null, anything-but, exists, with or without
# strings).
EXACT = "exact"
TEXT = "text"
ANY = "any"

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


def put(buckets: dict[Any, dict[Any, None]], key: Any, item: Any) -> None:
    """File ``item`` under ``key`` (buckets are dicts: ordered sets)."""
    bucket = buckets.get(key)
    if bucket is None:
        buckets[key] = {item: None}
    else:
        bucket[item] = None


def drop(buckets: dict[Any, dict[Any, None]], key: Any, item: Any) -> None:
    """Unfile ``item`` from ``key``, forgetting the key once its bucket is empty."""
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
        put(buckets, text, item)

    def remove(self, text: str, item: Any) -> None:
        length = len(text)
        buckets = self.by_length[length]
        drop(buckets, text, item)
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
        self.entries: dict[tuple[tuple[Any, bool, Any, bool], Target], None] = {}
        self.points: list[Any] | None = None
        self.answers: list[tuple[Target, ...]] | None = None
        self.size = 0
        self.tree: list[list[Target] | None] = []

    def add(self, bounds: tuple[Any, bool, Any, bool], state: Target) -> None:
        self.entries[(bounds, state)] = None
        self.points = None

    def remove(self, bounds: tuple[Any, bool, Any, bool], state: Target) -> None:
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

    def _slots(self, position: dict[Any, int]) -> Iterator[tuple[int, int, Target]]:
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
            answers: list[list[Target]] = [[] for _ in range(last_slot + 1)]
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
        tree: list[list[Target] | None] = [None] * (2 * size)
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
        self.general: dict[tuple[Wildcard, Target], None] = {}

    def __bool__(self) -> bool:
        return bool(self.general or self.by_prefix.by_length or self.by_suffix.by_length)

    def add(self, wildcard: Wildcard, state: Target) -> None:
        if wildcard.literal_prefix:
            self.by_prefix.add(wildcard.literal_prefix, (wildcard, state))
        elif wildcard.literal_suffix:
            self.by_suffix.add(wildcard.literal_suffix, (wildcard, state))
        else:
            self.general[(wildcard, state)] = None

    def remove(self, wildcard: Wildcard, state: Target) -> None:
        if wildcard.literal_prefix:
            self.by_prefix.remove(wildcard.literal_prefix, (wildcard, state))
        elif wildcard.literal_suffix:
            self.by_suffix.remove(wildcard.literal_suffix, (wildcard, state))
        else:
            del self.general[(wildcard, state)]

    def lookup(self, value: str, out: list[Any]) -> None:
        candidates: list[tuple[Wildcard, Target]] = list(self.general)
        self.by_prefix.lookup(value, candidates)
        self.by_suffix.lookup(value, candidates)
        for wildcard, state in candidates:
            if wildcard.matches(value):
                out.append(state)


class ValueIndex:
    """For one state and one path: event value -> child states, over every kind of
    matcher the rules use there. Structures are created when first needed.

    ``lookup(value, out)`` appends the targets ``value`` leads to; ``kind`` names the
    lookup bound for what the index holds (see :meth:`_pick_lookup`). With a
    ``counter``, every ``lookup`` call adds one to ``counter.lookups`` (a wrapper bound
    in its place: without a counter the lookup is called directly, as it must be on the
    hot path).
    """

    __slots__ = (
        "cidrs",
        "counter",
        "exists",
        "folded",
        "folded_prefixes",
        "folded_suffixes",
        "ips",
        "kind",
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

    def __init__(self, counter: MatchCounter | None = None) -> None:
        self.strings: dict[str, dict[Target, None]] = {}
        self.numbers: dict[float, dict[Target, None]] | None = None
        self.literals: dict[bool | None, dict[Target, None]] | None = None
        self.ranges: _RangeIndex | None = None
        self.negatives: dict[tuple[Matcher, Target], None] | None = None
        self.exists: dict[Target, None] | None = None
        # string operators beyond equality
        self.ips: dict[tuple[int, int], dict[Target, None]] | None = None
        self.folded: dict[str, dict[Target, None]] | None = None
        self.prefixes: _AffixIndex | None = None
        self.suffixes: _AffixIndex | None = None
        self.folded_prefixes: _AffixIndex | None = None
        self.folded_suffixes: _AffixIndex | None = None
        self.wildcards: _WildcardIndex | None = None
        self.cidrs: dict[int, _RangeIndex] | None = None
        self.size = 0
        self.string_probes: tuple[Any, ...] = ()
        self.numeric_only = False
        self.counter = counter
        self.kind = EXACT
        self.lookup = self._lookup_exact
        if counter is not None:
            self.lookup = _counted(self._lookup_exact, counter)

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
        lookup: Callable[[Any, list[Any]], None]
        if numeric or others:
            self.kind, lookup = ANY, self._lookup_any
        elif probes:
            self.kind, lookup = TEXT, self._lookup_text
        else:
            self.kind, lookup = EXACT, self._lookup_exact
        self.lookup = lookup if self.counter is None else _counted(lookup, self.counter)

    def add(self, matcher: Matcher, state: Target) -> None:
        self._add(matcher, state)
        self._pick_lookup()

    def remove(self, matcher: Matcher, state: Target) -> None:
        self._remove(matcher, state)
        self._pick_lookup()

    def _add(self, matcher: Matcher, state: Target) -> None:
        self.size += 1
        kind = type(matcher)
        if kind is ExactString:
            put(self.strings, matcher.value, state)  # type: ignore[attr-defined]
        elif kind is ExactNumber:
            if self.numbers is None:
                self.numbers = {}
            put(self.numbers, matcher.value, state)  # type: ignore[attr-defined]
        elif kind is ExactLiteral:
            if self.literals is None:
                self.literals = {}
            put(self.literals, matcher.value, state)  # type: ignore[attr-defined]
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

    def _add_string_op(self, matcher: Matcher, state: Target) -> None:
        kind = type(matcher)
        if kind is IpExact:
            assert isinstance(matcher, IpExact)
            if self.ips is None:
                self.ips = {}
            put(self.ips, (matcher.version, matcher.address), state)
        elif kind is EqualsIgnoreCase:
            if self.folded is None:
                self.folded = {}
            put(self.folded, matcher.value, state)  # type: ignore[attr-defined]
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

    def _remove(self, matcher: Matcher, state: Target) -> None:
        # Emptied structures stay allocated: the state is usually pruned with its index.
        self.size -= 1
        kind = type(matcher)
        if kind is ExactString:
            drop(self.strings, matcher.value, state)  # type: ignore[attr-defined]
        elif kind is ExactNumber:
            drop(self.numbers, matcher.value, state)  # type: ignore[arg-type, attr-defined]
        elif kind is ExactLiteral:
            drop(self.literals, matcher.value, state)  # type: ignore[arg-type, attr-defined]
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
                drop(self.ips, (matcher.version, matcher.address), state)  # type: ignore[arg-type]
            elif kind is EqualsIgnoreCase:
                drop(self.folded, matcher.value, state)  # type: ignore[arg-type, attr-defined]
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


def _counted(
    lookup: Callable[[Any, list[Any]], None], counter: MatchCounter
) -> Callable[[Any, list[Any]], None]:
    def counting(value: Any, out: list[Any]) -> None:
        counter.lookups += 1
        lookup(value, out)

    return counting


_AFFIX_SLOTS: dict[type, str] = {
    Prefix: "prefixes",
    Suffix: "suffixes",
    PrefixIgnoreCase: "folded_prefixes",
    SuffixIgnoreCase: "folded_suffixes",
}
