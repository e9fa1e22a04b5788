"""The judges over plain data: verdicts and reasons per dimension. No database, no Redis."""

from __future__ import annotations

from flows.coupling import (
    COUPLED,
    DECOUPLED,
    IMPLICIT,
    PARTLY,
    ConsumerInfo,
    Link,
    TypeInfo,
    count_missed,
    find_paths,
    judge_data,
    judge_path,
    missed_text,
    template_fields,
)
from tests.coupling.plain import ORDER_V1, bus_to, model, producer


def test_a_queue_shared_by_two_services_is_topology_coupled_and_shows_the_missed_figure() -> None:
    m = model(
        [(1, "orders", "queue")],
        [ConsumerInfo(10, "billing-1", "billing"), ConsumerInfo(11, "shipping-1", "shipping")],
        [producer(1, ORDER_V1)],
        [Link(1, "sub:1", consumer_id=10), Link(1, "sub:2", consumer_id=11)],
    )
    figures = count_missed(
        m,
        [
            ("queue:1", "consumer:10", "m1"),
            ("queue:1", "consumer:10", "m2"),
            ("queue:1", "consumer:11", "m2"),  # a redelivery reached the other service too
            ("queue:1", "consumer:11", "m3"),
            ("queue:9", "consumer:11", "m4"),  # another queue
            ("queue:1", "consumer:99", "m5"),  # a consumer removed since
        ],
    )
    by_service = {f.service: f for f in figures}
    assert (by_service["billing"].received, by_service["billing"].missed) == (2, 1)
    assert (by_service["shipping"].received, by_service["shipping"].missed) == (2, 1)
    assert by_service["billing"].messages == 3
    assert missed_text(by_service["billing"], "run 4") == (
        "In run 4, billing received 2 of the 3 messages of orders and missed 1."
    )
    reports = {
        r.consumer: r
        for r in (
            judge_path(m, p, {("queue:1", f.service): f for f in figures}, "run 4")
            for p in find_paths(m)
        )
    }
    topology = reports["billing-1"].judgements[3]
    assert topology.verdict == COUPLED and "shipping-1 (shipping)" in topology.reason
    assert topology.figure.startswith("In run 4, billing received 2")


def test_workers_of_one_service_on_an_event_queue_are_partly_coupled() -> None:
    m = model(
        [(1, "orders", "queue")],
        [ConsumerInfo(10, "w1", "billing"), ConsumerInfo(11, "w2", "billing")],
        [producer(1, ORDER_V1)],
        [Link(1, "sub:1", consumer_id=10), Link(1, "sub:2", consumer_id=11)],
    )
    report = judge_path(m, find_paths(m)[0])
    assert report.verdict("topology") == PARTLY
    assert count_missed(m, [("queue:1", "consumer:10", "m1")]) == []  # one service: nothing missed


TEMPLATE = '{"order": "<order>", "amount": <amount>}'


def test_a_template_that_lacks_a_required_field_is_data_coupled() -> None:
    expects = TypeInfo("TaxLine", 1, required=("order", "amount", "currency"))
    m = bus_to(
        ConsumerInfo(10, "tax", "tax", expects=expects),
        Link(
            1,
            "target:1",
            consumer_id=10,
            rule="eu",
            paths_map={"order": "$.detail.order_id", "amount": "$.detail.total"},
            template=TEMPLATE,
        ),
        ORDER_V1,
    )
    judgement = judge_data(m, find_paths(m)[0])
    assert judgement.verdict == COUPLED
    assert "whose currency the template does not produce" in judgement.reason
    assert "into {order, amount}" in judgement.reason


def test_a_template_reading_an_optional_field_is_partly_coupled() -> None:
    m = bus_to(
        ConsumerInfo(10, "tax", "tax"),
        Link(
            1,
            "target:1",
            consumer_id=10,
            rule="eu",
            paths_map={"order": "$.detail.order_id", "amount": "$.detail.vat"},
            template=TEMPLATE,
        ),
        ORDER_V1,
    )
    judgement = judge_data(m, find_paths(m)[0])
    assert judgement.verdict == PARTLY
    assert "does not guarantee vat" in judgement.reason


def test_routing_on_an_optional_field_is_flagged() -> None:
    m = bus_to(
        ConsumerInfo(10, "fraud", "fraud"),
        Link(1, "target:1", consumer_id=10, rule="big", pattern={"detail": {"amount": [1]}}),
        ORDER_V1,
    )
    judgement = judge_data(m, find_paths(m)[0])
    assert judgement.verdict == PARTLY  # implicit consumer, worse routing
    assert "Routing reads detail.amount (rule big)" in judgement.reason


def test_an_undeclared_consumer_is_implicit_and_a_pinned_compatible_one_is_partly() -> None:
    loose = ConsumerInfo(10, "reporting", "reporting")
    m = bus_to(loose, Link(1, "target:1", consumer_id=10, rule="all"), ORDER_V1)
    assert judge_data(m, find_paths(m)[0]).verdict == IMPLICIT
    compatible_v2 = TypeInfo("OrderPlaced", 2, required=("order_id", "total", "currency"))
    pinned = ConsumerInfo(10, "billing", "billing", expects=ORDER_V1)
    m = bus_to(pinned, Link(1, "target:1", consumer_id=10, rule="all"), compatible_v2)
    judgement = judge_data(m, find_paths(m)[0])
    assert judgement.verdict == PARTLY and "pinned to OrderPlaced v1" in judgement.reason
    m = bus_to(pinned, Link(1, "target:1", consumer_id=10, rule="all"), ORDER_V1)
    assert judge_data(m, find_paths(m)[0]).verdict == DECOUPLED


def test_template_fields_reads_the_object_keys_a_template_makes() -> None:
    assert template_fields('{"order": "<order>", "amount": <amount>}') == ["order", "amount"]
    assert template_fields("<order> is late") is None
    assert template_fields('"<order>"') is None
