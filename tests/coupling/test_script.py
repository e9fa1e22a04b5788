"""Script facts: what a scenario script changes that the judges must know."""

from __future__ import annotations

from flows.coupling import Emitted, offline_windows, version_switches
from tests.coupling.plain import ORDER_V2


def test_script_facts_offline_windows_and_version_switches() -> None:
    script = [
        {"at": 45, "consumer": "a", "set": {"online": True}},
        {"at": 20, "consumer": "a", "set": {"online": False}},
        {"at": 50, "consumer": "b", "set": {"failure_rate": 0}},
        {"at": 12.5, "consumer": "c", "set": {"online": True}},
        {"at": 30, "producer": "shop", "emit": {"type": "OrderPlaced", "version": 2}},
        {"at": 31, "say": "narration only"},
    ]
    assert offline_windows(script, ["c", "d"]) == {
        "a": [(20.0, 45.0)],
        "c": [(0.0, 12.5)],
        "d": [(0.0, None)],
    }
    switches = version_switches(script, {("OrderPlaced", 2): ORDER_V2})
    assert switches == {"shop": [Emitted(ORDER_V2, 30.0)]}
