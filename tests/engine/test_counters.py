"""The accounting law, defined once with the counters reader (no database, no Redis)."""

from __future__ import annotations

from flows import services
from flows.engine.counters import TERMINAL, accounting_errors, lost


def totals(**changes: int) -> dict[str, int]:
    base = {
        "copies": 10,
        "processed": 5,
        "dead_lettered": 1,
        "filtered": 1,
        "unmatched": 1,
        "purged": 0,
    }
    return {**base, "in_flight": 2, **changes}


def test_the_law_holds_when_every_copy_is_terminal_or_in_flight() -> None:
    assert lost(totals()) == 0
    assert accounting_errors({"totals": totals()}) == []


def test_a_missing_copy_is_reported_with_every_term_of_the_law() -> None:
    errors = accounting_errors({"totals": totals(copies=11)})
    assert errors == [
        "copies 11 != processed 5 + dead-lettered 1 + filtered 1 + unmatched 1 "
        "+ purged 0 + in flight 2 (lost: 1)"
    ]


def test_every_terminal_state_counts_toward_the_law() -> None:
    for name in TERMINAL:
        assert lost(totals(**{name: totals()[name] - 1})) == 1, name
    assert "purged" in TERMINAL  # PurgeQueue through the AWS API ends copies so


def test_services_check_the_same_law() -> None:
    assert services.accounting_errors is accounting_errors
