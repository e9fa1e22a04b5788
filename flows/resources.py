"""Writes to a topology's parts from outside admin: channels, subscriptions, rules, targets.

The AWS-compatible endpoint creates and changes resources through these, so what it
saves is validated by the same model ``clean()`` as an admin edit (``ValidationError``
otherwise), is recorded in history with who and why, and redraws open dashboards on
commit (``flows.signals`` calls ``services.topology_touch`` once per transaction).
A rule is saved through ``flows.rules.rule_save`` only, which decides its version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction

from flows.models import (
    Consumer,
    MessageChannel,
    Rule,
    Subscription,
    Target,
    Topology,
)
from flows.rules import rule_save


def _stamp(obj: models.Model, actor: Any, reason: str) -> None:
    """What django-simple-history records with the next save or delete: who, and why."""
    if actor is not None and getattr(actor, "is_authenticated", False):
        obj._history_user = actor  # type: ignore[attr-defined]
    if reason:
        obj._change_reason = reason  # type: ignore[attr-defined]


def _set(obj: models.Model, fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        setattr(obj, name, value)


# --- channels -------------------------------------------------------------------------------


def channel_create(
    *, topology: Topology, kind: str, name: str, fields: dict[str, Any] | None = None
) -> MessageChannel:
    channel = MessageChannel(topology=topology, kind=kind, name=name)
    _set(channel, fields or {})
    channel.full_clean()
    channel.save()
    return channel


def channel_update(*, channel: MessageChannel, fields: dict[str, Any]) -> MessageChannel:
    _set(channel, fields)
    channel.full_clean()
    channel.save()
    return channel


def channel_delete(*, channel: MessageChannel, actor: Any = None, reason: str = "") -> None:
    """Delete a channel with what hangs off it (subscriptions, rules, targets, producers)."""
    with transaction.atomic():
        # Their history records say why they went, like the channel's removal itself.
        for dependent in (
            *Subscription.objects.filter(channel=channel),
            *Subscription.objects.filter(target_channel=channel),
            *Target.objects.filter(channel=channel),
        ):
            _stamp(dependent, actor, reason)
            dependent.delete()
        channel.delete()


def consumer_for(*, topology: Topology, name: str) -> Consumer:
    """The consumer of this name (a Lambda function, say), created when missing."""
    consumer = Consumer.objects.filter(topology=topology, name=name).first()
    if consumer is None:
        consumer = Consumer(topology=topology, name=name, service=name)
        consumer.full_clean()
        consumer.save()
    return consumer


# --- subscriptions --------------------------------------------------------------------------


def subscription_create(
    *, channel: MessageChannel, fields: dict[str, Any], actor: Any = None, reason: str = ""
) -> Subscription:
    subscription = Subscription(channel=channel)
    _set(subscription, fields)
    subscription.full_clean()
    _stamp(subscription, actor, reason)
    subscription.save()
    return subscription


def subscription_update(
    *, subscription: Subscription, fields: dict[str, Any], actor: Any = None, reason: str = ""
) -> Subscription:
    _set(subscription, fields)
    subscription.full_clean()
    _stamp(subscription, actor, reason)
    subscription.save()
    return subscription


def subscription_delete(*, subscription: Subscription, actor: Any = None, reason: str = "") -> None:
    _stamp(subscription, actor, reason)
    subscription.delete()


# --- rules and targets ----------------------------------------------------------------------


def rule_put(
    *, bus: MessageChannel, name: str, fields: dict[str, Any], actor: Any = None, reason: str = ""
) -> Rule:
    """Create the rule ``name`` on ``bus``, or change it (its targets stay)."""
    rule = Rule.objects.filter(bus=bus, name=name).first() or Rule(bus=bus, name=name)
    _set(rule, fields)
    rule.full_clean(exclude=["version"])
    return rule_save(rule=rule, actor=actor, reason=reason)


def rule_delete(*, rule: Rule, actor: Any = None, reason: str = "") -> None:
    with transaction.atomic():
        for target in rule.targets.all():
            _stamp(target, actor, reason)
            target.delete()
        _stamp(rule, actor, reason)
        rule.delete()


@dataclass
class TargetSpec:
    """One target as an API describes it: its id there, and the Target fields it sets."""

    api_id: str
    fields: dict[str, Any]


def rule_targets_put(
    *, rule: Rule, targets: list[TargetSpec], actor: Any = None, reason: str = ""
) -> dict[str, str]:
    """Add or replace targets by id, as one rule change; returns {id: why} for refusals.

    A target that fails validation is refused alone (EventBridge answers per entry); the
    others are saved, and the rule's version goes up once if the routing changed.
    """
    refused: dict[str, str] = {}

    def save_targets(saved: Rule) -> None:
        for spec in targets:
            target = Target.objects.filter(rule=saved, api_id=spec.api_id).first()
            if target is None and spec.api_id.isdigit():
                target = Target.objects.filter(rule=saved, pk=int(spec.api_id), api_id="").first()
            target = target or Target(rule=saved, api_id=spec.api_id)
            _set(target, spec.fields)
            try:
                with transaction.atomic():
                    target.full_clean()
                    _stamp(target, actor, reason)
                    target.save()
            except ValidationError as exc:
                refused[spec.api_id] = error_text(exc)

    rule_save(rule=rule, save_targets=save_targets, actor=actor, reason=reason)
    return refused


def rule_targets_remove(
    *, rule: Rule, api_ids: list[str], actor: Any = None, reason: str = ""
) -> None:
    def remove(saved: Rule) -> None:
        for target in saved.targets.all():
            if target_api_id(target) in api_ids:
                _stamp(target, actor, reason)
                target.delete()

    rule_save(rule=rule, save_targets=remove, actor=actor, reason=reason)


def target_api_id(target: Target) -> str:
    """A target's id in the EventBridge API; admin-made targets are known by number."""
    return target.api_id or str(target.pk)


def error_text(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return "; ".join(
            (f"{field}: " if field != "__all__" else "") + " ".join(messages)
            for field, messages in exc.message_dict.items()
        )
    return " ".join(exc.messages)
