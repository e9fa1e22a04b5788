"""Rules: the one way a rule and its targets are written (admin, scenario files, APIs).

A rule's version names how it routes: every hop records the version of the rule that
routed it, so two hops routed differently must never carry the same version. What
"routes differently" means is defined once here (``ROUTING_FIELDS`` and
``TARGET_ROUTING_FIELDS``); every door that saves a rule goes through ``rule_save``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from flows.models import Rule, Target

# What a rule itself contributes to routing. Its name and description do not route:
# renaming a rule or rewording its description keeps its version.
ROUTING_FIELDS = ("bus_id", "event_pattern", "enabled")
# What each target contributes: where copies go, how they are transformed, how often a
# failed delivery is retried and where it lands after the last retry.
TARGET_ROUTING_FIELDS = (
    "channel_id",
    "consumer_id",
    "input_paths_map",
    "input_template",
    "max_retries",
    "dead_letter_queue_id",
)
# Saved and kept in history, but not routing.
DESCRIPTIVE_FIELDS = ("name", "description")

FIELD_LABELS = {
    "bus_id": "bus",
    "event_pattern": "pattern",
    "enabled": "enabled",
    "name": "name",
    "description": "description",
}


class RuleConflict(ValidationError):
    """The rule was saved by someone else after the editor loaded it."""


def rule_routing(*, rule: Rule, targets: Iterable[Target]) -> str:
    """How ``rule`` with ``targets`` routes, as one comparable (canonical JSON) string."""
    return json.dumps(
        {
            "rule": {name: getattr(rule, name) for name in ROUTING_FIELDS},
            "targets": _targets_routing(targets),
        },
        sort_keys=True,
        default=str,
    )


def _targets_routing(targets: Iterable[Target]) -> list[str]:
    def key(target: Target) -> str:
        values = {name: getattr(target, name) for name in TARGET_ROUTING_FIELDS}
        # An empty InputPathsMap and none at all transform alike.
        values["input_paths_map"] = values["input_paths_map"] or None
        return json.dumps(values, sort_keys=True, default=str)

    return sorted(key(t) for t in targets)


def rule_check_version(*, rule: Rule, loaded_version: int | None) -> None:
    """Refuse to save over a version newer than the one the editor loaded.

    Raises ``RuleConflict`` naming who saved the newer version. ``loaded_version`` None
    means the caller edits whatever is stored (a scenario file, an API call).
    """
    if rule.pk is None or loaded_version is None:
        return
    stored = Rule.objects.filter(pk=rule.pk).values_list("version", flat=True).first()
    if stored is None or stored == loaded_version:
        return
    last = rule.history.order_by("-history_date").first()
    who = getattr(last.history_user, "username", None) if last else None
    raise RuleConflict(
        f"This rule was changed by {who or 'someone'} (now version {stored}; you opened "
        f"version {loaded_version}). Your edits were not saved: reload the page, then "
        "apply them again."
    )


def rule_save(
    *,
    rule: Rule,
    save_targets: Callable[[Rule], None] | None = None,
    loaded_version: int | None = None,
    actor: Any = None,
    reason: str = "",
) -> Rule:
    """Save ``rule`` (validated by the caller) and its targets as one change.

    ``save_targets(rule)`` writes the targets the caller's way (an admin inline formset,
    a scenario file's list); it runs inside the same transaction, after the rule has a
    primary key. The version goes up by one when, and only when, the routing changed
    (``rule_routing``), whatever was edited; it never goes down, so a revert to an old
    version is a new version. A save that changes nothing writes no history record.
    ``actor`` (a user or None) and ``reason`` go into the rule's history record.
    """
    with transaction.atomic():
        if rule.pk is None:
            rule.version = 1
            _stamp(rule, actor, reason, ["created"])
            rule.save()
            if save_targets is not None:
                save_targets(rule)
            return rule
        # Lock the stored row, so two saves of one rule cannot both raise it to N+1.
        stored = Rule.objects.select_for_update().filter(pk=rule.pk).first()
        if stored is None:
            raise RuleConflict("This rule was deleted meanwhile; your edits were not saved.")
        rule_check_version(rule=rule, loaded_version=loaded_version)
        targets_before = list(stored.targets.all())
        if save_targets is not None:
            save_targets(rule)
        targets_after = list(Target.objects.filter(rule_id=rule.pk))
        routing_changed = rule_routing(rule=stored, targets=targets_before) != rule_routing(
            rule=rule, targets=targets_after
        )
        changed = [
            FIELD_LABELS[name]
            for name in (*ROUTING_FIELDS, *DESCRIPTIVE_FIELDS)
            if getattr(stored, name) != getattr(rule, name)
        ]
        if _targets_routing(targets_before) != _targets_routing(targets_after):
            changed.append("targets")
        rule.version = stored.version + (1 if routing_changed else 0)
        if not changed:
            return rule
        _stamp(rule, actor, reason, changed)
        rule.save()
        return rule


def _stamp(rule: Rule, actor: Any, reason: str, changed: list[str]) -> None:
    """What django-simple-history records with the next save: who, and why."""
    if actor is not None and getattr(actor, "is_authenticated", False):
        rule._history_user = actor  # type: ignore[attr-defined]
    what = ", ".join(changed)
    rule._change_reason = f"{reason}: {what}" if reason else what  # type: ignore[attr-defined]
