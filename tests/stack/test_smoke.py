"""The real stack: embedded (or configured) Redis, a Celery worker process and Daphne."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request

import pytest
import websockets

from flows.formats.scenario import scenario_load_file
from flows.tasks import ping

pytestmark = pytest.mark.stack


def get_json(url: str, cookie: str = "") -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_celery_task_round_trips_through_a_real_worker(live_stack) -> None:
    assert ping.delay("hello").get(timeout=30) == "hello"


def staff_cookie() -> str:
    """A logged-in staff session in the test database, as a Cookie header."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.create_superuser("ops", "ops@localhost", "x"))
    return f"sessionid={client.cookies['sessionid'].value}"


def test_healthz_is_green_once_the_worker_answers(live_stack) -> None:
    cookie = staff_cookie()  # the parts' details are for staff; others see only "ok"
    deadline = time.monotonic() + 30
    while True:
        status, report = get_json(live_stack.base_url + "/healthz", cookie)
        if status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert status == 200, report
    assert report["database"]["ok"] and report["redis"]["ok"] and report["celery"]["ok"]
    assert report["celery"]["workers"]


def test_websocket_connects_and_receives_the_snapshot(live_stack) -> None:
    scenario_load_file("shop")

    async def connect() -> dict:
        async with websockets.connect(
            live_stack.ws_url + "/ws/topologies/shop/", origin=live_stack.base_url
        ) as ws:
            return json.loads(await asyncio.wait_for(ws.recv(), timeout=10))

    snapshot = asyncio.run(connect())
    assert snapshot["type"] == "snapshot"
    labels = {node["label"] for node in snapshot["graph"]["nodes"]}
    assert {"orders", "shop-bus", "billing", "storefront"} <= labels


def test_websocket_from_a_foreign_origin_is_refused(live_stack) -> None:
    scenario_load_file("shop")

    async def connect() -> None:
        async with websockets.connect(
            live_stack.ws_url + "/ws/topologies/shop/", origin="http://evil.example"
        ) as ws:
            await ws.recv()

    with pytest.raises(websockets.exceptions.InvalidStatus):
        asyncio.run(connect())


def test_an_idle_websocket_stays_open(live_stack) -> None:
    """channels-redis waits 5 s between messages; the socket must outlive that."""
    scenario_load_file("shop")

    async def idle() -> dict:
        async with websockets.connect(
            live_stack.ws_url + "/ws/topologies/shop/", origin=live_stack.base_url
        ) as ws:
            await ws.recv()  # snapshot
            await asyncio.sleep(12)
            await ws.send(
                json.dumps({"type": "trace", "msg": "00000000-0000-4000-8000-000000000000"})
            )
            return json.loads(await asyncio.wait_for(ws.recv(), timeout=10))

    assert asyncio.run(idle())["type"] == "trace"
