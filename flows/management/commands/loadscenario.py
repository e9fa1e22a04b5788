from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from flows.formats.scenario import ScenarioError, scenario_load_file


class Command(BaseCommand):
    help = "Create or update a topology from a scenario YAML file (a path, or a shipped name)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("scenarios", nargs="+", metavar="PATH|NAME")

    def handle(self, *args: Any, scenarios: list[str], **options: Any) -> None:
        for name in scenarios:
            try:
                topology = scenario_load_file(name)
            except ScenarioError as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(f"Loaded {topology.slug} ({topology.name})")
