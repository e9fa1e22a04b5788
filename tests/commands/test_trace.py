"""manage.py trace: each hop line names its nodes and edge next to their ids."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from flows.formats.scenario import scenario_load_file
from flows.models import Hop, Rule, Run

pytestmark = pytest.mark.django_db

MSG = "00000000-0000-4000-8000-000000000007"


def test_trace_names_the_nodes_and_the_edge_of_each_hop(redis_url: str, capsys) -> None:
    shop = scenario_load_file("shop")
    producer = shop.producers.first()
    bus = shop.channels.get(kind="bus")
    target = Rule.objects.get(bus=bus, name="big-orders").targets.get()
    run = Run.objects.create(topology=shop, seed=1, status="stopped")
    common = {"run": run, "msg": MSG, "type": "OrderPlaced", "kind": "event"}
    Hop.objects.create(
        **common, seq=1, stage="published", from_node=producer.node_id, to_node=bus.node_id, at=1
    )
    Hop.objects.create(
        **common,
        seq=2,
        stage="delivered",
        from_node=bus.node_id,
        to_node=f"consumer:{target.consumer_id}",
        edge=target.edge_id,
        at=2,
    )
    call_command("trace", MSG)
    first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert first["from"] == producer.node_id  # the ids stay: they are the hop's contract
    assert first["from_name"] == f"{producer.name} (producer)"
    assert first["to_name"] == "shop-bus (bus)" and "edge_name" not in first
    assert second["edge_name"] == "rule big-orders → fraud-review"
    assert second["to_name"] == "fraud-review (consumer)"
