from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from flows import services
from flows.management.commands._base import topology_or_error


class Command(BaseCommand):
    help = (
        "Publish one message into a channel of the running run, like `aws events put-events`. "
        "--json takes a detail object, or an envelope with detail-type/detail/attributes."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--channel", required=True, help="Channel name, e.g. shop-bus.")
        parser.add_argument("--json", required=True, dest="payload", help="The message as JSON.")

    def handle(self, *args: Any, slug: str, channel: str, payload: str, **options: Any) -> None:
        topology = topology_or_error(slug)
        try:
            data = json.loads(payload)
        except json.JSONDecodeError as exc:
            raise CommandError(f"--json is not valid JSON: {exc}") from None
        try:
            message_id = services.message_publish(
                topology=topology, channel_name=channel, data=data
            )
        except services.ServiceError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(message_id)
