"""/metrics: Prometheus text computed at scrape time from a run's live state."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings
from prometheus_client.parser import text_string_to_metric_families

from flows import services
from flows.recorder import metrics

pytestmark = pytest.mark.django_db

BACKLOG = """
slug: backlog
name: Backlog
message_types: [{name: Job, kind: command}]
channels:
  - {name: jobs, kind: queue, visibility_timeout: 1, max_receives: 2, dead_letter_queue: jobs-dlq}
  - {name: jobs-dlq, kind: queue}
  - {name: idle, kind: queue}
consumers:
  - {name: flaky, latency_ms: {mean: 10, jitter: 0}, failure_rate: 1, concurrency: 1}
  - {name: sleeper, online: false}
subscriptions:
  - {channel: jobs, consumer: flaky}
  - {channel: idle, consumer: sleeper}
"""


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, by name and sorted labels."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(found: dict, name: str, **labels: str) -> float:
    return found[(name, tuple(sorted(labels.items())))]


@pytest.fixture
def staff_client(client, django_user_model) -> Any:
    user = django_user_model.objects.create_user("ops", password="x", is_staff=True)
    client.force_login(user)
    return client


@pytest.fixture
def backlog(sim_of, monkeypatch) -> Any:
    """A running run: jobs fail into their dead-letter queue, idle waits for an offline consumer."""
    sim = sim_of(BACKLOG)
    for n in range(3):
        sim.publish("jobs", {"detail-type": "Job", "detail": {"n": n}})
        sim.publish("idle", {"detail-type": "Job", "detail": {"n": n}})
    sim.run_for(3000, producers=False)
    # Queue scores and the stream's ids are Redis time; this run's clock is the test's.
    monkeypatch.setattr(metrics, "_redis_ms", lambda r: sim.now)
    return sim


def test_metrics_report_a_running_run_as_its_counters_say(backlog, staff_client) -> None:
    sim = backlog
    answer = staff_client.get("/metrics")
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/plain")
    found = samples(answer.content.decode())
    counters = sim.counters()
    totals = counters["totals"]
    t = {"topology": "backlog"}

    assert value(found, "eventviz_run_running", **t) == 1
    assert value(found, "eventviz_run_status", **t, run=str(sim.run.pk), status="running") == 1
    assert value(found, "eventviz_run_status", **t, run=str(sim.run.pk), status="stopped") == 0
    assert value(found, "eventviz_run_seed", **t) == sim.run.seed
    for stage in ("published", "copies", "processed", "dead_lettered", "filtered", "unmatched"):
        assert value(found, "eventviz_deliveries_total", **t, stage=stage) == totals[stage]
    assert value(found, "eventviz_deliveries_total", **t, stage="dead_lettered") == 3
    assert value(found, "eventviz_deliveries_in_flight", **t) == totals["in_flight"] == 3
    assert value(found, "eventviz_deliveries_lost", **t) == 0

    jobs, dlq, idle = (sim.node("queue", n) for n in ("jobs", "jobs-dlq", "idle"))
    assert value(found, "eventviz_channel_depth", **t, channel="idle") == 3
    assert counters["nodes"][idle]["depth"] == 3
    assert value(found, "eventviz_channel_depth", **t, channel="jobs") == 0
    assert value(found, "eventviz_channel_in_flight", **t, channel="jobs") == 0
    assert value(found, "eventviz_channel_dead_letters_parked", **t, channel="jobs-dlq") == 3
    assert counters["nodes"][dlq]["parked"] == 3
    # The idle queue's messages were published at the first tick, 3 s ago.
    age = value(found, "eventviz_channel_oldest_message_age_seconds", **t, channel="idle")
    assert 2.9 <= age <= 3.0
    assert value(found, "eventviz_channel_oldest_message_age_seconds", **t, channel="jobs") == 0
    redelivered = counters["nodes"][jobs]["redelivered"]
    assert value(found, "eventviz_retries_total", **t, channel="jobs") == redelivered >= 3
    failed = counters["nodes"][sim.node("consumer", "flaky")]["failed"]
    hops = value(
        found, "eventviz_node_hops_total", **t, node_kind="consumer", node="flaky", stage="failed"
    )
    assert hops == failed == 6
    # Every hop was handed on: nothing waits in the run's stream.
    assert value(found, "eventviz_hop_stream_lag_batches", **t) == 0
    assert value(found, "eventviz_hop_stream_lag_seconds", **t) == 0


def test_hop_stream_lag_counts_batches_not_yet_handed_on(backlog, staff_client) -> None:
    sim = backlog
    sim.publish("idle", {"detail-type": "Job", "detail": {}})
    sim.now += 50
    sim.engine.tick(producers=False)  # committed in Redis, not flushed to the sink
    sim.now += 1500
    found = samples(staff_client.get("/metrics").content.decode())
    assert value(found, "eventviz_hop_stream_lag_batches", topology="backlog") >= 1
    lag = value(found, "eventviz_hop_stream_lag_seconds", topology="backlog")
    assert lag >= 1.5 or lag == 0  # 0 when the stream id's clock (real time) is ahead


def test_a_stopped_run_keeps_its_final_counts_and_status(backlog, staff_client) -> None:
    sim = backlog
    services.run_stop(run=sim.run)
    found = samples(staff_client.get("/metrics").content.decode())
    t = {"topology": "backlog"}
    assert value(found, "eventviz_run_running", **t) == 0
    assert value(found, "eventviz_run_status", **t, run=str(sim.run.pk), status="stopped") == 1
    assert value(found, "eventviz_deliveries_total", **t, stage="dead_lettered") == 3
    assert ("eventviz_channel_depth", (("channel", "idle"), ("topology", "backlog"))) not in found


def test_metrics_need_a_staff_session_or_the_token(client, django_user_model) -> None:
    assert client.get("/metrics").status_code == 401
    user = django_user_model.objects.create_user("viewer", password="x")
    client.force_login(user)
    assert client.get("/metrics").status_code == 401
    client.logout()
    with override_settings(METRICS_TOKEN=""):
        assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 401
    with override_settings(METRICS_TOKEN="s3cret-token"):
        answer = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token")
        assert answer.status_code == 200
        wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope")
        assert wrong.status_code == 401 and wrong["WWW-Authenticate"].startswith("Bearer")
        assert client.get("/metrics", HTTP_AUTHORIZATION="Basic s3cret-token").status_code == 401


def test_the_grafana_dashboard_plots_only_metrics_we_export(backlog, staff_client) -> None:
    dashboard = json.loads((settings.BASE_DIR / "docs" / "grafana-dashboard.json").read_text())
    used = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"eventviz_[a-z_]+", target["expr"])
    }
    exported = {name for name, _labels in samples(staff_client.get("/metrics").content.decode())}
    assert used and used <= exported, used - exported
