"""What cannot exist is refused: by clean() with a clear message, and by the database."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from flows.models import MessageChannel, Rule, Subscription, Target
from tests import factories as f

pytestmark = pytest.mark.django_db


def messages(exc: pytest.ExceptionInfo[ValidationError], field: str) -> str:
    return " ".join(exc.value.message_dict.get(field, []))


def test_rule_on_a_queue_is_rejected_by_clean() -> None:
    topo = f.topology()
    queue = f.channel(topo, "orders", "queue")
    rule = Rule(bus=queue, name="r", event_pattern={"source": ["x"]})
    with pytest.raises(ValidationError) as exc:
        rule.full_clean()
    assert "Rules belong on an event bus; orders is a queue" in messages(exc, "bus")


def test_rule_pattern_that_is_not_a_json_object_is_rejected() -> None:
    bus = f.channel(f.topology(), "bus", "bus")
    rule = Rule(bus=bus, name="r", event_pattern=["source"])
    with pytest.raises(ValidationError) as exc:
        rule.full_clean()
    assert "must be a JSON object, not an array" in messages(exc, "event_pattern")


def test_rule_with_an_invalid_pattern_names_the_path() -> None:
    bus = f.channel(f.topology(), "bus", "bus")
    rule = Rule(bus=bus, name="r", event_pattern={"detail": {"total": [{"numeric": [">", "x"]}]}})
    with pytest.raises(ValidationError) as exc:
        rule.full_clean()
    assert "detail.total" in messages(exc, "event_pattern")


def test_valid_rule_on_a_bus_passes_clean() -> None:
    bus = f.channel(f.topology(), "bus", "bus")
    Rule(bus=bus, name="r", event_pattern={"detail-type": ["OrderPlaced"]}).full_clean()


def test_subscription_from_a_channel_to_itself_is_rejected_by_clean() -> None:
    topic = f.channel(f.topology(), "news", "topic")
    sub = Subscription(channel=topic, target_channel=topic)
    with pytest.raises(ValidationError) as exc:
        sub.full_clean()
    assert "cannot subscribe to itself" in messages(exc, "target_channel")


def test_subscription_from_a_channel_to_itself_is_rejected_by_the_database() -> None:
    topic = f.channel(f.topology(), "news", "topic")
    with pytest.raises(IntegrityError), transaction.atomic():
        Subscription.objects.create(channel=topic, target_channel=topic)


def test_subscription_needs_exactly_one_subscriber() -> None:
    topo = f.topology()
    topic = f.channel(topo, "news", "topic")
    queue = f.channel(topo, "q", "queue")
    both = Subscription(channel=topic, consumer=f.consumer(topo, "c"), target_channel=queue)
    with pytest.raises(ValidationError) as exc:
        both.full_clean()
    assert "exactly one subscriber" in messages(exc, "consumer")
    with pytest.raises(IntegrityError), transaction.atomic():
        Subscription.objects.create(channel=topic)


def test_subscription_on_a_bus_is_rejected() -> None:
    topo = f.topology()
    bus = f.channel(topo, "bus", "bus")
    sub = Subscription(channel=bus, consumer=f.consumer(topo, "c"))
    with pytest.raises(ValidationError) as exc:
        sub.full_clean()
    assert "delivers through rules" in messages(exc, "channel")


def test_filter_policy_that_is_not_a_json_object_is_rejected() -> None:
    topo = f.topology()
    topic = f.channel(topo, "news", "topic")
    sub = Subscription(channel=topic, consumer=f.consumer(topo, "c"), filter_policy="store")
    with pytest.raises(ValidationError) as exc:
        sub.full_clean()
    assert "must be a JSON object, not a string" in messages(exc, "filter_policy")


def test_filter_policy_on_a_queue_subscription_is_rejected() -> None:
    topo = f.topology()
    queue = f.channel(topo, "q", "queue")
    sub = Subscription(channel=queue, consumer=f.consumer(topo, "c"), filter_policy={"a": ["b"]})
    with pytest.raises(ValidationError) as exc:
        sub.full_clean()
    assert "Only topic subscriptions have filter policies" in messages(exc, "filter_policy")


def test_dead_letter_queue_that_is_not_a_queue_is_rejected() -> None:
    topo = f.topology()
    topic = f.channel(topo, "news", "topic")
    queue = MessageChannel(topology=topo, name="q", kind="queue", dead_letter_queue=topic)
    with pytest.raises(ValidationError) as exc:
        queue.full_clean()
    assert "must be a queue; news is a topic" in messages(exc, "dead_letter_queue")


def test_queue_cannot_be_its_own_dead_letter_queue() -> None:
    queue = f.channel(f.topology(), "q", "queue")
    queue.dead_letter_queue = queue
    with pytest.raises(ValidationError) as exc:
        queue.full_clean()
    assert "its own dead-letter queue" in messages(exc, "dead_letter_queue")
    with pytest.raises(IntegrityError), transaction.atomic():
        queue.save()


def test_fifo_topic_is_rejected() -> None:
    topo = f.topology()
    with pytest.raises(IntegrityError), transaction.atomic():
        MessageChannel.objects.create(topology=topo, name="t", kind="topic", fifo=True)


def test_channel_names_are_unique_within_a_topology() -> None:
    topo = f.topology()
    f.channel(topo, "q")
    with pytest.raises(IntegrityError), transaction.atomic():
        f.channel(topo, "q", "topic")
    f.channel(f.topology("other"), "q")  # another topology may reuse the name


def test_target_needs_exactly_one_destination() -> None:
    topo = f.topology()
    bus = f.channel(topo, "bus", "bus")
    rule = Rule.objects.create(bus=bus, name="r", event_pattern={"source": ["a"]})
    target = Target(rule=rule)
    with pytest.raises(ValidationError) as exc:
        target.full_clean()
    assert "exactly one destination" in messages(exc, "channel")


def test_target_cannot_be_its_own_bus() -> None:
    topo = f.topology()
    bus = f.channel(topo, "bus", "bus")
    rule = Rule.objects.create(bus=bus, name="r", event_pattern={"source": ["a"]})
    with pytest.raises(ValidationError) as exc:
        Target(rule=rule, channel=bus).full_clean()
    assert "its own bus" in messages(exc, "channel")


def test_target_with_a_bad_input_template_is_rejected() -> None:
    topo = f.topology()
    bus = f.channel(topo, "bus", "bus")
    queue = f.channel(topo, "q")
    rule = Rule.objects.create(bus=bus, name="r", event_pattern={"source": ["a"]})
    target = Target(
        rule=rule,
        channel=queue,
        input_paths_map={"id": "$.detail.id"},
        input_template='{"id": <missing>}',
    )
    with pytest.raises(ValidationError) as exc:
        target.full_clean()
    assert "missing" in messages(exc, "input_template")


def test_mirror_must_be_on_the_same_channel_as_its_primary() -> None:
    topo = f.topology()
    topic = f.channel(topo, "news", "topic")
    other = f.channel(topo, "other", "topic")
    primary = Subscription.objects.create(channel=topic, consumer=f.consumer(topo, "live"))
    mirror = Subscription(channel=other, consumer=f.consumer(topo, "shadow"), mirror_of=primary)
    with pytest.raises(ValidationError) as exc:
        mirror.full_clean()
    assert "same channel" in messages(exc, "mirror_of")


def test_message_type_with_an_invalid_json_schema_is_rejected() -> None:
    topo = f.topology()
    mtype = f.message_type(topo)
    mtype.json_schema = {"type": "objekt"}
    with pytest.raises(ValidationError) as exc:
        mtype.full_clean()
    assert "Invalid JSON Schema" in messages(exc, "json_schema")


def test_only_one_run_per_topology_is_running() -> None:
    topo = f.topology()
    topo.runs.create(seed=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        topo.runs.create(seed=2)
    topo.runs.update(status="stopped")
    topo.runs.create(seed=3)


def test_a_direct_call_has_one_callee() -> None:
    topo = f.topology()
    call = f.channel(topo, "call", "direct")
    first = f.consumer(topo, "a")
    Subscription.objects.create(channel=call, consumer=first)
    second = Subscription(channel=call, consumer=f.consumer(topo, "b"))
    with pytest.raises(ValidationError) as exc:
        second.full_clean()
    assert "one callee" in messages(exc, "channel")
    shadow = Subscription(
        channel=call,
        consumer=f.consumer(topo, "shadow"),
        mirror_of=Subscription.objects.get(consumer=first),
    )
    shadow.full_clean()  # a mirror of the callee is fine
