from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from flows.formats.scenario import scenario_dump_yaml
from flows.models import Topology


class Command(BaseCommand):
    help = "Print a topology as scenario YAML (loadscenario reads it back)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")

    def handle(self, *args: Any, slug: str, **options: Any) -> None:
        topology = Topology.objects.filter(slug=slug).first()
        if topology is None:
            raise CommandError(f"No topology with slug {slug!r}")
        self.stdout.write(scenario_dump_yaml(topology), ending="")
