from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from flows.formats.cloudformation import MAX_TEMPLATE_BYTES, cfn_import


class Command(BaseCommand):
    help = (
        "Create or update a topology from a CloudFormation or SAM template (YAML or JSON) "
        "and print the import report. Exit 0 when a topology was imported, 1 when nothing was."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("template", metavar="TEMPLATE")
        parser.add_argument("--slug", help="The topology's slug (default: the file's name).")
        parser.add_argument(
            "--param",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="A parameter value, overriding its default (repeatable).",
        )

    def handle(
        self, *args: Any, template: str, slug: str | None, param: list[str], **options: Any
    ) -> None:
        params: dict[str, str] = {}
        for item in param:
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise CommandError(f"--param {item!r}: expected KEY=VALUE")
            params[key] = value
        path = Path(template)
        if not path.is_file():
            raise CommandError(f"{template}: no such file")
        if path.stat().st_size > MAX_TEMPLATE_BYTES:
            raise CommandError(f"{path.name}: larger than {MAX_TEMPLATE_BYTES:,} bytes")
        report = cfn_import(text=path.read_bytes(), origin=path.name, slug=slug, params=params)
        self.stdout.write(report.text(), ending="")
        if not report.ok:
            sys.exit(1)
