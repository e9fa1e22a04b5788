from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from flows.aws import credentials
from flows.management.commands._base import topology_or_error


class Command(BaseCommand):
    help = (
        "Issue an API key for a topology's AWS-compatible endpoint (/aws) and print the "
        "variables to export; the secret is not retrievable later."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--user", help="Username the key is issued to.")
        parser.add_argument("--read-only", action="store_true", help="List/Get/Describe only.")
        parser.add_argument("--account", help="12-digit account id (default: per topology).")
        parser.add_argument("--region", default="us-east-1")
        parser.add_argument(
            "--endpoint", default="http://127.0.0.1:8000/aws", help="Where EventViz answers."
        )

    def handle(self, *args: Any, slug: str, **options: Any) -> None:
        topology = topology_or_error(slug)
        user = None
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"No user {options['user']!r}")
        try:
            key, secret = credentials.apikey_issue(
                topology=topology,
                user=user,
                read_only=options["read_only"],
                account_id=options["account"],
                description="issued by manage.py apikey",
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        scope = "read-only" if key.read_only else "read-write"
        self.stderr.write(f"New {scope} key for {slug} (account {key.account_id}):")
        for line in credentials.env_lines(
            endpoint_url=options["endpoint"], key=key, secret=secret, region=options["region"]
        ):
            self.stdout.write(line)
