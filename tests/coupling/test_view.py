"""The coupling page: verdicts per path, escaped names, access like the dashboard's."""

from __future__ import annotations

import pytest
from django.test import Client

from flows.coupling.store import missed_events
from flows.formats.scenario import resolve, scenario_load_file
from flows.models import Emission, Subscription
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_coupling_page_shows_every_path_with_its_verdicts(client: Client) -> None:
    scenario_load_file("temporal-decoupling")
    response = client.get("/topologies/temporal-decoupling/coupling/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Coupling report: Temporal decoupling" in body
    for title in ("Time", "Location", "Space / network", "Topology", "Data / schema"):
        assert f">{title}<" in body
    assert body.count('class="verdict v-coupled"') >= 4  # the direct call, four times
    assert "checkout-sync calls invoicing-api through invoice-call" in body
    consumer = scenario_load_file("temporal-decoupling").consumers.get(name="invoicing-api")
    assert f'href="/topologies/temporal-decoupling/#node=consumer:{consumer.pk}"' in body
    assert "Shared queues in run" not in body  # no run yet


def test_coupling_page_escapes_names(client: Client) -> None:
    topo = f.topology("x")
    evil = "<img src=x onerror=alert(1)>"
    queue = f.channel(topo, f"q{evil}")
    mtype = f.message_type(topo, name=f"T{evil}", json_schema={"required": [evil]})
    producer = f.producer(topo, f"p{evil}", queue)
    Emission.objects.create(producer=producer, message_type=mtype)
    consumer = f.consumer(topo, f"c{evil}", service=f"s{evil}", expected_type=mtype)
    Subscription.objects.create(channel=queue, consumer=consumer)
    response = client.get("/topologies/x/coupling/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "<img src=x" not in body
    assert "&lt;img src=x onerror=alert(1)&gt;" in body
    assert body.count('class="verdict v-') >= 5


def test_unknown_topology_is_404(client: Client) -> None:
    assert client.get("/topologies/nope/coupling/").status_code == 404


def test_private_topology_is_hidden_from_anonymous_visitors(
    client: Client, admin_client: Client
) -> None:
    f.topology("secret", name="Secret plan", is_public=False)
    assert client.get("/topologies/secret/coupling/").status_code == 404
    response = admin_client.get("/topologies/secret/coupling/")
    assert response.status_code == 200
    assert "No producer reaches a consumer" in response.content.decode()


def test_verdicts_follow_an_edit_of_the_topology(client: Client) -> None:
    topology = scenario_load_file("shared-queue-anti-pattern")
    url = "/topologies/shared-queue-anti-pattern/coupling/"
    assert "orders-shared is shared with another service" in client.get(url).content.decode()
    # shipping-shared becomes a billing worker: the queue is no longer shared by services.
    topology.consumers.filter(name="shipping-shared").update(service="billing")
    body = client.get(url).content.decode()
    assert "is shared with another service" not in body
    assert "2 workers of billing compete on orders-shared by design" in body


def test_coupling_page_shows_what_each_service_missed_in_the_latest_run(
    client: Client, sim_of
) -> None:
    sim = sim_of(resolve("shared-queue-anti-pattern").read_text(encoding="utf-8"))
    sim.run_for(8_000, tick=100)
    figures = {m.service: m for m in missed_events(sim.run)}
    assert figures["billing"].missed > 0 and figures["shipping"].missed > 0
    body = client.get("/topologies/shared-queue-anti-pattern/coupling/").content.decode()
    assert f"Shared queues in run {sim.run.pk}" in body
    billing = figures["billing"]
    assert (
        f"In run {sim.run.pk}, billing received {billing.received} of the {billing.messages} "
        f"messages of orders-shared and missed {billing.missed}."
    ) in body
