"""What a scenario script changes that the judges must know: offline spans, version switches.

Pure: a script is the list of steps stored on the topology (``Topology.script``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from flows.coupling.model import Emitted, TypeInfo


def offline_windows(
    script: Iterable[dict[str, Any]], initially_offline: Iterable[str] = ()
) -> dict[str, list[tuple[float, float | None]]]:
    """When each consumer is offline during a run: consumer name -> [(from, to), ...]."""
    opened: dict[str, float] = {name: 0.0 for name in initially_offline}
    windows: dict[str, list[tuple[float, float | None]]] = defaultdict(list)
    steps = [s for s in script if isinstance(s, dict) and "consumer" in s]
    for step in sorted(steps, key=lambda s: s.get("at", 0)):
        online = (step.get("set") or {}).get("online")
        name, at = step["consumer"], float(step.get("at", 0))
        if online is False and name not in opened:
            opened[name] = at
        elif online is True and name in opened:
            windows[name].append((opened.pop(name), at))
    for name, start in opened.items():
        windows[name].append((start, None))
    return {name: sorted(spans, key=lambda w: w[0]) for name, spans in windows.items()}


def version_switches(
    script: Iterable[dict[str, Any]], types: Mapping[tuple[str, int], TypeInfo]
) -> dict[str, list[Emitted]]:
    """Message types producers switch to during a run: producer name -> [Emitted, ...]."""
    switches: dict[str, list[Emitted]] = defaultdict(list)
    for step in script:
        if not isinstance(step, dict) or "producer" not in step or "emit" not in step:
            continue
        emit = step["emit"]
        mtype = types.get((emit.get("type"), emit.get("version")))
        if mtype is not None:
            switches[step["producer"]].append(Emitted(mtype, float(step.get("at", 0))))
    return dict(switches)
