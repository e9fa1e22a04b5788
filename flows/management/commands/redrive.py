from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from flows import services
from flows.management.commands._base import topology_or_error


class Command(BaseCommand):
    help = "Move the messages of a dead-letter queue back to the queues they failed in."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--queue", required=True, help="The dead-letter queue's name.")

    def handle(self, *args: Any, slug: str, queue: str, **options: Any) -> None:
        topology = topology_or_error(slug)
        channel = topology.channels.filter(name=queue).first()
        if channel is None:
            raise CommandError(f"No channel {queue!r} in {slug}")
        try:
            services.queue_redrive(topology=topology, queue=channel)
        except services.ServiceError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Redrive of {queue} queued")
