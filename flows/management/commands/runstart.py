from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from flows import services
from flows.management.commands._base import topology_or_error


class Command(BaseCommand):
    help = "Start a run of a topology (a Celery worker drives it)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--seed", type=int, help="Same seed, same messages.")

    def handle(self, *args: Any, slug: str, seed: int | None, **options: Any) -> None:
        topology = topology_or_error(slug)
        try:
            run = services.run_start(topology=topology, seed=seed)
        except services.ServiceError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Started run {run.pk} of {slug} (seed {run.seed})")
