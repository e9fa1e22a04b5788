"""The websocket protocol with WebsocketCommunicator: snapshot, resume, refusals, bad frames."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser, User

from eventviz.asgi import application
from flows.formats.scenario import scenario_load_file
from flows.live import frames, sender
from flows.live.socket import RESUME_CHUNK, TRACE_LIMIT
from flows.models import Hop, Run
from flows.ws_urls import websocket_urlpatterns

pytestmark = pytest.mark.django_db(transaction=True)

PATH = "/ws/topologies/shop/"


def run(coro: Awaitable[Any]) -> Any:
    return asyncio.run(coro)


async def connected(user: Any = None, path: str = PATH) -> tuple[WebsocketCommunicator, dict]:
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), path)
    communicator.scope["user"] = user or AnonymousUser()
    ok, _ = await communicator.connect()
    assert ok
    snapshot = await communicator.receive_json_from(timeout=5)
    return communicator, snapshot


def with_socket(user: Any, body: Callable[[WebsocketCommunicator, dict], Awaitable[Any]]) -> Any:
    async def go() -> Any:
        communicator, snapshot = await connected(user)
        try:
            return await body(communicator, snapshot)
        finally:
            await communicator.disconnect()

    return run(go())


@pytest.fixture
def shop(redis_url: str):
    return scenario_load_file("shop")


@pytest.fixture
def staff() -> User:
    return User.objects.create_user("staff", password="x", is_staff=True)


def add_hops(run_obj: Run, seqs: range) -> None:
    Hop.objects.bulk_create(
        Hop(
            run=run_obj,
            seq=s,
            msg="00000000-0000-4000-8000-000000000001",
            type="T",
            kind="event",
            stage="published",
            from_node="producer:1",
            to_node="queue:1",
            edge="prod:1",
            at=1000 + s,
        )
        for s in seqs
    )
    Run.objects.filter(pk=run_obj.pk).update(last_seq=seqs[-1])


def test_snapshot_on_connect_has_graph_counters_and_last_seq(shop) -> None:
    run_obj = Run.objects.create(topology=shop, seed=1, status="stopped")
    add_hops(run_obj, range(1, 4))

    async def body(ws, snapshot):
        return snapshot

    snapshot = with_socket(None, body)
    assert snapshot["type"] == "snapshot"
    assert snapshot["last_seq"] == 3 and snapshot["run"]["id"] == run_obj.pk
    assert snapshot["staff"] is False
    kinds = {n["kind"] for n in snapshot["graph"]["nodes"]}
    assert kinds == {"producer", "queue", "bus", "consumer"}
    assert any(
        e["kind"] == "rule" and e["label"] == "big-orders" for e in snapshot["graph"]["edges"]
    )


def test_resume_sends_exactly_the_missed_hops(shop) -> None:
    run_obj = Run.objects.create(topology=shop, seed=1)
    add_hops(run_obj, range(1, 2501))

    async def body(ws, snapshot):
        await ws.send_json_to({"type": "resume", "run": run_obj.pk, "after_seq": 1200})
        seqs, mores = [], []
        while len(seqs) < 1300:
            frame = await ws.receive_json_from(timeout=5)
            assert frame["type"] == "hops" and frame["resumed"] is True
            seqs.extend(h["seq"] for h in frame["hops"])
            mores.append(frame["more"])
        assert await ws.receive_nothing(timeout=0.2)
        return seqs, mores

    seqs, mores = with_socket(None, body)
    assert seqs == list(range(1201, 2501))
    # The answer says where it ends: the client does not guess from a frame's size.
    assert mores == [True, False]


def test_a_resume_answer_of_exactly_one_full_frame_says_no_more_follows(shop) -> None:
    run_obj = Run.objects.create(topology=shop, seed=1)
    add_hops(run_obj, range(1, RESUME_CHUNK + 1))

    async def body(ws, snapshot):
        await ws.send_json_to({"type": "resume", "run": run_obj.pk, "after_seq": 0})
        frame = await ws.receive_json_from(timeout=5)
        assert await ws.receive_nothing(timeout=0.2)
        return frame

    frame = with_socket(None, body)
    assert len(frame["hops"]) == RESUME_CHUNK and frame["more"] is False


def test_resume_when_nothing_was_missed_answers_an_empty_batch(shop) -> None:
    run_obj = Run.objects.create(topology=shop, seed=1)
    add_hops(run_obj, range(1, 5))

    async def body(ws, snapshot):
        await ws.send_json_to({"type": "resume", "run": run_obj.pk, "after_seq": 4})
        return await ws.receive_json_from(timeout=5)

    frame = with_socket(None, body)
    assert frame == {
        "type": "hops",
        "run": run_obj.pk,
        "hops": [],
        "resumed": True,
        "more": False,
    }


def test_hop_batches_from_the_channel_layer_reach_the_client_as_sent(shop) -> None:
    hops = [
        {
            "seq": i,
            "run": 9,
            "msg": "m",
            "type": "T",
            "kind": "event",
            "stage": "published",
            "from": "a",
            "to": "b",
            "edge": "",
            "attempt": 1,
            "at": i,
        }
        for i in (1, 2, 3)
    ]

    async def body(ws, snapshot):
        await asyncio.sleep(0.1)
        await asyncio.to_thread(sender.send, "shop", frames.hops_frame(9, hops))
        return await ws.receive_json_from(timeout=5)

    frame = with_socket(None, body)
    assert frame == {"type": "hops", "run": 9, "hops": hops}


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("{not json", "malformed JSON"),
        ("[1, 2]", "a frame is a JSON object with a string 'type'"),
        ('{"type": 5}', "a frame is a JSON object with a string 'type'"),
        ('{"type": "dance"}', "unknown frame type 'dance'"),
        ('{"type": "resume", "after_seq": -1, "run": 1}', "non-negative integer"),
        ('{"type": "resume", "after_seq": 1}', "needs 'run'"),
        ('{"type": "trace", "msg": "x"}', "trace needs 'msg'"),
        ("x" * (64 * 1024 + 1), "frame too large"),
    ],
)
def test_malformed_frames_get_an_error_and_the_socket_stays_usable(shop, raw, error) -> None:
    async def body(ws, snapshot):
        await ws.send_to(text_data=raw)
        first = await ws.receive_json_from(timeout=5)
        await ws.send_json_to({"type": "trace", "msg": "00000000-0000-4000-8000-000000000009"})
        second = await ws.receive_json_from(timeout=5)
        return first, second

    first, second = with_socket(None, body)
    assert first["type"] == "error" and error in first["error"]
    assert second == {
        "type": "trace",
        "msg": "00000000-0000-4000-8000-000000000009",
        "run": None,
        "hops": [],
    }


@pytest.mark.parametrize("who", ["anonymous", "non-staff"])
def test_control_frames_are_refused_to_anyone_but_staff(shop, who) -> None:
    user = None if who == "anonymous" else User.objects.create_user("u", password="x")

    async def body(ws, snapshot):
        answers = []
        for frame in (
            {"type": "run.start"},
            {"type": "consumer.offline", "consumer": 1},
            {"type": "publish", "channel": 1, "message": {}},
        ):
            await ws.send_json_to(frame)
            answers.append(await ws.receive_json_from(timeout=5))
        return answers

    for answer in with_socket(user, body):
        assert answer["type"] == "error" and "for staff" in answer["error"]
    assert not Run.objects.exists()
    assert shop.consumers.filter(online=False).count() == 0


def test_staff_can_start_and_stop_a_run_and_toggle_a_consumer(shop, staff) -> None:
    consumer = shop.consumers.get(name="billing")

    async def body(ws, snapshot):
        assert snapshot["staff"] is True
        answers = []
        for frame in (
            {"type": "run.start", "seed": 3},
            {"type": "consumer.offline", "consumer": consumer.pk},
            {"type": "consumer.offline", "consumer": 999999},
            {"type": "run.stop"},
        ):
            await ws.send_json_to(frame)
            while True:
                answer = await ws.receive_json_from(timeout=5)
                if answer["type"] in ("ack", "error"):
                    answers.append(answer)
                    break
        return answers

    start, offline, missing, stop = with_socket(staff, body)
    assert start["of"] == "run.start" and Run.objects.get(pk=start["run"]).seed == 3
    assert offline == {"type": "ack", "of": "consumer.offline", "consumer": consumer.pk}
    assert missing["type"] == "error" and "no consumer 999999" in missing["error"]
    assert stop["of"] == "run.stop" and Run.objects.get(pk=start["run"]).status == "stopped"
    consumer.refresh_from_db()
    assert consumer.online is False


def test_publish_without_a_running_run_is_refused_clearly(shop, staff) -> None:
    bus = shop.channels.get(name="shop-bus")

    async def body(ws, snapshot):
        await ws.send_json_to(
            {
                "type": "publish",
                "channel": bus.pk,
                "message": {"detail-type": "OrderPlaced", "detail": {}},
            }
        )
        return await ws.receive_json_from(timeout=5)

    answer = with_socket(staff, body)
    assert answer["type"] == "error" and "no running run" in answer["error"]


def test_private_topology_is_closed_to_anonymous_visitors(shop) -> None:
    shop.is_public = False
    shop.save()

    async def go():
        communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), PATH)
        communicator.scope["user"] = AnonymousUser()
        ok, code = await communicator.connect()
        await communicator.disconnect()
        return ok, code

    assert run(go()) == (False, 4404)


def test_the_asgi_app_refuses_a_foreign_origin(shop) -> None:
    async def go():
        communicator = WebsocketCommunicator(
            application,
            PATH,
            headers=[(b"origin", b"http://evil.example"), (b"host", b"localhost")],
        )
        ok, _ = await communicator.connect()
        await communicator.disconnect()
        return ok

    assert run(go()) is False


def test_the_asgi_app_accepts_its_own_origin(shop) -> None:
    async def go():
        communicator = WebsocketCommunicator(
            application,
            PATH,
            headers=[(b"origin", b"http://localhost:8000"), (b"host", b"localhost")],
        )
        ok, _ = await communicator.connect()
        frame = await communicator.receive_json_from(timeout=5) if ok else None
        await communicator.disconnect()
        return ok, frame

    ok, frame = run(go())
    assert ok and frame["type"] == "snapshot"
    assert json.dumps(frame)


def test_resume_includes_hops_sent_but_not_yet_stored(shop) -> None:
    import orjson

    from flows.engine.keys import RunKeys
    from flows.redis_state import client

    run_obj = Run.objects.create(topology=shop, seed=1)
    add_hops(run_obj, range(1, 11))
    pending = [
        {
            "seq": s,
            "run": run_obj.pk,
            "msg": "00000000-0000-4000-8000-000000000002",
            "type": "T",
            "kind": "event",
            "stage": "enqueued",
            "from": "a",
            "to": "b",
            "edge": "",
            "attempt": 1,
            "at": s,
            "detail": {},
        }
        for s in (10, 11, 12)  # 10 is in both places: sent once
    ]
    client().xadd(RunKeys(run_obj.pk).hops, {"h": orjson.dumps(pending)})

    async def body(ws, snapshot):
        await ws.send_json_to({"type": "resume", "run": run_obj.pk, "after_seq": 8})
        return await ws.receive_json_from(timeout=5)

    frame = with_socket(None, body)
    assert [h["seq"] for h in frame["hops"]] == [9, 10, 11, 12]
    assert frame["hops"][1]["stage"] == "published"  # the stored copy wins
    assert "detail" not in frame["hops"][3]


def test_resume_of_another_topologys_run_is_refused(shop) -> None:
    from flows.models import Topology

    other = Topology.objects.create(slug="other", name="Other")
    run_obj = Run.objects.create(topology=other, seed=1)

    async def body(ws, snapshot):
        await ws.send_json_to({"type": "resume", "run": run_obj.pk, "after_seq": 0})
        return await ws.receive_json_from(timeout=5)

    frame = with_socket(None, body)
    assert frame["type"] == "error" and "not a run of this topology" in frame["error"]


def test_errors_name_the_refused_frame_and_traces_keep_to_one_run(shop) -> None:
    first = Run.objects.create(topology=shop, seed=1, status="stopped")
    second = Run.objects.create(topology=shop, seed=1)
    add_hops(first, range(1, 3))
    add_hops(second, range(1, 4))

    async def body(ws, snapshot):
        await ws.send_json_to({"type": "run.stop"})
        refused = await ws.receive_json_from(timeout=5)
        await ws.send_json_to(
            {"type": "trace", "run": second.pk, "msg": "00000000-0000-4000-8000-000000000001"}
        )
        return refused, await ws.receive_json_from(timeout=5)

    refused, trace = with_socket(None, body)
    assert refused["of"] == "run.stop" and "for staff" in refused["error"]
    assert {h["run"] for h in trace["hops"]} == {second.pk} and len(trace["hops"]) == 3


def test_a_trace_of_the_current_run_is_complete_however_many_runs_share_its_seed(shop) -> None:
    # The same seed makes the same message ids in every run; the trace is capped at
    # TRACE_LIMIT hops. Asked for the current run, all of that run's hops come back.
    msg = "00000000-0000-4000-8000-000000000001"
    runs = [Run.objects.create(topology=shop, seed=1, status="stopped") for _ in range(3)]
    per_run = TRACE_LIMIT // 2 + 50
    for run_obj in runs:
        add_hops(run_obj, range(1, per_run + 1))
    current = runs[-1]

    async def body(ws, snapshot):
        answers = []
        for frame in (
            {"type": "trace", "msg": msg},
            {"type": "trace", "msg": msg, "run": current.pk},
        ):
            await ws.send_json_to(frame)
            answers.append(await ws.receive_json_from(timeout=5))
        return answers

    unscoped, scoped = with_socket(None, body)
    # Without a run the cap cuts the latest run off (why the dashboard sends its run).
    assert len(unscoped["hops"]) == TRACE_LIMIT
    assert not any(h["run"] == current.pk for h in unscoped["hops"])
    assert scoped["run"] == current.pk
    assert [h["seq"] for h in scoped["hops"]] == list(range(1, per_run + 1))
    assert {h["run"] for h in scoped["hops"]} == {current.pk}
