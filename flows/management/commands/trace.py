from __future__ import annotations

import uuid
from typing import Any

import orjson
from django.core.management.base import BaseCommand, CommandError, CommandParser

from flows import selectors
from flows.live import frames


class Command(BaseCommand):
    help = "Print every hop of a message, one JSON object per line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("msg_id")

    def handle(self, *args: Any, msg_id: str, **options: Any) -> None:
        try:
            uuid.UUID(msg_id)
        except ValueError:
            raise CommandError(f"{msg_id!r} is not a message id (a UUID)") from None
        hops = selectors.message_trace(msg_id)
        if not hops:
            raise CommandError(f"No hops recorded for message {msg_id}")
        for hop in hops:
            self.stdout.write(orjson.dumps(frames.traced_hop(hop)).decode())
