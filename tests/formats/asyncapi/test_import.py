"""importasyncapi: 2.6 and 3.0 documents become topologies; every part is reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command

from flows.formats.asyncapi import asyncapi_export, asyncapi_import
from flows.formats.scenario import scenario_dump, scenario_load_file
from flows.models import Consumer, Producer, Subscription
from tests.formats.roundtrip import comparable

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str, **kwargs: object):
    path = FIXTURES / name
    return asyncapi_import(text=path.read_text(), origin=path.name, **kwargs)


def entries(report, status: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for e in report.of(status):
        out.setdefault(e.source, []).append(e.detail)
    return out


def by_name(dump: dict, section: str) -> dict[str, dict]:
    return {item["name"]: item for item in dump.get(section, [])}


def subscriptions(dump: dict) -> dict[tuple[str, str], dict]:
    return {
        (s["channel"], s.get("consumer") or s["target_channel"]): s
        for s in dump.get("subscriptions", [])
    }


# --- 3.0 -------------------------------------------------------------------------------


def test_sqs_binding_makes_a_fifo_queue_with_its_dead_letter_queue() -> None:
    report = load("orders-3.0.yaml")
    assert report.ok and report.created, report.text()
    channels = by_name(scenario_dump(report.topology), "channels")
    assert channels["place-order.fifo"] == {
        "name": "place-order.fifo",
        "kind": "queue",
        "description": "PlaceOrder commands, one worker each.",
        "visibility_timeout": 20.0,
        "max_receives": 4,
        "dead_letter_queue": "place-order-dlq.fifo",  # named by ARN in the redrive policy
        "fifo": True,
    }
    assert channels["place-order-dlq.fifo"]["fifo"] is True  # the binding's deadLetterQueue
    assert channels["order-events"]["kind"] == "topic"


def test_sns_binding_consumers_become_subscriptions_with_their_filter_policies() -> None:
    report = load("orders-3.0.yaml")
    subs = subscriptions(scenario_dump(report.topology))
    assert subs[("order-events", "billing")] == {
        "channel": "order-events",
        "target_channel": "billing",
        "filter_policy": {"region": ["eu-west", "us-east"]},
    }
    alerts = subs[("order-events", "big-order-alerts")]  # a lambda named by its ARN
    assert alerts["filter_policy"] == {"total": [{"numeric": [">", 500]}]}
    assert alerts["filter_scope"] == "MessageBody"
    hook = subs[("order-events", "https://hooks.example.com/orders")]
    assert hook["dead_letter_queue"] == "billing"


def test_send_operations_are_producers_and_receive_operations_consumers() -> None:
    report = load("orders-3.0.yaml")
    dump = scenario_dump(report.topology)
    subs = subscriptions(dump)
    assert ("place-order.fifo", "takeOrder") in subs
    assert ("billing", "bill") in subs
    producers = by_name(dump, "producers")
    assert producers["submitOrder"]["channel"] == "place-order.fifo"
    assert [e["type"] for e in producers["announce"]["emits"]] == ["OrderPlaced"]


def test_messages_become_types_with_refs_resolved_and_examples_as_payloads() -> None:
    report = load("orders-3.0.yaml")
    dump = scenario_dump(report.topology)
    types = by_name(dump, "message_types")
    assert types["PlaceOrder"]["kind"] == "command"  # tagged 'command'
    place = types["PlaceOrder"]["schema"]
    assert place["properties"]["total"] == {"type": "number", "minimum": 0}  # $ref resolved
    assert place["properties"]["shipping"]["properties"]["country"]["enum"] == ["DE", "FR", "US"]
    assert "$ref" not in json.dumps(types["OrderPlaced"]["schema"])
    announce = by_name(dump, "producers")["announce"]["emits"][0]
    # Two examples: a choice of their payloads, and of their headers as SNS attributes.
    assert [p["order_id"] for p in announce["payload"]["$choice"]] == ["o-1", "o-2"]
    assert announce["payload"]["$choice"][0]["placed_at"] == "2026-01-01"  # a date stays text
    assert announce["attributes"] == {"$choice": [{"region": "eu-west"}, {"region": "us-east"}]}
    # No examples: a template built from the schema.
    submit = by_name(dump, "producers")["submitOrder"]["emits"][0]["payload"]
    assert submit["order_id"] == {"$uuid": {}}
    assert submit["shipping"]["country"] == {"$choice": ["DE", "FR", "US"]}


def test_parts_not_modelled_are_listed_and_are_not_errors() -> None:
    report = load("orders-3.0.yaml")
    not_modelled = entries(report, "not modelled")
    assert "servers.production" in not_modelled
    assert "channels.audit.bindings.kafka" in not_modelled
    assert "channels.placeOrder.bindings.sqs.queue.deliveryDelay" in not_modelled
    assert any("avro" in d for d in not_modelled["components.messages.OrderCancelled.payload"])
    assert "OrderCancelled" in by_name(scenario_dump(report.topology), "message_types")
    # A channel with only a Kafka binding is still a publish-subscribe channel.
    audit = by_name(scenario_dump(report.topology), "channels")["audit.log"]
    assert audit["kind"] == "topic"


def test_what_sns_or_the_document_would_refuse_is_refused_and_the_rest_imported() -> None:
    report = load("orders-3.0.yaml")
    refused = entries(report, "refused")
    assert (
        "not a queue of this document"
        in refused["operations.announce.bindings.sns.consumers[3]"][0]
    )
    assert "SNS would refuse it" in refused["operations.announce.bindings.sns.consumers[4]"][0]
    # The refused subscriber is not left behind as a consumer of nothing.
    assert not Consumer.objects.filter(topology=report.topology, name="broken-filter").exists()


# --- 2.6 -------------------------------------------------------------------------------


def test_26_subscribe_is_what_the_application_sends_and_publish_what_it_receives() -> None:
    report = load("signup-2.6.yaml")
    assert report.ok, report.text()
    dump = scenario_dump(report.topology)
    producer = by_name(dump, "producers")["accountService"]
    assert producer["channel"] == "user-signedup"  # the sns binding's name
    assert [e["type"] for e in producer["emits"]] == ["UserSignedUp", "UserDeleted"]  # oneOf
    assert producer["emits"][0]["attributes"] == {"event": "signed_up"}
    subs = subscriptions(dump)
    assert subs[("user-signedup", "welcome-emails")]["filter_policy"] == {"event": ["signed_up"]}
    assert ("welcome-emails", "emailWorker") in subs
    queue = by_name(dump, "channels")["welcome-emails"]
    assert (queue["visibility_timeout"], queue["dead_letter_queue"], queue["max_receives"]) == (
        15.0,
        "welcome-dlq",
        2,
    )
    user = by_name(dump, "message_types")["UserSignedUp"]
    assert user["schema"]["required"] == ["user_id", "email"]


# --- extensions, refusals --------------------------------------------------------------


def test_buses_and_rules_travel_as_extensions() -> None:
    report = load("bus-and-refusals-3.0.yaml")
    assert report.ok, report.text()
    dump = scenario_dump(report.topology)
    assert by_name(dump, "channels")["shop-bus"]["kind"] == "bus"
    rules = {r["name"]: r for r in dump["rules"]}
    big = rules["big-orders"]
    assert big["targets"][0]["input_transformer"]["InputTemplate"] == '{"order": "<order>"}'
    assert {"channel": "review-queue"} in big["targets"]
    # A receive operation on a bus: a rule for the messages it names.
    assert rules["ledger"]["pattern"] == {"detail-type": ["OrderPlaced"]}
    assert rules["ledger"]["targets"] == [{"consumer": "ledger"}]
    producer = Producer.objects.get(topology=report.topology, name="placeOrders")
    assert producer.rate == 5.0
    types = by_name(dump, "message_types")
    assert types["OrderPlaced"]["source"] == "shop.orders"


def test_external_and_dangling_refs_are_refused_by_name_without_reading_them() -> None:
    report = load("bus-and-refusals-3.0.yaml")
    refused = entries(report, "refused")
    assert (
        "'./common.yaml#/channels/shared' refers outside this document"
        in (refused["channels.shared"][0])
    )
    assert "https://example.com" in refused["channels.remote"][0]
    assert "common.yaml" in refused["components.messages.Shared"][0]
    assert "points to nothing" in refused["operations.pointer"][0]
    assert "no such channel" in refused["operations.ghost.channel"][0]
    assert (
        "EventBridge would refuse its pattern" in refused["channels.shopBus.x-eventviz-rules[1]"][0]
    )
    assert "not another channel" in refused["channels.shopBus.x-eventviz-rules[0].targets[2]"][0]


def test_a_ref_bomb_is_refused_before_it_is_copied() -> None:
    schemas = {
        f"S{i}": {"type": "array", "items": [{"$ref": f"#/components/schemas/S{i + 1}"}] * 4}
        for i in range(12)
    }
    schemas["S12"] = {"type": "string"}
    doc = {
        "asyncapi": "3.0.0",
        "info": {"title": "bomb", "version": "1"},
        "channels": {
            "q": {"address": "q", "bindings": {"sqs": {"queue": {"name": "q", "fifoQueue": False}}}}
        },
        "components": {
            "schemas": schemas,
            "messages": {"Big": {"payload": {"$ref": "#/components/schemas/S0"}}},
        },
    }
    report = asyncapi_import(text=json.dumps(doc), origin="bomb.json")
    assert report.ok  # the channel is imported, the message refused
    assert "expand to more than" in entries(report, "refused")["components.messages.Big"][0]


def test_a_recursive_schema_is_cut_where_it_recurs_and_said() -> None:
    doc = {
        "asyncapi": "3.0.0",
        "info": {"title": "tree", "version": "1"},
        "channels": {
            "t": {"address": "t", "messages": {"Node": {"$ref": "#/components/messages/Node"}}}
        },
        "components": {
            "schemas": {
                "Node": {
                    "type": "object",
                    "properties": {
                        "children": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/Node"},
                        }
                    },
                }
            },
            "messages": {"Node": {"payload": {"$ref": "#/components/schemas/Node"}}},
        },
    }
    report = asyncapi_import(text=json.dumps(doc), origin="tree.json")
    assert report.ok, report.text()
    assert any("recurs" in e.detail for e in report.of("not modelled"))


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("openapi: 3.1.0\ninfo: {title: x}\n", "not an AsyncAPI document"),
        ("asyncapi: 1.2.0\ninfo: {title: x}\n", "reads AsyncAPI 2.0-2.6 and 3.0"),
        ("asyncapi: 3.0.0\nchannels: [\n", "not valid YAML"),
        ("asyncapi: 3.0.0\ninfo: {title: x, version: '1'}\n", "no channel"),
        (
            "asyncapi: 3.0.0\ninfo: {title: x, version: '1'}\n"
            "channels: {a: {$ref: 'other.yaml#/channels/a'}}\n",
            "no channel",
        ),
    ],
)
def test_a_document_nothing_can_be_imported_from_says_why(text: str, why: str) -> None:
    report = asyncapi_import(text=text, origin="doc.yaml")
    assert not report.ok
    assert why in report.text()


# --- re-import, command ----------------------------------------------------------------


def test_reimport_updates_the_same_topology_keeping_admin_edits() -> None:
    first = load("signup-2.6.yaml", slug="signup")
    worker = Consumer.objects.get(topology=first.topology, name="emailWorker")
    worker.latency_mean_ms = 900  # an admin edit of a field the document does not set
    worker.save()
    again = load("signup-2.6.yaml", slug="signup")
    assert again.ok and not again.created
    assert again.topology.pk == first.topology.pk
    assert again.changes == []
    worker.refresh_from_db()
    assert worker.latency_mean_ms == 900


def test_an_export_stripped_of_extensions_still_imports_its_queues_topics_and_filters() -> None:
    """Another tool may drop x- extensions: the bindings alone carry queues, topics and
    subscriptions with their filter policies (those of strings: the sns binding's schema
    takes no numbers); buses and rules, consumer settings and producer rates are what
    AsyncAPI has no words for."""
    topology = scenario_load_file("events-on-a-topic")
    numeric = Subscription.objects.get(channel__topology=topology, filter_policy__isnull=False)
    words = Subscription.objects.filter(channel__topology=topology, filter_policy__isnull=True)
    words = words.exclude(consumer=None).first()
    words.filter_policy = {"region": ["eu-west"]}
    words.save()
    document = yaml.safe_load(asyncapi_export(topology))

    def strip(node):
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if not k.startswith("x-")}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    report = asyncapi_import(text=yaml.safe_dump(strip(document)), origin="bare.yaml")
    assert report.ok, report.text()
    original, copy = comparable(topology), comparable(report.topology)
    assert {(c["name"], c["kind"]) for c in copy["channels"]} == {
        (c["name"], c["kind"]) for c in original["channels"]
    }
    subs = subscriptions(copy)
    assert len(subs) == len(original["subscriptions"])
    assert subs[(words.channel.name, words.consumer.name)]["filter_policy"] == {
        "region": ["eu-west"]
    }
    assert "filter_policy" not in subs[(numeric.channel.name, numeric.consumer.name)]


def test_command_prints_the_report_and_exits_1_when_nothing_is_imported(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    call_command("importasyncapi", str(FIXTURES / "signup-2.6.yaml"), "--slug", "signup")
    assert "created topology 'signup'" in capsys.readouterr().out
    broken = tmp_path / "broken.yaml"
    broken.write_text("asyncapi: 3.0.0\ninfo: {title: x, version: '1'}\n")
    with pytest.raises(SystemExit) as exit_info:
        call_command("importasyncapi", str(broken))
    assert exit_info.value.code == 1
    assert "nothing imported" in capsys.readouterr().out


def test_export_command_prints_asyncapi(capsys: pytest.CaptureFixture[str]) -> None:
    scenario_load_file("shop")
    call_command("export", "shop", "--format", "asyncapi")
    assert yaml.safe_load(capsys.readouterr().out)["asyncapi"] == "3.0.0"
