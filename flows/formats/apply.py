"""Applying an imported document to a topology: create or update it by slug, and say what changed.

Importers (CloudFormation/SAM, AsyncAPI) translate their document into the scenario shape
(``flows.formats.scenario.schema``), holding only what the document sets. ``topology_apply``
merges that over what is stored, so admin edits of fields the document does not set are
kept (a consumer's latency, a queue's visibility timeout when the template has none), and
then loads it with the scenario loader: one writer for every format, rules through
``flows.rules.rule_save``. Entities the document no longer has are removed; run history is
untouched (runs belong to the topology, which stays).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from flows.formats import yamldoc
from flows.formats.scenario.dump import scenario_dump
from flows.formats.scenario.load import _Loader
from flows.formats.scenario.schema import validate_shape
from flows.formats.yamldoc import Document, KeyPath
from flows.models import Topology

# How the entities of each section are told apart (their identity across imports).
SECTION_KEYS: dict[str, tuple[str, ...]] = {
    "message_types": ("name", "version"),
    "channels": ("name",),
    "consumers": ("name",),
    "producers": ("name",),
    "subscriptions": ("channel", "consumer", "target_channel"),
    "rules": ("bus", "name"),
}
SECTION_LABELS = {
    "message_types": "message type",
    "channels": "channel",
    "consumers": "consumer",
    "producers": "producer",
    "subscriptions": "subscription",
    "rules": "rule",
}
_NESTED = ("latency_ms", "burst", "archive", "expects")


class ImportError_(yamldoc.DocumentError):
    """An imported document that cannot be applied; the message names where, in it."""


@dataclass
class SourceDocument(Document):
    """A translated document whose errors point back into the original (a logical id)."""

    sources: dict[KeyPath, str] = field(default_factory=dict)

    def where(self, path: KeyPath) -> str:
        for depth in range(len(path), 0, -1):
            source = self.sources.get(tuple(path[:depth]))
            if source is not None:
                return f"{self.origin}: {source}"
        return self.origin


@dataclass
class Applied:
    topology: Topology
    created: bool
    changes: list[str]


def entity_key(section: str, item: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(item.get(name) for name in SECTION_KEYS[section])


def entity_label(section: str, item: dict[str, Any]) -> str:
    if section == "subscriptions":
        return f"{item['channel']} → {item.get('consumer') or item.get('target_channel')}"
    if section == "rules":
        return f"{item['bus']}/{item['name']}"
    if section == "message_types":
        return f"{item['name']} v{item.get('version', 1)}"
    return str(item["name"])


def topology_apply(
    *, data: dict[str, Any], origin: str, sources: dict[KeyPath, str] | None = None
) -> Applied:
    """Create or update the topology ``data['slug']`` from ``data`` (scenario shape)."""
    with transaction.atomic():
        existing = Topology.objects.filter(slug=data["slug"]).first()
        before = scenario_dump(existing) if existing else {}
        merged = merge_over(before, data) if existing else copy.deepcopy(data)
        doc = SourceDocument(
            data=merged, lines={}, origin=origin, error_cls=ImportError_, sources=sources or {}
        )
        validate_shape(doc)
        topology = _Loader(doc).load()
        after = scenario_dump(topology)
    return Applied(topology=topology, created=existing is None, changes=diff(before, after))


def merge_over(stored: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """``new`` with every field it does not set taken from ``stored`` (same entity)."""
    out = copy.deepcopy(new)
    for key in ("name", "description", "public", "featured", "script"):
        if key not in out and key in stored:
            out[key] = copy.deepcopy(stored[key])
    names = {
        "channel": {c["name"] for c in out.get("channels", [])},
        "consumer": {c["name"] for c in out.get("consumers", [])},
        "type": {t["name"] for t in out.get("message_types", [])},
    }
    for section in SECTION_KEYS:
        old = {entity_key(section, item): item for item in stored.get(section, [])}
        for item in out.get(section, []):
            previous = old.get(entity_key(section, item))
            if previous is not None:
                _fill(item, previous, section, names)
    if "script" in out:
        out["script"] = [s for s in out["script"] if _step_known(s, names, out)]
    return out


def _fill(
    item: dict[str, Any], previous: dict[str, Any], section: str, names: dict[str, set[str]]
) -> None:
    for key, value in previous.items():
        if key in ("emits", "targets"):
            continue
        if key not in item:
            if _refers_to_missing(key, value, names):
                continue
            item[key] = copy.deepcopy(value)
        elif key in _NESTED and isinstance(value, dict) and isinstance(item[key], dict):
            item[key] = {**value, **item[key]}
    if (
        section == "producers"
        and "emits" not in item
        and "emits" in previous
        and all(e["type"] in names["type"] for e in previous["emits"])
    ):
        item["emits"] = copy.deepcopy(previous["emits"])
    if section == "producers" and "emits" in item:
        by_type = {e["type"]: e for e in previous.get("emits", [])}
        for emit in item["emits"]:
            old = by_type.get(emit["type"])
            if old:
                for key, value in old.items():
                    emit.setdefault(key, copy.deepcopy(value))
    if section == "rules":
        old_targets = {
            (t.get("channel"), t.get("consumer")): t for t in previous.get("targets", [])
        }
        for target in item.get("targets", []):
            old = old_targets.get((target.get("channel"), target.get("consumer")))
            if old:
                for key, value in old.items():
                    if key not in target and not _refers_to_missing(key, value, names):
                        target[key] = copy.deepcopy(value)


def _refers_to_missing(key: str, value: Any, names: dict[str, set[str]]) -> bool:
    if key == "dead_letter_queue":
        return value not in names["channel"]
    if key == "mirror_of":
        return value not in names["consumer"]
    if key == "expects":
        return value.get("type") not in names["type"]
    return False


def _step_known(step: dict[str, Any], names: dict[str, set[str]], data: dict[str, Any]) -> bool:
    producers = {p["name"] for p in data.get("producers", [])}
    for kind in ("consumer", "channel", "producer"):
        if kind in step:
            pool = producers if kind == "producer" else names[kind]
            if step[kind] not in pool:
                return False
    return True


def diff(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What changed between two scenario dumps, one line per entity."""
    lines: list[str] = []
    for key in ("name", "description", "public", "featured", "script"):
        if before and before.get(key) != after.get(key):
            lines.append(f"topology: {key} changed")
    for section, label in SECTION_LABELS.items():
        old = {entity_key(section, item): item for item in before.get(section, [])}
        new = {entity_key(section, item): item for item in after.get(section, [])}
        for key, item in new.items():
            if key not in old:
                lines.append(f"added {label} {entity_label(section, item)}")
            elif old[key] != item:
                fields = sorted(
                    k for k in set(old[key]) | set(item) if old[key].get(k) != item.get(k)
                )
                lines.append(f"changed {label} {entity_label(section, item)}: {', '.join(fields)}")
        for key, item in old.items():
            if key not in new:
                lines.append(f"removed {label} {entity_label(section, item)}")
    return lines
