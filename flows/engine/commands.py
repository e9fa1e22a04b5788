"""Commands from outside a run (publish, redrive, replay): their format and their queue.

Services never write to a run's inbox themselves: they build a command here and
``enqueue_command`` it; the engine's inbox phase reads it back with ``parse_command``.
A command is applied at the run's next tick, by whichever worker holds the lease.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import redis

from flows.engine.keys import RunKeys


@dataclass(frozen=True)
class Publish:
    """Put a message (a full envelope) into a channel."""

    channel: int
    envelope: dict[str, Any]
    frm: str = "client"  # the node the message comes from

    op = "publish"


@dataclass(frozen=True)
class Redrive:
    """Move what a dead-letter queue holds back to the queues it came from."""

    queue: int

    op = "redrive"


@dataclass(frozen=True)
class Replay:
    """Send a bus's archived events of [start, end] (Redis time, ms) back into it."""

    bus: int
    start: int
    end: int

    op = "replay"


Command = Publish | Redrive | Replay


def encode(command: Command) -> bytes:
    if isinstance(command, Publish):
        body: dict[str, Any] = {
            "channel": command.channel,
            "envelope": command.envelope,
            "from": command.frm,
        }
    elif isinstance(command, Redrive):
        body = {"queue": command.queue}
    else:
        body = {"bus": command.bus, "start": command.start, "end": command.end}
    return orjson.dumps({"op": command.op, **body})


def parse_command(raw: bytes | str) -> Command:
    """A queued command back; ValueError (or KeyError, TypeError) when it is malformed."""
    data = orjson.loads(raw)
    op = data["op"]
    if op == "publish":
        envelope = data["envelope"]
        if not isinstance(envelope, dict):
            raise ValueError("a published envelope is a JSON object")
        return Publish(int(data["channel"]), envelope, str(data.get("from") or "client"))
    if op == "redrive":
        return Redrive(int(data["queue"]))
    if op == "replay":
        return Replay(int(data["bus"]), int(data["start"]), int(data["end"]))
    raise ValueError(f"unknown command {op!r}")


def enqueue_command(client: redis.Redis, run_id: int, command: Command) -> None:
    """Queue a command for a run's next tick."""
    client.rpush(RunKeys(run_id).inbox, encode(command))
