"""Edits to a topology reach running simulations and open dashboards (on commit)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from flows import models


def _topology_id(instance: Any) -> int | None:
    match instance:
        case models.Topology():
            return instance.pk
        case models.MessageChannel() | models.Producer() | models.Consumer() | models.MessageType():
            return instance.topology_id
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


def touch_on_commit(topology_id: int) -> None:
    """One reload per topology per transaction, however many rows it changed.

    The callbacks already waiting for this transaction's commit are looked at (Django
    drops them with a rolled-back savepoint, so nothing stale can hide a later change).
    """
    from flows import services

    connection = transaction.get_connection()
    if connection.in_atomic_block and any(
        getattr(callback, "topology_id", None) == topology_id
        for _savepoints, callback, _robust in connection.run_on_commit
    ):
        return

    def touch() -> None:
        services.topology_touch(topology_id=topology_id)

    touch.topology_id = topology_id  # type: ignore[attr-defined]
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
