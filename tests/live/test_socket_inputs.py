"""Every value a client sends is checked at the edge (issue 16.6): an error frame, never 1011.

The named cases are the issue's; the Hypothesis test throws generated frames at the
socket, as an anonymous visitor and as staff (with a running run, so that publish reaches
the envelope), and asserts that the socket answers and stays open and nothing is logged
at ERROR.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import uuid
from typing import Any

import orjson
import pytest
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser, User
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows import services
from flows.formats.scenario import scenario_load_file
from flows.live import frames, socket
from flows.models import Run
from flows.ws_urls import websocket_urlpatterns
from tests.live.test_socket import PATH

pytestmark = pytest.mark.django_db(transaction=True)

HUGE = 2**64 - 1


@pytest.fixture
def shop(redis_url: str):
    return scenario_load_file("shop")


@pytest.fixture
def staff() -> User:
    return User.objects.create_user("staff", password="x", is_staff=True)


@pytest.fixture
def running(shop) -> Run:
    return Run.objects.create(topology=shop, seed=1)


SENTINEL_IDS = (f"00000000-0000-4000-8000-{n:012d}" for n in itertools.count(1))


async def answers_to(ws: WebsocketCommunicator, raw: str | bytes) -> list[dict[str, Any]]:
    """What the socket sends after ``raw``, up to the answer to a trace sent behind it.

    A frame is handled completely before the next, so the sentinel's answer marks the end.
    A close or an exception in the consumer fails here.
    """
    if isinstance(raw, bytes):
        await ws.send_to(bytes_data=raw)
    else:
        await ws.send_to(text_data=raw)
    sentinel = next(SENTINEL_IDS)
    await ws.send_json_to({"type": "trace", "msg": sentinel})
    got = []
    while True:
        output = await ws.receive_output(timeout=10)
        assert output["type"] == "websocket.send", f"the socket closed: {output}"
        frame = orjson.loads(output["text"])
        if frame["type"] == "trace" and frame["msg"] == sentinel:
            return got
        got.append(frame)


def exchange(user: Any, raws: list[str | bytes]) -> list[list[dict[str, Any]]]:
    async def go() -> list[list[dict[str, Any]]]:
        ws = WebsocketCommunicator(URLRouter(websocket_urlpatterns), PATH)
        ws.scope["user"] = user or AnonymousUser()
        ok, _ = await ws.connect()
        assert ok
        await ws.receive_json_from(timeout=5)
        try:
            return [await answers_to(ws, raw) for raw in raws]
        finally:
            await ws.disconnect()

    return asyncio.run(go())


def dumps(value: Any) -> str:
    # The standard library, not orjson: orjson refuses integers beyond 64 bits.
    return json.dumps(value)


def only_error(answers: list[dict[str, Any]], *fragments: str) -> dict[str, Any]:
    errors = [a for a in answers if a["type"] == "error"]
    assert len(errors) == 1, answers
    for fragment in fragments:
        assert fragment in errors[0]["error"]
    return errors[0]


def test_an_anonymous_trace_of_a_run_beyond_the_database_is_refused(shop, caplog) -> None:
    msg = str(uuid.uuid4())
    (answers,) = exchange(None, [dumps({"type": "trace", "msg": msg, "run": HUGE})])
    only_error(answers, "run")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_seed_beyond_the_database_is_refused(shop, staff, caplog) -> None:
    (answers,) = exchange(staff, [dumps({"type": "run.start", "seed": HUGE})])
    only_error(answers, "seed must be")
    assert not Run.objects.exists()


def test_a_schema_version_that_is_not_a_number_is_refused(shop, staff, running) -> None:
    bus = shop.channels.get(name="shop-bus")
    frame = {
        "type": "publish",
        "channel": bus.pk,
        "message": {"detail-type": "OrderPlaced", "detail": {}, "schema_version": "abc"},
    }
    (answers,) = exchange(staff, [dumps(frame)])
    only_error(answers, "schema_version must be an integer")


def test_a_message_nested_too_deep_is_refused(shop, staff, running) -> None:
    bus = shop.channels.get(name="shop-bus")
    deep: Any = {}
    for _ in range(100):
        deep = {"a": deep}
    frame = {"type": "publish", "channel": bus.pk, "message": {"detail": deep}}
    (answers,) = exchange(staff, [dumps(frame)])
    only_error(answers, "nests deeper than")


@pytest.mark.parametrize("value", [HUGE, 2**63, -(2**63) - 1, True, 1.5, "1"])
def test_ids_outside_the_database_range_are_refused(shop, staff, value) -> None:
    raws = [
        dumps({"type": "resume", "run": value, "after_seq": 0}),
        dumps({"type": "resume", "run": 1, "after_seq": value}),
        dumps({"type": "consumer.offline", "consumer": value}),
        dumps({"type": "redrive", "channel": value}),
    ]
    for answers in exchange(staff, raws):
        only_error(answers)


# --- generated frames ---------------------------------------------------------------------

INTS = st.integers() | st.sampled_from([0, -1, 2**31, 2**63 - 1, 2**63, HUGE, -(2**63) - 1])
SCALARS = st.none() | st.booleans() | INTS | st.floats(allow_nan=False) | st.text(max_size=20)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
KINDS = st.sampled_from(["resume", "trace", *frames.CONTROL_FRAMES]) | st.text(max_size=12)


def frame_strategy(ids: list[int]) -> st.SearchStrategy[str | bytes]:
    known = st.sampled_from(ids)
    idish = known | INTS | JSON
    message = st.fixed_dictionaries(
        {},
        optional={
            "detail-type": st.sampled_from(["OrderPlaced", "Nope"]) | JSON,
            "detail": JSON,
            "schema_version": INTS | JSON,
            "kind": st.sampled_from(["event", "command"]) | JSON,
            "id": st.uuids().map(str) | JSON,
            "attributes": JSON,
            "time": JSON,
            "source": JSON,
        },
    )
    frame = st.fixed_dictionaries(
        {"type": KINDS},
        optional={
            "run": idish,
            "after_seq": INTS | JSON,
            "msg": st.uuids().map(str) | JSON,
            "seed": INTS | JSON,
            "producer": idish,
            "consumer": idish,
            "channel": idish,
            "message": message | JSON,
        },
    )
    return (
        frame.map(dumps)
        | JSON.map(dumps)
        | st.text(min_size=1, max_size=40)
        | st.binary(min_size=1, max_size=40)
        | st.integers(1, 3000).map(
            lambda d: '{"type": "publish", "message": ' + "[" * d + "]" * d + "}"
        )
    )


@pytest.mark.parametrize("who", ["anonymous", "staff"])
def test_generated_frames_never_close_the_socket_or_log_an_error(
    shop, staff, running, who, caplog, monkeypatch
) -> None:
    monkeypatch.setattr(socket, "RATE_LIMITS", {"resume": (10**6, 10**6), "trace": (10**6, 10**6)})
    user = staff if who == "staff" else None
    ids = sorted(
        {
            running.pk,
            *shop.channels.values_list("pk", flat=True),
            *shop.consumers.values_list("pk", flat=True),
            *shop.producers.values_list("pk", flat=True),
        }
    )

    @settings(
        max_examples=40,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(st.lists(frame_strategy(ids), min_size=1, max_size=8))
    def check(raws: list[str | bytes]) -> None:
        # Keep a run running, so that publish reaches the envelope (a run.stop ends it).
        if services.running_run(shop) is None:
            Run.objects.create(topology=shop, seed=1)
        caplog.clear()
        with caplog.at_level(logging.ERROR):
            exchange(user, raws)
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert not errors, [r.getMessage() for r in errors]

    check()
