"""Scenario scripts: timed changes during a run, applied to the run, never to the models.

A step happens ``at`` seconds after the run starts and does one thing:

- ``{"at": 20, "consumer": "billing", "set": {"online": false}}``
- ``{"at": 30, "producer": "storefront", "set": {"rate": 5, "paused": false}}``
- ``{"at": 30, "producer": "storefront", "emit": {"type": "OrderPlaced", "version": 2}}``
  (from now on the producer sends version 2 where it sent another version of the type)
- ``{"at": 60, "redrive": "orders-dlq"}``
- ``{"at": 90, "replay": {"bus": "shop-bus", "from": 0, "to": 30}}`` (seconds of the run)

Any step may carry ``"say": "..."``, the line the dashboard shows when it happens; a step
with only ``say`` is a narration. Overrides live with the run (in Redis), so the next run
of the topology starts again from the topology as it is stored.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flows.engine.config import ProducerCfg, TopologyConfig

CONSUMER_FIELDS = {
    "online": bool,
    "failure_rate": float,
    "latency_mean_ms": float,
    "latency_jitter_ms": float,
    "concurrency": int,
}
PRODUCER_FIELDS = {"paused": bool, "rate": float, "jitter": float}
ACTIONS = ("consumer", "producer", "redrive", "replay")
KEYS = {"at", "say", "set", "emit", *ACTIONS}


def script_errors(script: Any) -> list[str]:
    """Structural problems of a script (names are checked against the topology elsewhere)."""
    if not isinstance(script, list):
        return ["A script is a list of steps."]
    errors: list[str] = []
    for i, step in enumerate(script):
        errors.extend(f"step {i}: {problem}" for problem in step_errors(step))
    return errors


def step_errors(step: Any) -> list[str]:
    if not isinstance(step, dict):
        return ["a step is an object"]
    unknown = sorted(set(step) - KEYS)
    if unknown:
        return [f"unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(KEYS))})"]
    at = step.get("at")
    if not isinstance(at, int | float) or isinstance(at, bool) or at < 0:
        return ["'at' must be the number of seconds after the run starts (>= 0)"]
    actions = [key for key in ACTIONS if key in step]
    if len(actions) > 1:
        return [f"one action per step, not {' and '.join(actions)}"]
    if not actions:
        return [] if isinstance(step.get("say"), str) else ["a step needs an action or 'say'"]
    action = actions[0]
    if action in ("consumer", "producer"):
        fields = CONSUMER_FIELDS if action == "consumer" else PRODUCER_FIELDS
        if "emit" in step and action == "producer":
            emit = step["emit"]
            if (
                not isinstance(emit, dict)
                or not isinstance(emit.get("type"), str)
                or not isinstance(emit.get("version"), int)
            ):
                return ['\'emit\' is {"type": NAME, "version": N}']
            return []
        changes = step.get("set")
        if not isinstance(changes, dict) or not changes:
            return [f"a {action} step needs 'set' with some of: {', '.join(fields)}"]
        problems = []
        for name, value in changes.items():
            kind = fields.get(name)
            if kind is None:
                problems.append(
                    f"{action}s have no setting {name!r} (settable: {', '.join(fields)})"
                )
            elif not _fits(value, kind):
                problems.append(f"{name} must be a {kind.__name__}")
        return problems
    if action == "redrive":
        return [] if isinstance(step["redrive"], str) else ["'redrive' names a dead-letter queue"]
    replay = step["replay"]
    if not isinstance(replay, dict) or not isinstance(replay.get("bus"), str):
        return ['\'replay\' is {"bus": NAME, "from": SECONDS, "to": SECONDS}']
    start, end = replay.get("from", 0), replay.get("to")
    if not _fits(start, float) or not _fits(end, float) or end < start:
        return ["replay needs 'from' <= 'to', in seconds of the run"]
    return []


def _fits(value: Any, kind: type) -> bool:
    if kind is bool:
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if kind is int:
        return isinstance(value, int) and value >= 1
    return isinstance(value, int | float) and value >= 0


def step_names(step: dict[str, Any]) -> list[tuple[str, str]]:
    """(kind, name) pairs a step refers to, for checking them against a topology."""
    names = []
    for key in ("consumer", "producer"):
        if key in step:
            names.append((key, step[key]))
    if "redrive" in step:
        names.append(("channel", step["redrive"]))
    if "replay" in step:
        names.append(("channel", step["replay"]["bus"]))
    return names


def apply_override(config: TopologyConfig, step: dict[str, Any]) -> TopologyConfig:
    """``config`` as a consumer or producer step changes it: a new config that shares the
    unchanged parts; ``config`` itself stays as it was (other steps return it unchanged)."""
    if "consumer" in step:
        consumers = {
            cid: dataclasses.replace(c, **_typed(step["set"])) if c.name == step["consumer"] else c
            for cid, c in config.consumers.items()
        }
        return dataclasses.replace(config, consumers=consumers)
    if "producer" in step:
        producers = {
            pid: _override_producer(p, step) if p.name == step["producer"] else p
            for pid, p in config.producers.items()
        }
        return dataclasses.replace(config, producers=producers)
    return config


def _override_producer(producer: ProducerCfg, step: dict[str, Any]) -> ProducerCfg:
    if "emit" in step:
        return _switch_version(producer, step["emit"])
    return dataclasses.replace(producer, **_typed(step["set"]))


def _typed(changes: dict[str, Any]) -> dict[str, Any]:
    return {
        name: (CONSUMER_FIELDS | PRODUCER_FIELDS)[name](value) for name, value in changes.items()
    }


def _switch_version(producer: ProducerCfg, emit: dict[str, Any]) -> ProducerCfg:
    """Weights of the type's other versions move to the chosen version's emission."""
    name, version = emit["type"], emit["version"]
    moved = sum(
        e.weight for e in producer.emissions if e.type_name == name and e.version != version
    )
    emissions = []
    for emission in producer.emissions:
        if emission.type_name != name:
            emissions.append(emission)
        elif emission.version == version:
            emissions.append(dataclasses.replace(emission, weight=emission.weight + moved))
        else:
            emissions.append(dataclasses.replace(emission, weight=0.0))
    return dataclasses.replace(producer, emissions=tuple(emissions))
