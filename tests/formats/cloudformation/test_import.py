"""importcfn: templates (plain, SAM, JSON) become topologies; every resource is reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import call_command

from flows.formats.cloudformation import cfn_import
from flows.formats.scenario import scenario_dump
from flows.models import Consumer, MessageChannel, Producer, Rule, Run, Subscription, Topology
from flows.routing import EventPattern, FilterPolicy

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str, **kwargs: object):
    path = FIXTURES / name
    return cfn_import(text=path.read_text(), origin=path.name, **kwargs)


def entries(report, status: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for e in report.of(status):
        out.setdefault(e.source, []).append(e.detail)
    return out


def by_name(dump: dict, section: str) -> dict[str, dict]:
    return {item["name"]: item for item in dump.get(section, [])}


# --- SAM ---------------------------------------------------------------------------------


def test_sam_template_is_expanded_and_its_function_events_become_consumers() -> None:
    report = load("shop-sam.yaml")
    assert report.ok and report.created, report.text()
    dump = scenario_dump(report.topology)
    subs = {(s["channel"], s.get("consumer")) for s in dump["subscriptions"]}
    assert ("BillingQueue", "BillingFunction") in subs  # SQS event
    assert ("NotificationsTopic", "EmailFunction") in subs  # SNS event
    email = next(s for s in dump["subscriptions"] if s.get("consumer") == "EmailFunction")
    assert email["filter_policy"] == {"channel": ["email"]}
    rules = {r["name"]: r for r in dump["rules"]}
    big = rules["FraudFunctionBigOrders"]  # EventBridgeRule event, with its transformer
    assert big["bus"] == "ShopBus"
    assert big["targets"] == [
        {
            "consumer": "FraudFunction",
            "input_transformer": {
                "InputPathsMap": {"order": "$.detail.order_id"},
                "InputTemplate": '{"order": <order>}',
            },
        }
    ]
    nightly = rules["FraudFunctionNightly"]  # Schedule event: a scheduled producer
    assert nightly["bus"] == "default"
    schedule = by_name(dump, "producers")["schedule FraudFunctionNightly"]
    assert schedule["rate"] == pytest.approx(1 / 300, rel=1e-3)


def test_sam_policy_templates_infer_producers_whose_events_match_each_rule() -> None:
    report = load("shop-sam.yaml")
    inferred = entries(report, "inferred")
    assert "EventBridgePutEventsPolicy" not in report.text()  # expanded by the translator
    assert any("events:putevents" in d for d in inferred["OrderService"])
    assert any("sns:publish" in d for d in inferred["BillingFunction"])
    order_service = Producer.objects.get(topology=report.topology, name="OrderService")
    assert order_service.channel.name == "ShopBus"
    emitted = {e.message_type.name: e for e in order_service.emissions.all()}
    assert set(emitted) == {"OrderPlaced", "UnroutedEvent"}
    placed = emitted["OrderPlaced"]
    details = placed.payload_template.get("$choice", [placed.payload_template])
    envelope = {"source": placed.message_type.source, "detail-type": "OrderPlaced"}
    for rule in Rule.objects.filter(bus=order_service.channel):
        assert any(
            EventPattern(rule.event_pattern).matches({**envelope, "detail": d}) for d in details
        )
    unrouted = {"source": "OrderService", "detail-type": "UnroutedEvent", "detail": {}}
    assert not any(EventPattern(r.event_pattern).matches(unrouted) for r in Rule.objects.all())
    # the topic producer's attributes match the filtered subscription, and sometimes not
    billing = Producer.objects.get(topology=report.topology, name="BillingFunction")
    choices = billing.emissions.get().attributes["$choice"]
    policy = FilterPolicy({"channel": ["email"]})
    assert any(policy.matches(a) for a in choices) and not all(policy.matches(a) for a in choices)


def test_parameters_mappings_and_conditions_decide_what_is_imported() -> None:
    report = load("shop-sam.yaml")
    not_modelled = entries(report, "not modelled")
    assert "condition IsProd is false" in not_modelled["AuditQueue"][0]
    billing = MessageChannel.objects.get(topology=report.topology, name="BillingQueue")
    assert (billing.max_receives, billing.dead_letter_queue.name) == (2, "OrdersDLQ")
    assert billing.visibility_timeout == 45
    prod = load("shop-sam.yaml", params={"Stage": "prod"})
    assert prod.topology == report.topology
    billing.refresh_from_db()
    assert billing.max_receives == 5  # FindInMap with the overridden parameter
    assert "added channel AuditQueue" in prod.changes
    assert "changed channel BillingQueue: max_receives" in prod.changes


def test_resources_not_modelled_are_listed_and_do_not_fail_the_import() -> None:
    report = load("shop-sam.yaml")
    not_modelled = entries(report, "not modelled")
    assert not_modelled["Bucket"] == ["not a kind EventViz models"]
    assert report.ok
    assert "OrderService" not in not_modelled  # it sends: a producer


# --- plain CloudFormation ---------------------------------------------------------------------


def test_every_resource_type_maps_to_its_part_of_the_topology() -> None:
    report = load("plain.yaml")
    assert report.ok, report.text()
    dump = scenario_dump(report.topology)
    channels = by_name(dump, "channels")
    assert channels["ledger.fifo"] == {
        "name": "ledger.fifo",
        "kind": "queue",
        "visibility_timeout": 20.0,
        "fifo": True,
    }
    assert channels["Refunds"]["dead_letter_queue"] == "LedgerDLQ"  # a literal ARN, JSON text
    assert channels["Refunds"]["max_receives"] == 3
    assert channels["payments"]["kind"] == "bus" and channels["receipts"]["kind"] == "topic"
    assert "Audit" in channels  # WithAudit: And/Or/Not/Equals/Condition all true
    subs = {
        (s["channel"], s.get("consumer") or s.get("target_channel")): s
        for s in dump["subscriptions"]
    }
    assert ("receipts", "Refunds") in subs  # inline Subscription of the topic
    mail = subs[("receipts", "Mailer")]
    assert mail["filter_policy"] == {"kind": ["receipt"]}
    assert mail["filter_scope"] == "MessageBody"
    assert mail["dead_letter_queue"] == "LedgerDLQ"
    assert ("receipts", "https://hooks.example.com/test") in subs  # Fn::Sub with a parameter
    assert ("Refunds", "Mailer") in subs  # EventSourceMapping
    assert ("ledger.fifo", "settle") in subs  # Pipe into a state machine
    rule = next(r for r in dump["rules"] if r["name"] == "payment-made")
    assert rule["pattern"]["detail"] == {"zone": ["a"], "parts": ["y"], "az": ["us-east-1a"]}
    targets = {t.get("channel") or t.get("consumer"): t for t in rule["targets"]}
    assert targets["ledger.fifo"]["input_transformer"] == {
        "InputPathsMap": {"input": "$.detail"},
        "InputTemplate": "<input>",
    }
    assert targets["receipts"]["input_transformer"] == {"InputTemplate": '{"kind": "receipt"}'}
    assert targets["settle"]["input_transformer"]["InputPathsMap"] == {"amount": "$.detail.amount"}
    assert "PartnerApi" in targets and "forwarded" in targets  # API destination; !If true
    disabled = next(r for r in dump["rules"] if r["name"] == "DisabledRule")
    assert disabled["enabled"] is False and disabled["targets"] == [{"consumer": "Mailer"}]


def test_refusals_name_the_logical_id_and_why() -> None:
    report = load("plain.yaml")
    refused = entries(report, "refused")
    assert "EventBridge would refuse it" in refused["BadRule"][0]
    assert "SNS would refuse it" in refused["BadFilter"][0]
    assert "refers to nothing in this template" in refused["PaymentRule"][0]
    assert "Targets[4].Arn" in refused["PaymentRule"][0]
    assert not Rule.objects.filter(name="BadRule").exists()
    unresolved = entries(report, "unresolved")
    assert "Fn::ImportValue 'shared-key'" in unresolved["Refunds"][0]
    assert "Properties.KmsMasterKeyId" in unresolved["Refunds"][0]
    not_modelled = entries(report, "not modelled")
    assert "not an SQS queue" in not_modelled["StreamMapping"][0]
    assert not_modelled["Network"] == ["not a kind EventViz models"]
    assert "BadFilter" not in not_modelled


def test_iam_statements_infer_producers_and_a_wildcard_resource_is_reported() -> None:
    report = load("plain.yaml")
    producers = {p.name: p.channel.name for p in Producer.objects.filter(topology=report.topology)}
    assert producers["Mailer to ledger.fifo"] == "ledger.fifo"  # Role policy, GetAtt Arn
    assert producers["Mailer to receipts"] == "receipts"  # IAM::Policy on the role, Fn::Sub ARN
    assert "'*' (every resource)" in entries(report, "inferred")["PublishPolicy"][0]


def test_json_templates_are_read_too() -> None:
    template = {
        "Resources": {
            "Q": {"Type": "AWS::SQS::Queue", "Properties": {"DelaySeconds": 5}},
            "T": {"Type": "AWS::SNS::Topic"},
            "S": {
                "Type": "AWS::SNS::Subscription",
                "Properties": {
                    "TopicArn": {"Ref": "T"},
                    "Protocol": "sqs",
                    "Endpoint": {"Fn::GetAtt": ["Q", "Arn"]},
                },
            },
        }
    }
    report = cfn_import(text=json.dumps(template, indent="\t"), origin="stack.json")
    assert report.ok and report.topology.slug == "stack"
    assert Subscription.objects.get(channel__name="T").target_channel.name == "Q"
    assert "DelaySeconds 5 not modelled" in entries(report, "imported")["Q"][0]


# --- re-import ------------------------------------------------------------------------------


def test_reimport_updates_the_same_topology_and_keeps_history_and_admin_edits() -> None:
    first = load("shop-sam.yaml", slug="shop")
    topology = first.topology
    Run.objects.create(topology=topology, status="stopped")
    Consumer.objects.filter(topology=topology, name="BillingFunction").update(latency_mean_ms=777)
    MessageChannel.objects.filter(topology=topology, name="OrdersDLQ").update(visibility_timeout=99)
    Producer.objects.filter(topology=topology, name="OrderService").update(rate=7)
    MessageChannel.objects.filter(topology=topology, name="BillingQueue").update(
        visibility_timeout=5
    )
    again = load("shop-sam.yaml", slug="shop")
    assert again.topology.pk == topology.pk and not again.created
    assert Run.objects.filter(topology=topology).count() == 1
    assert Consumer.objects.get(topology=topology, name="BillingFunction").latency_mean_ms == 777
    assert MessageChannel.objects.get(topology=topology, name="OrdersDLQ").visibility_timeout == 99
    assert Producer.objects.get(topology=topology, name="OrderService").rate == 7
    # the template sets BillingQueue's VisibilityTimeout: its value wins, and the report says so
    assert (
        MessageChannel.objects.get(topology=topology, name="BillingQueue").visibility_timeout == 45
    )
    assert again.changes == ["changed channel BillingQueue: visibility_timeout"]
    assert load("shop-sam.yaml", slug="shop").changes == []


# --- nothing importable -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Resources: {}", "no Resources"),
        ("Resources: [1, 2", "not valid"),
        ("Description: no resources here", "no Resources"),
        ("Resources:\n  B: {Type: AWS::S3::Bucket}", "no resource of a kind EventViz models"),
        (
            "Transform: AWS::Serverless-2016-10-31\nResources:\n"
            "  F: {Type: AWS::Serverless::Function, Properties: {Bogus: 1}}",
            "SAM translator",
        ),
    ],
)
def test_a_template_with_nothing_to_import_gets_a_report_not_a_crash(
    text: str, message: str
) -> None:
    report = cfn_import(text=text, origin="bad.yaml")
    assert not report.ok
    assert message in report.error
    assert "nothing imported" in report.text()
    assert not Topology.objects.exists()


def test_an_alias_bomb_is_refused_before_it_is_expanded() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    report = cfn_import(
        text="\n".join(lines) + "\nResources: {Q: {Type: AWS::SQS::Queue}}", origin="bomb.yaml"
    )
    assert not report.ok and "refused before reading it" in report.error


def test_an_oversize_template_is_refused() -> None:
    report = cfn_import(text="#" * (1024 * 1024 + 1), origin="big.yaml")
    assert not report.ok and "at most 1,048,576 are read" in report.error


# --- the command --------------------------------------------------------------------------------


def test_importcfn_prints_the_report_and_exits_0_or_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("importcfn", str(FIXTURES / "plain.yaml"), "--slug", "pay", "--param", "Env=prod")
    out = capsys.readouterr().out
    assert "created topology 'pay'" in out and "not modelled" in out
    assert not MessageChannel.objects.filter(topology__slug="pay", name="Audit").exists()
    broken = tmp_path / "broken.yaml"
    broken.write_text("Resources:\n  B: {Type: AWS::S3::Bucket}\n")
    with pytest.raises(SystemExit) as exit_info:
        call_command("importcfn", str(broken))
    assert exit_info.value.code == 1
    assert "nothing imported" in capsys.readouterr().out
