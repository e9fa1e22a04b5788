"""Scenario files: load, dump, round trip, and errors that name the line and key."""

from __future__ import annotations

import textwrap

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from flows.formats.scenario import (
    ScenarioError,
    scenario_dump,
    scenario_dump_yaml,
    scenario_load,
    scenario_load_file,
    shipped_scenarios,
)
from flows.models import MessageChannel, Rule, Subscription, Target, Topology

pytestmark = pytest.mark.django_db

MINIMAL = """\
slug: mini
name: Mini
channels:
  - name: jobs
    kind: queue
    max_receives: 2
    dead_letter_queue: jobs-dlq
  - name: jobs-dlq
    kind: queue
consumers:
  - name: worker
"""


def load(text: str) -> Topology:
    return scenario_load(text=textwrap.dedent(text), origin="test.yaml")


def counts(topology: Topology) -> dict[str, int]:
    return {
        "channels": topology.channels.count(),
        "consumers": topology.consumers.count(),
        "producers": topology.producers.count(),
        "types": topology.message_types.count(),
        "subscriptions": Subscription.objects.filter(channel__topology=topology).count(),
        "rules": Rule.objects.filter(bus__topology=topology).count(),
        "targets": Target.objects.filter(rule__bus__topology=topology).count(),
    }


def test_every_shipped_scenario_loads() -> None:
    paths = shipped_scenarios()
    assert any(p.stem == "shop" for p in paths)
    for path in paths:
        topology = scenario_load_file(str(path))
        assert topology.channels.exists()


def test_shop_scenario_has_a_bus_with_rules_and_competing_consumers() -> None:
    shop = scenario_load_file("shop")
    orders = shop.channels.get(name="orders")
    assert orders.kind == "queue"
    workers = Subscription.objects.filter(channel=orders).values_list(
        "consumer__service", flat=True
    )
    assert list(workers) == ["order-service", "order-service"]
    bus = shop.channels.get(kind="bus")
    assert bus.rules.filter(event_pattern__has_key="detail-type").count() >= 2
    assert Target.objects.filter(rule__bus=bus).exclude(input_template="").exists()
    assert orders.dead_letter_queue.name == "orders-dlq"


def test_loading_twice_changes_nothing() -> None:
    first = scenario_load_file("shop")
    before = counts(first)
    ids = sorted(MessageChannel.objects.values_list("pk", flat=True))
    rule_versions = sorted(Rule.objects.values_list("version", flat=True))
    second = scenario_load_file("shop")
    assert second.pk == first.pk
    assert counts(second) == before
    assert sorted(MessageChannel.objects.values_list("pk", flat=True)) == ids
    assert sorted(Rule.objects.values_list("version", flat=True)) == rule_versions


def test_dump_then_load_round_trips() -> None:
    shop = scenario_load_file("shop")
    dumped = scenario_dump(shop)
    text = scenario_dump_yaml(shop)
    Topology.objects.all().delete()
    again = scenario_load(text=text, origin="dump.yaml")
    assert scenario_dump(again) == dumped


def test_reloading_removes_parts_that_left_the_file() -> None:
    topology = load(MINIMAL)
    assert topology.consumers.count() == 1
    load(MINIMAL.replace("consumers:\n  - name: worker\n", ""))
    assert topology.consumers.count() == 0


def test_changed_rule_pattern_raises_its_version() -> None:
    text = """\
    slug: r
    name: R
    channels: [{name: bus, kind: bus}]
    rules:
      - {name: all, bus: bus, pattern: {source: [a]}}
    """
    load(text)
    load(text.replace("source: [a]", "source: [b]"))
    rule = Rule.objects.get(name="all")
    assert (rule.version, rule.event_pattern) == (2, {"source": ["b"]})


def test_bad_yaml_names_the_line() -> None:
    with pytest.raises(ScenarioError, match=r"test.yaml line 4: not valid YAML"):
        load("slug: x\nname: X\nchannels: [\n  - {name: a\n")


def test_unknown_channel_kind_names_line_and_key() -> None:
    text = MINIMAL.replace("kind: queue\n    max_receives", "kind: queu\n    max_receives")
    with pytest.raises(ScenarioError) as exc:
        load(text)
    assert "test.yaml line 5: channels[0].kind: 'queu' is not one of" in str(exc.value)


def test_dangling_reference_names_line_key_and_known_names() -> None:
    text = MINIMAL + "subscriptions:\n  - channel: jobs\n    consumer: wroker\n"
    with pytest.raises(ScenarioError) as exc:
        load(text)
    message = str(exc.value)
    assert "line 14: subscriptions[0].consumer" in message
    assert "unknown consumer 'wroker' (known: worker)" in message


def test_dangling_dead_letter_queue_is_reported() -> None:
    text = MINIMAL.replace("dead_letter_queue: jobs-dlq", "dead_letter_queue: nowhere")
    with pytest.raises(ScenarioError, match=r"line 7: channels\[0\].dead_letter_queue: unknown"):
        load(text)


def test_unknown_key_is_reported_with_its_line() -> None:
    text = MINIMAL.replace("max_receives: 2", "max_recieves: 2")
    with pytest.raises(ScenarioError, match=r"line 4: channels\[0\]: unknown key"):
        load(text)


