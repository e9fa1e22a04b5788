from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from flows.formats.asyncapi import MAX_DOCUMENT_BYTES, asyncapi_import


class Command(BaseCommand):
    help = (
        "Create or update a topology from an AsyncAPI 2.x or 3.0 document (YAML or JSON) "
        "and print the import report. Exit 0 when a topology was imported, 1 when nothing was."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("document", metavar="DOC")
        parser.add_argument("--slug", help="The topology's slug (default: the file's name).")

    def handle(self, *args: Any, document: str, slug: str | None, **options: Any) -> None:
        path = Path(document)
        if not path.is_file():
            raise CommandError(f"{document}: no such file")
        if path.stat().st_size > MAX_DOCUMENT_BYTES:
            raise CommandError(f"{path.name}: larger than {MAX_DOCUMENT_BYTES:,} bytes")
        report = asyncapi_import(text=path.read_bytes(), origin=path.name, slug=slug)
        self.stdout.write(report.text(), ending="")
        if not report.ok:
            sys.exit(1)
