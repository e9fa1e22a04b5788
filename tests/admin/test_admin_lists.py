"""Admin made for editing rules (issue 14): lists, links, history, messages, hops, what-if."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from flows.formats.scenario import resolve, scenario_load, scenario_load_file
from flows.models import Hop, MessageChannel, Rule, Run, Subscription, Topology
from flows.rules import rule_save

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_shops(redis_url: str) -> Topology:
    """The shop and a copy under another slug: the same names in two topologies."""
    shop = scenario_load_file("shop")
    text = resolve("shop").read_text(encoding="utf-8")
    copy = text.replace("slug: shop\n", "slug: shop-eu\n", 1)
    copy = copy.replace("name: Shop\n", "name: Shop EU\n", 1)
    scenario_load(text=copy, origin="shop-eu.yaml")
    return shop


def filter_choices(page: str, title: str) -> list[str]:
    """The choices of one list filter, by its title ("By bus")."""
    block = page.split(f"By {title}", 1)[1].split("</ul>", 1)[0]
    return [re.sub(r"\s+", " ", c).strip() for c in re.findall(r"<a [^>]*>(.*?)</a>", block, re.S)]


def rows(page: str) -> list[str]:
    """The change list's rows, each as its cells' text joined by " | "."""
    body = page.split('id="result_list"', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [
        " | ".join(
            " ".join(re.sub(r"<[^>]+>", " ", cell).split())
            for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)
            if re.sub(r"<[^>]+>", "", cell).strip()
        )
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    ]


# 8. lists


def test_the_rule_list_shows_topology_bus_enabled_version_and_targets(
    admin_client: Client, two_shops: Topology
) -> None:
    page = admin_client.get("/admin/flows/rule/").content.decode()
    for column in ("column-topology", "column-bus_name", "column-enabled", "column-version"):
        assert column in page
    listed = rows(page)
    assert len(listed) == len(set(listed)) == 6
    assert any("big-orders" in r and "Shop EU" in r and "fraud-review" in r for r in listed)


def test_the_bus_filter_lists_only_buses_each_once_told_apart(
    admin_client: Client, two_shops: Topology
) -> None:
    page = admin_client.get("/admin/flows/rule/").content.decode()
    buses = filter_choices(page, "bus")
    assert buses == ["All", "shop-bus (bus) · Shop", "shop-bus (bus) · Shop EU"]
    assert filter_choices(page, "topology") == ["All", "Shop", "Shop EU"]


def test_filters_and_search_narrow_the_rule_list(admin_client: Client, two_shops: Topology) -> None:
    bus = MessageChannel.objects.get(topology=two_shops, kind="bus")
    by_bus = rows(admin_client.get(f"/admin/flows/rule/?bus={bus.pk}").content.decode())
    assert len(by_bus) == 3 and all("| Shop |" in r for r in by_bus)
    by_topology = rows(
        admin_client.get(f"/admin/flows/rule/?topology={two_shops.pk}").content.decode()
    )
    assert by_topology == by_bus
    found = rows(admin_client.get("/admin/flows/rule/?q=big-orders+Shop+EU").content.decode())
    assert len(found) == 1 and found[0].startswith("big-orders | Shop EU |")


@pytest.mark.parametrize(
    ("url", "title", "expected"),
    [
        ("/admin/flows/messagechannel/", "topology", ["All", "Shop", "Shop EU"]),
        ("/admin/flows/consumer/", "topology", ["All", "Shop", "Shop EU"]),
        ("/admin/flows/target/", "topology", ["All", "Shop", "Shop EU"]),
        ("/admin/flows/subscription/", "topology", ["All", "Shop", "Shop EU"]),
    ],
)
def test_other_lists_filter_by_topology_with_unique_choices(
    admin_client: Client, two_shops: Topology, url: str, title: str, expected: list[str]
) -> None:
    assert filter_choices(admin_client.get(url).content.decode(), title) == expected


def test_the_subscription_channel_filter_offers_only_channels_with_subscriptions(
    admin_client: Client, two_shops: Topology
) -> None:
    choices = filter_choices(
        admin_client.get("/admin/flows/subscription/").content.decode(), "channel"
    )
    assert len(choices) == len(set(choices))
    subscribed = Subscription.objects.values_list("channel", flat=True).distinct().count()
    assert len(choices) == subscribed + 1  # "All"
    assert not any("(bus)" in c for c in choices)


def test_the_target_rule_filter_tells_namesakes_apart(
    admin_client: Client, two_shops: Topology
) -> None:
    choices = filter_choices(admin_client.get("/admin/flows/target/").content.decode(), "rule")
    assert "big-orders · shop-bus, Shop" in choices and "big-orders · shop-bus, Shop EU" in choices
    assert len(choices) == len(set(choices))


# 9. the topology page links to its parts


def test_the_topology_page_links_each_part_list_filtered_to_it(
    admin_client: Client, two_shops: Topology
) -> None:
    page = admin_client.get(f"/admin/flows/topology/{two_shops.pk}/change/").content.decode()
    for model in ("messagechannel", "consumer", "subscription", "rule", "target", "producer"):
        assert f'href="/admin/flows/{model}/?topology={two_shops.pk}"' in page, model
    assert f"rules ({Rule.objects.filter(bus__topology=two_shops).count()})" in page
    listed = rows(
        admin_client.get(f"/admin/flows/consumer/?topology={two_shops.pk}").content.decode()
    )
    assert len(listed) == two_shops.consumers.count()


# 10 and 11. history


def test_history_is_one_json_diff_with_who_version_and_reason(
    admin_client: Client, admin_user: User, two_shops: Topology
) -> None:
    rule = Rule.objects.get(bus__topology=two_shops, name="big-orders")
    rule.event_pattern = {"detail": {"region": [{"prefix": "eu-"}]}}
    rule_save(rule=rule, actor=admin_user, reason="admin")
    page = admin_client.get(f"/admin/flows/rule/{rule.pk}/history/").content.decode()
    table = page.split('id="change-history"', 1)[1].split("</table>", 1)[0]
    headers = re.findall(r"<th[^>]*>(.*?)</th>", table)
    assert headers == ["Version", "When", "Who", "Reason", "What changed"]
    assert "&quot;prefix&quot;: &quot;eu-&quot;" in table  # JSON, double quotes
    assert "&#x27;prefix&#x27;" not in table and "'prefix'" not in table  # no Python repr
    assert re.search(r">\s*v2\s*</a>", table) and "admin: pattern" in table
    assert admin_user.username in table and "None" not in table


def test_subscription_history_shows_filter_policies_as_json(
    admin_client: Client, redis_url: str
) -> None:
    topic = scenario_load_file("events-on-a-topic").channels.get(kind="topic")
    sub = topic.subscriptions.first()
    sub.filter_policy = {"region": [{"prefix": "eu-"}]}
    sub._change_reason = "test"
    sub.save()
    table = admin_client.get(f"/admin/flows/subscription/{sub.pk}/history/").content.decode()
    assert "&quot;region&quot;: [{&quot;prefix&quot;: &quot;eu-&quot;}]" in table
    assert "&#x27;" not in table.split('id="change-history"', 1)[1]


# 12. messages


def test_the_form_and_the_sandbox_say_the_same_about_broken_json(
    admin_client: Client, two_shops: Topology
) -> None:
    rule = Rule.objects.get(bus__topology=two_shops, name="big-orders")
    text = '{\n  "source": ["a",]\n}'
    sandbox = admin_client.post(
        "/admin/flows/rule/sandbox/",
        json.dumps({"pattern": text, "event": {}}),
        content_type="application/json",
    ).json()
    data = {
        "bus": rule.bus_id,
        "name": rule.name,
        "event_pattern": text,
        "enabled": "on",
        "loaded_version": rule.version,
        "targets-TOTAL_FORMS": "0",
        "targets-INITIAL_FORMS": "0",
    }
    response = admin_client.post(f"/admin/flows/rule/{rule.pk}/change/", data)
    (form_error,) = response.context["adminform"].form.errors["event_pattern"]
    assert form_error == sandbox["error"] == "Not valid JSON at line 2, column 18: Expecting value."
    data["event_pattern"] = "[]"
    response = admin_client.post(f"/admin/flows/rule/{rule.pk}/change/", data)
    (form_error,) = response.context["adminform"].form.errors["event_pattern"]
    sandbox = admin_client.post(
        "/admin/flows/rule/sandbox/",
        json.dumps({"pattern": "[]", "event": {}}),
        content_type="application/json",
    ).json()
    assert form_error == sandbox["error"] == "An event pattern must be a JSON object, not an array."


# 13. hops


def hop(run: Run, seq: int, **fields: Any) -> Hop:
    defaults = {
        "msg": "00000000-0000-4000-8000-000000000001",
        "type": "OrderPlaced",
        "kind": "event",
        "stage": "delivered",
        "at": seq,
    }
    return Hop.objects.create(run=run, seq=seq, **{**defaults, **fields})


def test_the_hop_list_shows_names_and_offers_no_delete(
    admin_client: Client, two_shops: Topology
) -> None:
    producer = two_shops.producers.first()
    bus = two_shops.channels.get(kind="bus")
    target = Rule.objects.get(bus=bus, name="big-orders").targets.get()
    run = Run.objects.create(topology=two_shops, seed=1, status="stopped")
    hop(run, 1, from_node=producer.node_id, to_node=bus.node_id, stage="published")
    hop(
        run, 2, from_node=bus.node_id, to_node=f"consumer:{target.consumer_id}", edge=target.edge_id
    )
    page = admin_client.get("/admin/flows/hop/").content.decode()
    assert f"{producer.name} (producer)" in page and "shop-bus (bus)" in page
    assert "rule big-orders → fraud-review" in page and "fraud-review (consumer)" in page
    assert producer.node_id not in rows(page)[0]
    assert "delete_selected" not in page and 'name="action"' not in page
    detail = admin_client.get(
        f"/admin/flows/hop/{Hop.objects.get(seq=2).pk}/change/"
    ).content.decode()
    assert "rule big-orders → fraud-review" in detail and "Delete" not in detail
    assert admin_client.post(
        "/admin/flows/hop/", {"action": "delete_selected", "_selected_action": [1]}
    ).status_code in (200, 302)
    assert Hop.objects.count() == 2


# 1. what-if counts


def test_whatif_counts_are_exact_when_the_id_lists_are_capped(
    admin_client: Client, two_shops: Topology
) -> None:
    rule = Rule.objects.get(bus__topology=two_shops, name="big-orders")
    run = Run.objects.create(topology=two_shops, seed=1, status="stopped")
    totals = [50] * 10 + [300] * 82 + [900] * 92
    Hop.objects.bulk_create(
        Hop(
            run=run,
            seq=i,
            msg=f"00000000-0000-4000-8000-{i:012d}",
            type="OrderPlaced",
            kind="event",
            stage="published",
            from_node="producer:1",
            to_node=rule.bus.node_id,
            at=i,
            detail={
                "payload": {"id": f"e{i}", "detail-type": "OrderPlaced", "detail": {"total": t}}
            },
        )
        for i, t in enumerate(totals, start=1)
    )
    answer = admin_client.post(
        "/admin/flows/rule/whatif/",
        json.dumps(
            {
                "bus": rule.bus_id,
                "rule": rule.pk,
                "pattern": {
                    "detail-type": ["OrderPlaced"],
                    "detail": {"total": [{"numeric": [">", 100]}]},
                },
            }
        ),
        content_type="application/json",
    ).json()
    assert (answer["matched_before"], answer["matched_after"]) == (92, 174)
    assert (answer["gained_count"], answer["lost_count"]) == (82, 0)
    assert len(answer["gained"]) == 50
    assert answer["targets"] == [
        {"target": "fraud-review", "before": 92, "after": 174, "change": 82}
    ]