def test_model_validation_errors_carry_the_line() -> None:
    text = """\
    slug: r
    name: R
    channels: [{name: q, kind: queue}]
    rules:
      - {name: bad, bus: q, pattern: {source: [a]}}
    """
    with pytest.raises(ScenarioError, match=r"line 5: rules\[0\]: bus: Rules belong on an event"):
        load(text)


def test_invalid_pattern_in_a_rule_is_reported() -> None:
    text = """\
    slug: r
    name: R
    channels: [{name: b, kind: bus}]
    rules:
      - name: bad
        bus: b
        pattern: {detail: {x: [{prefix: 5}]}}
    """
    with pytest.raises(ScenarioError, match=r"line 5: rules\[0\]: event_pattern: .*detail\.x"):
        load(text)


def test_failed_load_leaves_the_database_untouched() -> None:
    load(MINIMAL)
    before = counts(Topology.objects.get(slug="mini"))
    broken = MINIMAL + "subscriptions:\n  - channel: jobs\n    consumer: ghost\n"
    with pytest.raises(ScenarioError):
        load(broken.replace("name: worker", "name: worker-2"))
    assert counts(Topology.objects.get(slug="mini")) == before
    assert Topology.objects.get(slug="mini").consumers.get().name == "worker"


def test_empty_file_is_an_error() -> None:
    with pytest.raises(ScenarioError, match="the file is empty"):
        load("")


def test_loadscenario_command_reports_errors_without_a_traceback(tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("slug: x\nname: X\nchannels:\n  - {name: a, kind: pipe}\n")
    with pytest.raises(CommandError, match=r"bad.yaml line 4: channels\[0\].kind"):
        call_command("loadscenario", str(bad))


def test_loadscenario_unknown_name_lists_shipped_scenarios() -> None:
    with pytest.raises(CommandError, match=r"no such file or shipped scenario \(shipped: .*shop"):
        call_command("loadscenario", "nope")


def test_dumpscenario_prints_yaml_that_loads(capsys) -> None:
    call_command("loadscenario", "shop")
    capsys.readouterr()
    call_command("dumpscenario", "shop")
    data = yaml.safe_load(capsys.readouterr().out)
    assert data["slug"] == "shop"
    assert {c["name"] for c in data["channels"]} >= {"orders", "shop-bus"}


def test_dumpscenario_unknown_slug_is_an_error() -> None:
    with pytest.raises(CommandError, match="No topology with slug 'ghost'"):
        call_command("dumpscenario", "ghost")


def test_loading_without_redis_saves_the_topology(
    monkeypatch, tmp_path, django_capture_on_commit_callbacks
) -> None:
    import redis

    from flows import services

    dead = redis.Redis.from_url(f"unix://{tmp_path}/no-redis.sock", socket_connect_timeout=0.2)
    monkeypatch.setattr(services, "client", lambda: dead)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        topology = scenario_load_file("shop")
    assert callbacks  # the reload hook ran, found no Redis, and let the load stand
    assert Topology.objects.get(slug="shop") == topology


def test_a_bad_payload_generator_is_reported_with_its_line() -> None:
    text = MINIMAL + (
        "message_types: [{name: Job}]\n"
        "producers:\n  - name: p\n    channel: jobs\n    emits:\n"
        "      - {type: Job, payload: {n: {$int: [9, 1]}}}\n"
    )
    with pytest.raises(ScenarioError, match=r"producers\[0\].emits\[0\]: .*low 9 is above high 1"):
        load(text)


def test_a_name_over_the_limit_says_what_the_limit_is() -> None:
    with pytest.raises(
        ScenarioError, match=r"test.yaml line 2: name: .* is too long \(at most 200"
    ):
        load("slug: long\nname: " + "n" * 201 + "\n")


def test_loadscenario_says_the_limit_too(tmp_path) -> None:
    path = tmp_path / "long.yaml"
    path.write_text("slug: long\nname: " + "n" * 201 + "\n")
    with pytest.raises(CommandError, match=r"at most 200 characters"):
        call_command("loadscenario", str(path))
    assert not Topology.objects.filter(slug="long").exists()


def test_an_alias_bomb_scenario_is_refused_and_nothing_is_loaded(tmp_path) -> None:
    levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for i in range(8):
        this, prev = chr(ord("b") + i), chr(ord("a") + i)
        levels.append(f"{this}: &{this} [" + ",".join([f"*{prev}"] * 9) + "]")
    path = tmp_path / "bomb.yaml"
    path.write_text("slug: bomb\nname: Bomb\nscript:\n  - " + "\n    ".join(levels) + "\n")
    assert path.stat().st_size < 1000
    with pytest.raises(CommandError, match=r"bomb.yaml line .*expands to more than"):
        call_command("loadscenario", str(path))
    assert not Topology.objects.filter(slug="bomb").exists()


def test_a_scenario_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_text("slug: huge\nname: Huge\ndescription: " + "x" * (1024 * 1024 + 1) + "\n")
    with pytest.raises(CommandError, match=r"huge.yaml: the file is 1,048,\d+ bytes; a scenario"):
        call_command("loadscenario", str(path))
    assert not Topology.objects.filter(slug="huge").exists()
