"""Comparing topologies across formats: the scenario dump, order-insensitive, slug aside."""

from __future__ import annotations

import json
from typing import Any

from flows.formats.apply import SECTION_KEYS, entity_key
from flows.formats.scenario import scenario_dump
from flows.models import Topology


def comparable(topology: Topology, *, producers: bool = True) -> dict[str, Any]:
    dump = scenario_dump(topology)
    dump.pop("slug")
    if not producers:
        dump.pop("producers", None)
    for section in SECTION_KEYS:
        if section in dump:
            dump[section] = sorted(
                dump[section],
                key=lambda item, s=section: json.dumps(entity_key(s, item), default=str),
            )
    return dump
