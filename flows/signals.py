"""Edits to a topology reach running simulations and open dashboards (on commit)."""

from __future__ import annotations

import threading
from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from flows import models

_pending = threading.local()


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
    """One reload per topology per transaction, however many rows it changed."""
    from flows import services

    pending: set[int] = getattr(_pending, "ids", None) or set()
    _pending.ids = pending
    if topology_id in pending:
        return
    pending.add(topology_id)

    def touch() -> None:
        pending.discard(topology_id)
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
