from __future__ import annotations

from django.core.management.base import CommandError

from flows.models import Topology


def topology_or_error(slug: str) -> Topology:
    topology = Topology.objects.filter(slug=slug).first()
    if topology is None:
        known = ", ".join(Topology.objects.values_list("slug", flat=True)) or "none"
        raise CommandError(f"No topology with slug {slug!r} (known: {known})")
    return topology
