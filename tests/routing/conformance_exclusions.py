"""Conformance cases that test aws/event-ruler behaviour EventBridge does not have.

Each entry maps a case id of ``event_ruler_cases.json`` to the reason it is skipped.
test_conformance.py fails if an id here is not in the corpus.
"""

from __future__ import annotations

_EXACTLY = (
    "`exactly` is an event-ruler-only operator: EventBridge's comparison operators "
    "(prefix, suffix, equals-ignore-case, wildcard, anything-but, numeric, exists, cidr, "
    "$or) do not include it, so EventViz refuses the pattern as an unknown operator "
    "instead of evaluating it (the corpus expects a valid pattern that does not match)"
)

EXCLUSIONS: dict[str, str] = {
    "er-1232": (
        "a $or branch repeats an outer field (name [a, b] AND $or[name anything-but a, "
        "condition1 x]); event-ruler's default withOverridesForDuplicateRules lets the "
        "branch replace the outer condition, so name 'c' matches. EventBridge documents "
        "fields as ANDed and the corpus marks this quirk as unverified for EventBridge; "
        "EventViz ANDs both conditions, so 'c' does not match"
    ),
    "er-ref-0094": _EXACTLY,
    "er-ref-0095": _EXACTLY,
}
