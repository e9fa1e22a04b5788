from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from flows import services
from flows.management.commands._base import topology_or_error


class Command(BaseCommand):
    help = "Stop the running run of a topology."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")

    def handle(self, *args: Any, slug: str, **options: Any) -> None:
        run = services.running_run(topology_or_error(slug))
        if run is None:
            raise CommandError(f"{slug} has no running run")
        services.run_stop(run=run)
        totals = run.counters["totals"]
        self.stdout.write(
            f"Stopped run {run.pk}: {totals['published']} published, "
            f"{totals['processed']} processed, {totals['in_flight']} in flight"
        )
