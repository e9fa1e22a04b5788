"""Websocket message size limits against a real Daphne, as `make run` starts it."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets

from eventviz.stack import WEBSOCKET_MAX_MESSAGE_BYTES
from flows.formats.scenario import scenario_load_file

pytestmark = pytest.mark.stack


async def open_socket(live_stack):
    ws = await websockets.connect(
        live_stack.ws_url + "/ws/topologies/shop/", origin=live_stack.base_url, max_size=None
    )
    assert json.loads(await asyncio.wait_for(ws.recv(), timeout=10))["type"] == "snapshot"
    return ws


def test_a_message_over_one_mib_is_closed_with_1009_and_a_reason(live_stack) -> None:
    scenario_load_file("shop")

    async def oversize() -> websockets.exceptions.ConnectionClosed:
        ws = await open_socket(live_stack)
        await ws.send("x" * (WEBSOCKET_MAX_MESSAGE_BYTES + 1))
        with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(ws.recv(), timeout=10)
        return closed.value

    closed = asyncio.run(oversize())
    assert closed.rcvd is not None, "the socket was dropped without a close frame"
    assert closed.rcvd.code == 1009
    assert "exceeds" in closed.rcvd.reason


def test_a_message_over_the_apps_limit_but_under_one_mib_gets_an_error_and_the_socket_stays(
    live_stack,
) -> None:
    scenario_load_file("shop")

    async def large() -> tuple[dict, dict]:
        ws = await open_socket(live_stack)
        try:
            await ws.send(json.dumps({"type": "trace", "pad": "x" * 200_000}))
            error = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
            await ws.send(
                json.dumps({"type": "trace", "msg": "00000000-0000-4000-8000-000000000000"})
            )
            answer = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
            return error, answer
        finally:
            await ws.close()

    error, answer = asyncio.run(large())
    assert error["type"] == "error" and "too large" in error["error"]
    assert answer["type"] == "trace"
