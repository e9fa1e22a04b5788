from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from flows.formats.exports import EXPORTERS, export_text
from flows.models import Topology


class Command(BaseCommand):
    help = "Print a topology as an AsyncAPI 3.0 document, a CloudFormation template or Mermaid."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--format", required=True, choices=sorted(EXPORTERS))

    def handle(self, *args: Any, slug: str, format: str, **options: Any) -> None:
        topology = Topology.objects.filter(slug=slug).first()
        if topology is None:
            raise CommandError(f"no topology {slug!r}")
        self.stdout.write(export_text(topology, format), ending="")
