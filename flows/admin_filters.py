"""Admin list filters that offer only what applies, each choice once and told apart.

Django's related-field filter lists every row of the related table (the "By bus"
filter of rules listed queues and topics too) under its ``__str__``, so two topologies'
``shop-bus`` looked the same. These list only the values the listed rows use, and add
the topology (or slug) to a name only where the name alone would repeat.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from flows.models import Consumer, MessageChannel, Producer, Rule, Topology


def _name_and_context(obj: Model) -> tuple[str, str]:
    """A row's name and what tells it apart from a namesake (its topology, mostly)."""
    match obj:
        case Topology():
            return obj.name, obj.slug
        case MessageChannel():
            return f"{obj.name} ({obj.kind})", obj.topology.name
        case Consumer() | Producer():
            return obj.name, obj.topology.name
        case Rule():
            return obj.name, f"{obj.bus.name}, {obj.bus.topology.name}"
    return str(obj), ""


def unique_labels(objects: list[Model]) -> list[tuple[int, str]]:
    """``(pk, label)`` pairs sorted by label, qualified only where a name repeats."""
    named = [(obj.pk, *_name_and_context(obj)) for obj in objects]
    repeats = Counter(name for _pk, name, _context in named)
    labels = [
        (pk, f"{name} · {context}" if repeats[name] > 1 and context else name)
        for pk, name, context in named
    ]
    return sorted(labels, key=lambda pair: pair[1].lower())


class UsedValuesFilter(admin.SimpleListFilter):
    """Filter by a related row, offering only the related rows the listed model uses."""

    path: str = ""  # the lookup from the listed model to the related row, e.g. bus__topology
    related: type[Model] = Model
    select: tuple[str, ...] = ()  # what the labels read, to load it in one query

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[int, str]]:
        used = (
            model_admin.model._default_manager.exclude(**{f"{self.path}__isnull": True})
            .order_by()
            .values_list(self.path, flat=True)
            .distinct()
        )
        related = self.related._default_manager.filter(pk__in=used).select_related(*self.select)
        return unique_labels(list(related))

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(**{self.path: int(value)})
        return queryset


def used_filter(
    path: str, related: type[Model], *, title: str, parameter: str
) -> type[UsedValuesFilter]:
    select = {
        Topology: (),
        MessageChannel: ("topology",),
        Consumer: ("topology",),
        Producer: ("topology",),
        Rule: ("bus__topology",),
    }.get(related, ())
    return type(
        f"{parameter.title().replace('_', '')}Filter",
        (UsedValuesFilter,),
        {
            "path": path,
            "related": related,
            "select": select,
            "title": title,
            "parameter_name": parameter,
        },
    )


def topology_filter(path: str) -> type[UsedValuesFilter]:
    """Every list filters by topology under one parameter name, ``?topology=<pk>``,
    so the topology page can link to each of its lists."""
    return used_filter(path, Topology, title="topology", parameter="topology")
