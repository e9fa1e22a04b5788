"""Edits to a topology reach running simulations and open dashboards (on commit)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from flows import models


def _cached(instance: Any, field: str) -> Any:
    """The related object ``instance.<field>`` when it is already loaded (no query), else None."""
    descriptor = getattr(type(instance), field)
    return getattr(instance, field) if descriptor.is_cached(instance) else None


def _topology_id(instance: Any) -> int | None:
    # A writer that holds the related rows (the scenario loader does) costs no query here.
    match instance:
        case models.Topology():
            return instance.pk
        case models.MessageChannel() | models.Producer() | models.Consumer() | models.MessageType():
            return instance.topology_id
        case models.Subscription() | models.Rule() if (
            channel := _cached(
                instance, "channel" if type(instance) is models.Subscription else "bus"
            )
        ) is not None:
            return channel.topology_id
        case models.Target() if (rule := _cached(instance, "rule")) is not None and (
            bus := _cached(rule, "bus")
        ) is not None:
            return bus.topology_id
        case models.Emission() if (producer := _cached(instance, "producer")) is not None:
            return producer.topology_id
        case models.Subscription():
            return (
                models.MessageChannel.objects.filter(pk=instance.channel_id)
                .values_list("topology_id", flat=True)
                .first()
            )
        case models.Rule():
            return (
                models.MessageChannel.objects.filter(pk=instance.bus_id)
                .values_list("topology_id", flat=True)
                .first()
            )
        case models.Target():
            return (
                models.Rule.objects.filter(pk=instance.rule_id)
                .values_list("bus__topology_id", flat=True)
                .first()
            )
        case models.Emission():
            return (
                models.Producer.objects.filter(pk=instance.producer_id)
                .values_list("topology_id", flat=True)
                .first()
            )
    return None


class _TouchBatch:
    """The topologies touched by the callbacks of one commit: each is touched once."""

    def __init__(self) -> None:
        self.done: set[int] = set()


def touch_on_commit(topology_id: int) -> None:
    """One reload per topology per transaction, however many rows it changed.

    Every change registers its own ``on_commit`` callback, so a rolled-back savepoint
    (which drops its callbacks) can never hide a later change; the callbacks of one
    commit share a batch, and only the first of them for a topology touches it.
    """
    from flows import services

    connection = transaction.get_connection()
    batch = getattr(connection, "eventviz_touch_batch", None)
    if batch is None:
        batch = connection.eventviz_touch_batch = _TouchBatch()

    def touch() -> None:
        # The first callback of a commit ends the batch: the next transaction gets its own.
        if getattr(connection, "eventviz_touch_batch", None) is batch:
            connection.eventviz_touch_batch = None
        if topology_id in batch.done:
            return
        batch.done.add(topology_id)
        services.topology_touch(topology_id=topology_id)

    transaction.on_commit(touch)


TRACKED = (
    models.Topology,
    models.MessageChannel,
    models.Producer,
    models.Emission,
    models.Consumer,
    models.MessageType,
    models.Subscription,
    models.Rule,
    models.Target,
)


@receiver(post_save)
@receiver(post_delete)
def topology_changed(sender: type, instance: Any, **kwargs: Any) -> None:
    if sender not in TRACKED:
        return
    topology_id = _topology_id(instance)
    if topology_id is not None:
        touch_on_commit(topology_id)
