from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from flows import services
from flows.management.commands._base import topology_or_error


class Command(BaseCommand):
    help = (
        "Check the accounting law on the topology's latest run: every copy is processed, "
        "dead-lettered, filtered, unmatched or still in flight. Exit status 1 when broken."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")

    def handle(self, *args: Any, slug: str, **options: Any) -> None:
        topology = topology_or_error(slug)
        run = topology.runs.order_by("-started_at").first()
        if run is None:
            raise CommandError(f"{slug} has never run")
        counters = services.run_counters(run=run)
        self.stdout.write(json.dumps(counters["totals"], sort_keys=True))
        errors = services.accounting_errors(counters)
        if errors:
            raise CommandError("accounting law broken: " + "; ".join(errors), returncode=1)
        self.stdout.write(self.style.SUCCESS(f"run {run.pk}: the accounting law holds"))
