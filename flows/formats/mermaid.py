"""A topology as Mermaid flowchart text, for READMEs and wikis.

Shapes follow the dashboard's vocabulary: producers are stadiums, queues subroutine boxes,
topics hexagons, buses cylinders, direct calls flags, consumers rectangles. Edges carry
the filter policy or rule name that decides them; dead-letter paths are dotted.
"""

from __future__ import annotations

import json

from flows.formats.scenario import scenario_dump
from flows.models import Topology

_SHAPES = {
    "producer": ('(["', '"])'),
    "queue": ('[["', '"]]'),
    "topic": ('{{"', '"}}'),
    "bus": ('[("', '")]'),
    "direct": ('>"', '"]'),
    "consumer": ('["', '"]'),
}


def _text(value: str) -> str:
    """Mermaid label text: quotes and angle brackets as entities."""
    return (
        value.replace("&", "#amp;")
        .replace('"', "#quot;")
        .replace("<", "#lt;")
        .replace(">", "#gt;")
        .replace("\n", " ")
    )


def mermaid_export(topology: Topology) -> str:
    dump = scenario_dump(topology)
    ids: dict[tuple[str, str], str] = {}
    lines = ["flowchart LR", f"  %% {_text(dump['name'])} (EventViz topology {topology.slug})"]

    def node(kind: str, name: str) -> str:
        group = "consumer" if kind == "consumer" else "producer" if kind == "producer" else "ch"
        key = (group, name)
        if key not in ids:
            ids[key] = f"{group[0]}{len(ids) + 1}"
            left, right = _SHAPES[kind]
            lines.append(f"  {ids[key]}{left}{_text(name)}{right}")
        return ids[key]

    kinds = {c["name"]: c["kind"] for c in dump.get("channels", [])}
    for channel in dump.get("channels", []):
        node(channel["kind"], channel["name"])
    for consumer in dump.get("consumers", []):
        node("consumer", consumer["name"])

    def channel(name: str) -> str:
        return node(kinds[name], name)

    edges: list[str] = []
    for producer in dump.get("producers", []):
        types = ", ".join(e["type"] for e in producer.get("emits", []))
        edges.append(
            f'  {node("producer", producer["name"])} -->|"{_text(types)}"| '
            f"{channel(producer['channel'])}"
        )
    for sub in dump.get("subscriptions", []):
        target = (
            node("consumer", sub["consumer"])
            if "consumer" in sub
            else channel(sub["target_channel"])
        )
        arrow = "-.->" if "mirror_of" in sub else "-->"
        label = ""
        if "filter_policy" in sub:
            label = f'|"{_text(json.dumps(sub["filter_policy"], separators=(",", ":")))}"|'
        elif "mirror_of" in sub:
            label = '|"mirror"|'
        edges.append(f"  {channel(sub['channel'])} {arrow}{label} {target}")
        if "dead_letter_queue" in sub:
            edges.append(
                f'  {channel(sub["channel"])} -.->|"DLQ"| {channel(sub["dead_letter_queue"])}'
            )
    for rule in dump.get("rules", []):
        label = rule["name"] + (" (disabled)" if rule.get("enabled") is False else "")
        for target in rule.get("targets", []):
            dest = (
                node("consumer", target["consumer"])
                if "consumer" in target
                else channel(target["channel"])
            )
            edges.append(f'  {channel(rule["bus"])} -->|"{_text(label)}"| {dest}')
    for item in dump.get("channels", []):
        if "dead_letter_queue" in item:
            edges.append(
                f'  {channel(item["name"])} -.->|"DLQ"| {channel(item["dead_letter_queue"])}'
            )
    return "\n".join(lines + edges) + "\n"
