from __future__ import annotations

import pytest
from django.test import Client, override_settings

from flows.formats.scenario import scenario_load_file
from flows.models import Rule, Subscription
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_index_lists_topologies_with_counts(client: Client) -> None:
    scenario_load_file("shop")
    response = client.get("/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Shop" in body and "never run" in body


def test_private_topologies_are_hidden_from_anonymous_visitors(
    client: Client, admin_client: Client
) -> None:
    f.topology("secret", name="Secret plan", is_public=False)
    assert "Secret plan" not in client.get("/").content.decode()
    assert client.get("/topologies/secret/").status_code == 404
    assert "Secret plan" in admin_client.get("/").content.decode()
    assert admin_client.get("/topologies/secret/").status_code == 200


def test_topology_page_shows_its_parts(client: Client) -> None:
    scenario_load_file("shop")
    body = client.get("/topologies/shop/").content.decode()
    for part in ("storefront", "orders", "shop-bus", "order-worker-1", "big-orders", "tax"):
        assert part in body


def test_topology_page_escapes_names(client: Client) -> None:
    topo = f.topology("x")
    f.channel(topo, "<img src=x onerror=alert(1)>")
    body = client.get("/topologies/x/").content.decode()
    assert "<img src=x" not in body
    assert "&lt;img src=x onerror=alert(1)&gt;" in body


def test_unknown_topology_is_404(client: Client) -> None:
    assert client.get("/topologies/nope/").status_code == 404


def test_healthz_reports_redis_up_and_no_worker(admin_client: Client) -> None:
    response = admin_client.get("/healthz")
    report = response.json()
    assert report["database"]["ok"] is True
    assert report["redis"]["ok"] is True
    # No Celery worker runs in this test: the report says so and the status is not 200.
    assert report["celery"]["ok"] is False
    assert response.status_code == 503


def test_healthz_reports_redis_down(admin_client: Client, tmp_path) -> None:
    with override_settings(REDIS_URL=f"unix://{tmp_path}/nothing.sock"):
        response = admin_client.get("/healthz")
    report = response.json()
    assert response.status_code == 503
    assert report["redis"] == {
        "ok": False,
        "embedded": report["redis"]["embedded"],
        "error": "Redis does not answer",
    }
    assert report["celery"]["ok"] is False


def test_healthz_tells_anonymous_callers_only_up_or_down(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 503  # no Celery worker runs in this test
    assert response.json() == {"ok": False}


def test_healthz_names_no_host_and_no_raw_error_to_staff(admin_client: Client, tmp_path) -> None:
    with override_settings(REDIS_URL=f"unix://{tmp_path}/nothing.sock"):
        body = admin_client.get("/healthz").content.decode()
    assert str(tmp_path) not in body
    assert "Error" not in body  # no exception class names or driver messages


def test_admin_pages_render_for_every_model(admin_client: Client) -> None:
    scenario_load_file("shop")
    for model in (
        "topology",
        "messagetype",
        "messagechannel",
        "producer",
        "consumer",
        "subscription",
        "rule",
        "run",
        "hop",
    ):
        assert admin_client.get(f"/admin/flows/{model}/").status_code == 200, model
    from flows.models import MessageChannel, Rule

    bus = MessageChannel.objects.get(name="shop-bus")
    assert admin_client.get(f"/admin/flows/messagechannel/{bus.pk}/change/").status_code == 200
    rule = Rule.objects.get(name="big-orders")
    page = admin_client.get(f"/admin/flows/rule/{rule.pk}/change/").content.decode()
    assert "&quot;numeric&quot;" in page  # the pattern is shown as indented JSON


def test_admin_rejects_an_invalid_pattern_with_its_path(admin_client: Client) -> None:
    scenario_load_file("shop")
    from flows.models import Rule

    rule = Rule.objects.get(name="big-orders")
    response = admin_client.post(
        f"/admin/flows/rule/{rule.pk}/change/",
        {
            "bus": rule.bus_id,
            "name": rule.name,
            "event_pattern": '{"detail": {"total": [{"numeric": [">", "lots"]}]}}',
            "enabled": "on",
            "targets-TOTAL_FORMS": "0",
            "targets-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "detail.total" in response.content.decode()
    rule.refresh_from_db()
    assert rule.event_pattern == {
        "detail-type": ["OrderPlaced"],
        "detail": {"total": [{"numeric": [">", 500]}]},
    }


def test_static_files_are_served_without_debug(client: Client) -> None:
    for path, kind in (
        ("/static/flows/app.css", "text/css"),
        ("/static/admin/css/base.css", "text/css"),
        ("/static/vendor/jsoneditor-10.4.3/jsoneditor.min.js", "javascript"),
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert kind in response["Content-Type"]


def test_index_leads_a_newcomer_to_the_demo_first(client: Client) -> None:
    from flows.formats.scenario import shipped_scenarios

    for path in shipped_scenarios():
        scenario_load_file(str(path))
    body = client.get("/").content.decode()
    rows = body.split("<tbody>", 1)[1]
    first = rows.split("</tr>", 1)[0]
    assert "Shop" in first and "start here" in first
    assert "New here? Start with" in body
    # Each scenario's idea, in one line: the first line of its description.
    assert "Rules on a bus route each event by its content; the producer only publishes." in body
    assert "Watch the two order-service workers take turns" not in body  # not the whole text


def test_index_tells_anonymous_visitors_how_to_log_in(client: Client, admin_client: Client) -> None:
    scenario_load_file("shop")
    assert "need the admin login" in client.get("/").content.decode()
    assert "need the admin login" not in admin_client.get("/").content.decode()


def test_a_run_started_seconds_ago_says_just_now(admin_client: Client) -> None:
    from flows.models import Run

    topology = scenario_load_file("shop")
    Run.objects.create(topology=topology, seed=1, status="stopped")
    body = admin_client.get("/").content.decode()
    assert "just now" in body and "0 minutes" not in body


def test_about_shows_patterns_and_filter_policies_as_json_one_can_paste_back(
    client: Client,
) -> None:
    import html
    import json
    import re

    for slug in ("shop", "events-on-a-topic"):
        topology = scenario_load_file(slug)
        body = client.get(f"/topologies/{slug}/").content.decode()
        shown = [
            json.loads(html.unescape(t)) for t in re.findall(r'<pre class="json">(.*?)</pre>', body)
        ]
        rules = [r.event_pattern for r in Rule.objects.filter(bus__topology=topology)]
        policies = [
            s.filter_policy
            for s in Subscription.objects.filter(channel__topology=topology)
            if s.filter_policy is not None
        ]
        assert rules or policies
        assert sorted(map(json.dumps, shown)) == sorted(map(json.dumps, rules + policies))
