"""runstart, publish, trace, runcheck and runstop, with the driver ticking in-process."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from flows import selectors, services
from flows.engine import driver
from flows.engine.keys import RunKeys, run_pattern
from flows.formats.scenario import scenario_load_file
from flows.models import Run
from flows.redis_state import client

pytestmark = pytest.mark.django_db(transaction=True)


def drive(run: Run, seconds: float = 0.6) -> None:
    services.run_slice(run_id=run.pk, seconds=seconds)


@pytest.fixture
def shop(redis_url: str):
    topology = scenario_load_file("shop")
    topology.producers.update(paused=True)
    return topology


def test_publish_then_trace_prints_every_hop_as_json(shop, capsys) -> None:
    call_command("runstart", "shop", "--seed", "4")
    run = Run.objects.get(topology=shop, status="running")
    assert run.seed == 4
    capsys.readouterr()
    call_command(
        "publish",
        "shop",
        "--channel",
        "shop-bus",
        "--json",
        '{"detail-type": "OrderPlaced", "detail": {"order_id": "o-1", "total": 900, '
        '"currency": "EUR", "region": "eu-west"}}',
    )
    message_id = capsys.readouterr().out.strip()
    drive(run, seconds=1.5)
    call_command("trace", message_id)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {line["msg"] for line in lines} == {message_id}
    stages = [line["stage"] for line in lines]
    assert stages[0] == "published" and "transformed" in stages and "processed" in stages
    rules = {line["detail"].get("rule") for line in lines if line["stage"] == "transformed"}
    assert rules == {"eu-orders-to-tax"}
    # every-order -> billing + shipping, big-orders -> fraud-review, eu -> tax
    assert stages.count("processed") + stages.count("failed") >= 4
    call_command("runcheck", "shop")
    call_command("runstop", "shop")
    assert Run.objects.get(pk=run.pk).status == "stopped"


def test_runcheck_exits_1_when_a_copy_is_unaccounted_for(shop) -> None:
    call_command("runstart", "shop")
    run = Run.objects.get(topology=shop, status="running")
    client().hincrby(RunKeys(run.pk).counters, "copies", 1)  # a copy that vanished
    with pytest.raises(CommandError) as exc:
        call_command("runcheck", "shop")
    assert exc.value.returncode == 1
    assert "lost: 1" in str(exc.value)


def test_publish_reports_bad_input_without_losing_anything(shop) -> None:
    with pytest.raises(CommandError, match="has no running run"):
        call_command("publish", "shop", "--channel", "shop-bus", "--json", "{}")
    call_command("runstart", "shop")
    with pytest.raises(CommandError, match="not valid JSON"):
        call_command("publish", "shop", "--channel", "shop-bus", "--json", "{oops")
    with pytest.raises(CommandError, match=r"no channel 'nowhere' in shop \(channels: "):
        call_command("publish", "shop", "--channel", "nowhere", "--json", "{}")
    with pytest.raises(CommandError, match="detail must be a JSON object"):
        call_command("publish", "shop", "--channel", "orders", "--json", '{"detail": [1]}')
    run = Run.objects.get(topology=shop, status="running")
    assert client().llen(RunKeys(run.pk).inbox) == 0


def test_runstart_twice_is_refused(shop) -> None:
    call_command("runstart", "shop")
    with pytest.raises(CommandError, match="already has a running run"):
        call_command("runstart", "shop")


def test_an_empty_topology_refuses_to_start_and_says_why() -> None:
    from tests import factories as f

    f.topology("empty")
    with pytest.raises(CommandError, match="no channels, so a run would do nothing"):
        call_command("runstart", "empty")
    assert not Run.objects.filter(topology__slug="empty").exists()


def test_trace_of_an_unknown_message_is_an_error() -> None:
    with pytest.raises(CommandError, match="No hops recorded"):
        call_command("trace", "00000000-0000-4000-8000-000000000000")
    with pytest.raises(CommandError, match="not a message id"):
        call_command("trace", "nope")


def test_a_second_driver_leaves_while_the_lease_is_held(shop) -> None:
    call_command("runstart", "shop")
    run = Run.objects.get(topology=shop, status="running")
    client().set(RunKeys(run.pk).lease, "another-worker", px=5000)
    handle = driver.RunHandle(run_id=run.pk, topology_id=shop.pk, seed=run.seed, slug="shop")
    stored: list[dict] = []
    ticked = driver.drive(
        client(),
        handle,
        load_config=selectors.topology_config,
        sink=lambda h, hops: stored.extend(hops),
        seconds=0.2,
    )
    assert ticked is False and stored == []
    assert run.hops.count() == 0


def test_a_stopped_runs_live_state_expires_and_its_counters_stay(shop) -> None:
    call_command("runstart", "shop")
    run = Run.objects.get(topology=shop, status="running")
    call_command(
        "publish", "shop", "--channel", "orders", "--json", '{"detail-type": "PlaceOrder"}'
    )
    drive(run, seconds=0.3)
    call_command("runstop", "shop")
    drive(run, seconds=0.3)  # the next slice sees the stop and ends the run
    keys = list(client().scan_iter(match=run_pattern(run.pk)))
    assert keys and all(0 < client().ttl(key) <= 3600 for key in keys)
    run.refresh_from_db()
    assert run.counters["totals"]["published"] == 1
