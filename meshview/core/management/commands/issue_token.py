from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from meshview.core import actions
from meshview.core.models import SCOPES


class Command(BaseCommand):
    help = "Issue an API token and print it (for Authorization: Bearer). It is shown only once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="a name to recognise the token by, e.g. fluent-bit-prod")
        parser.add_argument(
            "--scopes", default="read", help=f"comma-separated scopes among {', '.join(SCOPES)} (default: read)"
        )
        parser.add_argument("--namespaces", help="comma-separated namespaces the token may read in full (default: all)")

    def handle(self, *args: Any, **options: Any) -> None:
        scopes = [s.strip() for s in options["scopes"].split(",") if s.strip()]
        namespaces = (
            None
            if options["namespaces"] is None
            else [n.strip() for n in options["namespaces"].split(",") if n.strip()]
        )
        try:
            _, raw = actions.issue_token(options["name"], scopes, namespaces)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(raw)
