"""The coupling report: every producer -> consumer path, judged on five kinds of coupling.

- ``model``: plain, frozen data — the topology as the judges see it, and their verdicts.
- ``script``: what a scenario script changes (offline spans, version switches).
- ``paths``: ``find_paths`` walks the links the way the engine routes; who competes on a
  queue and what each service missed.
- ``judges``: the verdict per dimension, pure; ``phrases``: the sentence of each reason.
- ``store``: the one module that reads Django models — ``snapshot`` (a topology as a
  ``Model``), ``missed_events`` (from a run's hops) and ``coupling_report`` (the page).

This package imports only the pure parts, so the judging runs and is tested without Django;
import ``flows.coupling.store`` for the database side.
"""

from __future__ import annotations

from flows.coupling.judges import (
    judge_data,
    judge_location,
    judge_path,
    judge_space,
    judge_time,
    judge_topology,
    template_fields,
    verdict_summary,
)
from flows.coupling.model import (
    COUPLED,
    DECOUPLED,
    DIMENSIONS,
    IMPLICIT,
    PARTLY,
    ChannelInfo,
    ConsumerInfo,
    Emitted,
    Judgement,
    Link,
    MissedEvents,
    Model,
    Path,
    PathReport,
    ProducerInfo,
    Step,
    TypeInfo,
)
from flows.coupling.paths import (
    competitors,
    count_missed,
    find_paths,
    route,
    shared_queues,
    ways_out,
)
from flows.coupling.phrases import missed_text
from flows.coupling.script import offline_windows, version_switches

__all__ = [
    "COUPLED",
    "DECOUPLED",
    "DIMENSIONS",
    "IMPLICIT",
    "PARTLY",
    "ChannelInfo",
    "ConsumerInfo",
    "Emitted",
    "Judgement",
    "Link",
    "MissedEvents",
    "Model",
    "Path",
    "PathReport",
    "ProducerInfo",
    "Step",
    "TypeInfo",
    "competitors",
    "count_missed",
    "find_paths",
    "judge_data",
    "judge_location",
    "judge_path",
    "judge_space",
    "judge_time",
    "judge_topology",
    "missed_text",
    "offline_windows",
    "route",
    "shared_queues",
    "template_fields",
    "verdict_summary",
    "version_switches",
    "ways_out",
]
