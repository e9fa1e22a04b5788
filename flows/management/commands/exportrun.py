from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from flows.models import Run
from flows.recorder.exports import hop_pages


class Command(BaseCommand):
    help = (
        "Write every hop of a run as JSON Lines (one hop with its detail per line, in seq "
        "order), streamed page by page."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("run", type=int, help="the run's id")
        parser.add_argument("--output", "-o", help="a file to write (default: standard output)")

    def handle(self, *args: Any, run: int, output: str | None, **options: Any) -> None:
        if not Run.objects.filter(pk=run).exists():
            raise CommandError(f"No run {run}")
        if output is None:
            out = getattr(self.stdout, "_out", sys.stdout)
            binary = getattr(out, "buffer", None)
            for chunk in hop_pages(run):
                if binary is not None:
                    binary.write(chunk)
                else:
                    out.write(chunk.decode())
            out.flush()
            return
        count = 0
        with open(output, "wb") as f:
            for chunk in hop_pages(run):
                f.write(chunk)
                count += chunk.count(b"\n")
        self.stderr.write(f"{count} hops of run {run} written to {output}")
