"""RuleIndex: many event patterns compiled into one state machine.

Like aws/event-ruler's ``Machine``: every pattern becomes one or more sub-rules (one per
``$or`` alternative), each a sequence of field steps. The steps of all rules form a tree
of states; a state's child is keyed by the step's path and condition, so rules that begin
with the same conditions share states. Per state and path, one value index
(:class:`flows.routing.values.ValueIndex`) maps an event value to the children it leads
to, hashing or bisecting wherever the operator allows and trying clauses one by one only
for the anything-but family.

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

from collections.abc import Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from flows.routing.fields import (
    Chain,
    FieldSelector,
    LazyFields,
    chains_consistent,
    merge_chains,
)
from flows.routing.matchers import ExactLiteral, ExactNumber, ExactString, IpExact, Matcher
from flows.routing.patterns import EventPattern, Step, SubRule, coerce_event, path_sort_key
from flows.routing.values import ValueIndex, drop, put

__all__ = ["IndexStats", "MatchCounter", "RuleIndex"]

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
        self.trans: dict[str, ValueIndex] = {}
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


@dataclass(slots=True)
class MatchCounter:
    """What :meth:`RuleIndex.matching` did, counted for tests and benchmarks.

    Pass one to ``RuleIndex(counter=...)``; it then counts, over every ``matching`` call:

    - ``lookups``: value lookups, one each time an event value is put to the conditions
      the rules place on one path at one reached state (whatever their number: a
      thousand exact values on a path cost one lookup). Their number, not the number of
      rules, is what matching costs.
    - ``tracked_walks``: matchings that had to track array elements (a value inside an
      array of objects led to a state below which a step shares its top-level key).

    Counting binds a wrapper around each value index's lookup; an index made without a
    counter (the default) calls its lookups directly. Reset by setting the fields to 0.
    """

    lookups: int = 0
    tracked_walks: int = 0


@dataclass(frozen=True, slots=True)
class IndexStats:
    """The shape of a :class:`RuleIndex` (:meth:`RuleIndex.stats`).

    An index with no rules has one state (the root) and nothing else, however many rules
    came and went: ``RuleIndex().stats()`` is what removing every rule leaves.
    """

    #: rule ids indexed
    rules: int
    #: sub-rules (``$or`` alternatives) ending at a state of the tree, over all rules
    subrules: int
    #: steps of those sub-rules (each a path's condition), as counted along the tree
    steps: int
    #: states of the tree, the root included
    states: int
    #: paths of the steps that leave the root: the fields every walk starts with
    first_paths: frozenset[str]
    #: value indexes (one per state and path with value conditions) by the lookup they
    #: bind: ``"exact"`` (exact strings only: one dict lookup), ``"text"`` (strings and
    #: string operators), ``"any"`` (numbers, literals, anything-but, exists, ...)
    value_indexes: dict[str, int]
    #: (state, path) pairs with ``exists: false`` children
    absent_paths: int
    #: event paths the index reads (those of its rules)
    paths: int
    #: (path, exact value) pairs the step-order statistics count (see ``RuleIndex._order``)
    counted_values: int


class RuleIndex:
    """A set of named event patterns, matched all at once.

    ``add(rule_id, pattern)`` takes an :class:`EventPattern`, a dict or JSON text (and
    raises InvalidPattern before changing anything); adding an existing id replaces its
    pattern. ``matching(event)`` returns the ids of every rule whose pattern matches.
    ``stats()`` and ``walk_order(rule_id)`` describe the structure built; a
    :class:`MatchCounter` passed as ``counter`` counts the work ``matching`` does.
    """

    __slots__ = (
        "_balanced",
        "_changes",
        "_counter",
        "_path_values",
        "_root",
        "_rules",
        "_selector",
    )

    def __init__(self, *, counter: MatchCounter | None = None) -> None:
        self._counter = counter
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

    def walk_order(self, rule_id: Hashable) -> tuple[tuple[str, ...], ...]:
        """The paths of each sub-rule of a rule (one per ``$or`` alternative), in the order
        matching walks their steps (see :meth:`_order`); KeyError if there is no such
        rule."""
        return tuple(
            tuple(step.path for step in steps) for _state, steps in self._rules[rule_id][1]
        )

    def stats(self) -> IndexStats:
        """Counts of the structure built (walks the whole tree: for tests, benchmarks and
        diagnostics, not for the matching path)."""
        states = subrules = absent_paths = 0
        kinds: dict[str, int] = {}
        stack = [self._root]
        while stack:
            state = stack.pop()
            states += 1
            subrules += sum(state.rules.values())
            absent_paths += len(state.absent)
            for index in state.trans.values():
                kinds[index.kind] = kinds.get(index.kind, 0) + 1
            stack.extend(state.children.values())
        return IndexStats(
            rules=len(self._rules),
            subrules=subrules,
            steps=sum(self._root.below.values()),
            states=states,
            first_paths=frozenset(path for path, _signature in self._root.children),
            value_indexes=kinds,
            absent_paths=absent_paths,
            paths=len(self._selector.plans),
            counted_values=sum(len(values) for values in self._path_values.values()),
        )

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

    def _child(self, state: _State, step: Step) -> _State:
        key = (step.path, step.signature)
        child = state.children.get(key)
        if child is not None:
            return child
        child = state.children[key] = _State(state, step)
        if step.matchers:
            index = state.trans.get(step.path)
            if index is None:
                index = state.trans[step.path] = ValueIndex(self._counter)
            for matcher in step.matchers:
                index.add(matcher, child)
        if step.absent_ok:
            put(state.absent, step.path, child)
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
                drop(parent.absent, step.path, state)
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
            if self._counter is not None:
                self._counter.tracked_walks += 1
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
    trans: dict[str, ValueIndex], fields: LazyFields
) -> Iterable[tuple[str, ValueIndex]]:
    """The transitions of a state to try on an event: all of them, except that a wide
    state whose paths outnumber the event's leaves tries only the paths the event has."""
    if len(trans) <= _WIDE_STATE:
        return trans.items()
    everything = fields.everything()
    if len(everything) < len(trans):
        return [(path, trans[path]) for path in everything if path in trans]
    return trans.items()
