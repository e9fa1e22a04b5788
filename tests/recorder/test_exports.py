"""A run's hops as JSON Lines: the download and ``manage.py exportrun``, page by page."""

from __future__ import annotations

import io
from typing import Any

import orjson
import pytest
from asgiref.sync import async_to_sync
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import AsyncClient

from flows.models import Hop
from flows.recorder import exports
from tests.recorder.test_otlp import QUEUE

pytestmark = pytest.mark.django_db


@pytest.fixture
def run_with_hops(sim_of):
    sim = sim_of(QUEUE)
    for n in range(5):
        sim.publish("jobs", {"detail-type": "PlaceOrder", "detail": {"n": n}})
    sim.run_for(400, producers=False)
    return sim


def expected_lines(sim) -> list[dict]:
    return [
        {
            "seq": h.seq, "run": sim.run.pk, "msg": str(h.msg), "type": h.type,
            "kind": h.kind, "stage": h.stage, "from": h.from_node, "to": h.to_node,
            "edge": h.edge, "attempt": h.attempt, "at": h.at, "detail": h.detail,
        }
        for h in Hop.objects.filter(run=sim.run).order_by("seq")
    ]  # fmt: skip


def test_exportrun_writes_every_hop_in_seq_order_page_by_page(run_with_hops, tmp_path, monkeypatch):
    sim = run_with_hops
    monkeypatch.setattr(exports, "PAGE", 3)  # several pages even for a small run
    pages = list(exports.hop_pages(sim.run.pk))
    assert len(pages) > 3 and all(page.count(b"\n") <= 3 for page in pages)
    out = tmp_path / "run.jsonl"
    err = io.StringIO()
    call_command("exportrun", str(sim.run.pk), "--output", str(out), stderr=err)
    lines = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert lines == expected_lines(sim)
    assert [h["stage"] for h in lines[:2]] == ["published", "enqueued"]
    assert lines[0]["detail"]["payload"]["detail"] == {"n": 0}
    assert f"{len(lines)} hops of run {sim.run.pk}" in err.getvalue()


def test_exportrun_to_standard_output_and_an_unknown_run(run_with_hops, capsys):
    sim = run_with_hops
    call_command("exportrun", str(sim.run.pk))
    printed = capsys.readouterr().out.splitlines()
    assert [orjson.loads(line) for line in printed] == expected_lines(sim)
    with pytest.raises(CommandError, match="No run 999999"):
        call_command("exportrun", "999999")


def test_the_download_streams_json_lines(run_with_hops, monkeypatch):
    sim = run_with_hops
    monkeypatch.setattr(exports, "PAGE", 4)
    url = f"/topologies/{sim.topology.slug}/runs/{sim.run.pk}/hops.jsonl"

    async def download() -> tuple[Any, list[bytes]]:
        # Served as Daphne serves it (ASGI), where the body must be an async iterator.
        answer = await AsyncClient().get(url)
        return answer, [chunk async for chunk in answer.streaming_content]

    answer, chunks = async_to_sync(download)()
    assert answer.status_code == 200
    assert answer.streaming and answer["Content-Type"].startswith("application/x-ndjson")
    assert answer["Content-Disposition"] == (
        f'attachment; filename="{sim.topology.slug}-run-{sim.run.pk}-hops.jsonl"'
    )
    assert len(chunks) > 1  # one chunk per page, never the whole run at once
    lines = [orjson.loads(line) for line in b"".join(chunks).splitlines()]
    assert lines == expected_lines(sim)


def test_the_download_is_for_those_who_may_see_the_topology(run_with_hops, client):
    sim = run_with_hops
    url = f"/topologies/{sim.topology.slug}/runs/{sim.run.pk}/hops.jsonl"
    sim.topology.is_public = False
    sim.topology.save(update_fields=["is_public"])
    assert client.get(url).status_code == 404
    assert client.get(f"/topologies/nope/runs/{sim.run.pk}/hops.jsonl").status_code == 404
    sim.topology.is_public = True
    sim.topology.save(update_fields=["is_public"])
    other = f"/topologies/{sim.topology.slug}/runs/{sim.run.pk + 1000}/hops.jsonl"
    assert client.get(other).status_code == 404
