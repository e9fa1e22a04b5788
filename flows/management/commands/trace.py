from __future__ import annotations

import uuid
from typing import Any

import orjson
from django.core.management.base import BaseCommand, CommandError, CommandParser

from flows import live, selectors


class Command(BaseCommand):
    help = (
        "Print every hop of a message, one JSON object per line (node and edge ids with "
        "their names)."
    )

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
        labels = selectors.node_labels(
            value for hop in hops for value in (hop.from_node, hop.to_node, hop.edge)
        )
        for hop in hops:
            line = live.hop_from_row(hop)
            # The ids stay (they are the hop's contract); the names say what they are.
            names = {
                f"{key}_name": labels.get(line[key], line[key])
                for key in ("from", "to", "edge")
                if line[key]
            }
            line = {**line, **names, "detail": hop.detail}
            self.stdout.write(orjson.dumps(line).decode())
