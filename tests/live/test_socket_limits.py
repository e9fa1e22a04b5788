"""What one socket may cost: unread bytes, costly requests, resumes at once (issue 16.4).

Daphne's transport buffer is stood in for by a probe in the scope (as
``flows.live.transport.WriteBufferMiddleware`` puts the real one); test_slow_reader.py
measures the real thing.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser

from flows.formats.scenario import scenario_load_file
from flows.live import frames, sender, socket
from flows.live.transport import WRITE_BUFFER, transport_buffered
from flows.models import Run
from flows.ws_urls import websocket_urlpatterns
from tests.live.test_socket import PATH, add_hops

pytestmark = pytest.mark.django_db(transaction=True)


class Buffer:
    """What the probe reports: bytes the client has not read."""

    def __init__(self) -> None:
        self.unread = 0

    def __call__(self) -> int:
        return self.unread


async def connected(buffer: Buffer) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), PATH)
    communicator.scope["user"] = AnonymousUser()
    communicator.scope["extensions"] = {WRITE_BUFFER: buffer}
    ok, _ = await communicator.connect()
    assert ok
    assert (await communicator.receive_json_from(timeout=5))["type"] == "snapshot"
    return communicator


@pytest.fixture
def shop(redis_url: str):
    return scenario_load_file("shop")


@pytest.fixture
def limits(settings):
    settings.EVENTVIZ_WS_SEND_BUFFER = 64 * 1024
    settings.EVENTVIZ_WS_DRAIN_TIMEOUT = 0.3
    return settings


def test_an_answer_waits_for_the_client_to_read_and_a_client_that_does_not_is_closed(
    shop, limits
) -> None:
    run_obj = Run.objects.create(topology=shop, seed=1)
    add_hops(run_obj, range(1, 1501))

    async def go() -> tuple[dict, dict, dict]:
        buffer = Buffer()
        ws = await connected(buffer)
        # A client that reads: the answer comes, frame by frame.
        await ws.send_json_to({"type": "resume", "run": run_obj.pk, "after_seq": 0})
        first = await ws.receive_json_from(timeout=5)
        second = await ws.receive_json_from(timeout=5)
        # A client that has left most of the buffer unread: nothing more is sent to it,
        # and when it still has not read it after the drain timeout, it is closed.
        buffer.unread = 60 * 1024
        await ws.send_json_to({"type": "resume", "run": run_obj.pk, "after_seq": 0})
        closed = await ws.receive_output(timeout=5)
        await ws.disconnect()
        return first, second, closed

    first, second, closed = asyncio.run(go())
    assert len(first["hops"]) + len(second["hops"]) == 1500 and second["more"] is False
    assert closed["type"] == "websocket.close" and closed["code"] == socket.CLOSE_TOO_SLOW


def test_live_hops_are_left_out_while_the_client_is_behind_and_other_frames_go_through(
    shop, limits
) -> None:
    hop = {
        "seq": 1,
        "run": 9,
        "msg": "m",
        "type": "T",
        "kind": "event",
        "stage": "published",
        "from": "a",
        "to": "b",
        "edge": "",
        "attempt": 1,
        "at": 1,
    }
    counters = {
        "run": 9,
        "seq": 3,
        "totals": {"copies": 1},
        "nodes": {},
        "script": {"started": None, "done": []},
    }

    async def go() -> list[dict]:
        buffer = Buffer()
        ws = await connected(buffer)
        await asyncio.sleep(0.1)
        buffer.unread = 20 * 1024  # behind: more than a quarter of the buffer unread
        await asyncio.to_thread(sender.send, "shop", frames.hops_frame(9, [hop]))
        await asyncio.to_thread(sender.send, "shop", frames.counters_frame(counters))
        got = [await ws.receive_json_from(timeout=5)]
        buffer.unread = 0  # caught up
        await asyncio.to_thread(sender.send, "shop", frames.hops_frame(9, [{**hop, "seq": 2}]))
        got.append(await ws.receive_json_from(timeout=5))
        await ws.disconnect()
        return got

    counted, hops = asyncio.run(go())
    assert counted["type"] == "counters"
    assert hops["type"] == "hops" and [h["seq"] for h in hops["hops"]] == [2]


def test_resume_and_trace_are_rate_limited_per_socket(shop) -> None:
    run_obj = Run.objects.create(topology=shop, seed=1)
    add_hops(run_obj, range(1, 3))
    burst = int(socket.RATE_LIMITS["resume"][0])

    async def go() -> list[dict]:
        ws = await connected(Buffer())
        answers = []
        for _ in range(burst + 1):
            await ws.send_json_to({"type": "resume", "run": run_obj.pk, "after_seq": 0})
            answers.append(await ws.receive_json_from(timeout=5))
        await ws.disconnect()
        return answers

    answers = asyncio.run(go())
    assert all(a["type"] == "hops" for a in answers[:burst])
    refused = answers[-1]
    assert refused["type"] == "error" and refused["of"] == "resume"
    assert "too many resume requests" in refused["error"] and refused["retry_ms"] > 0


def test_resumes_answered_at_once_in_a_process_are_capped(shop, monkeypatch) -> None:
    run_obj = Run.objects.create(topology=shop, seed=1)
    add_hops(run_obj, range(1, 3))
    monkeypatch.setattr(socket, "RESUME_SLOT_WAIT", 0.2)

    async def go() -> tuple[dict, dict]:
        ws = await connected(Buffer())
        slots = socket._resume_semaphore()
        for _ in range(socket.RESUMES_AT_ONCE):  # every slot busy with other sockets
            await slots.acquire()
        await ws.send_json_to({"type": "resume", "run": run_obj.pk, "after_seq": 0})
        busy = await ws.receive_json_from(timeout=5)
        slots.release()
        await ws.send_json_to({"type": "resume", "run": run_obj.pk, "after_seq": 0})
        answered = await ws.receive_json_from(timeout=5)
        await ws.disconnect()
        return busy, answered

    busy, answered = asyncio.run(go())
    assert busy["type"] == "error" and busy["of"] == "resume" and "retry" in busy["error"]
    assert answered["type"] == "hops" and len(answered["hops"]) == 2


def test_the_probe_reads_twisteds_transport_buffer_through_a_wrapper() -> None:
    class Tcp:
        dataBuffer = b"x" * 100
        offset = 40
        _tempDataLen = 7

    class Tls:
        transport = Tcp()

    assert transport_buffered(Tcp()) == 67
    assert transport_buffered(Tls()) == 67
    assert transport_buffered(None) == 0


def test_the_asgi_app_gives_websockets_a_probe_behind_daphnes_send() -> None:
    import functools

    from flows.live.transport import WriteBufferMiddleware

    seen: dict[str, Any] = {}

    async def inner(scope, receive, send):
        seen.update(scope)

    class Protocol:
        class transport:
            dataBuffer = b"abc"
            offset = 0
            _tempDataLen = 0

    async def handle_reply(protocol, message):
        pass

    send = functools.partial(handle_reply, Protocol())
    asyncio.run(WriteBufferMiddleware(inner)({"type": "websocket"}, None, send))
    assert seen["extensions"][WRITE_BUFFER]() == 3
