import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from meshview.envoy.parser import LogParser


class Command(BaseCommand):
    help = (
        "Parse Envoy/Istio access-log lines and print NDJSON, one object per input line in order: "
        'the canonical record, or {"line": N, "error": "..."}.'
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="a log file, or - for stdin")
        parser.add_argument(
            "--format", default="auto", help="auto (default), envoy, istio-1.0 ... istio-1.24, json, or a format string"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            log_parser = LogParser(options["format"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        path = options["file"]
        try:
            stream = sys.stdin if path == "-" else open(path, encoding="utf-8", errors="replace")  # noqa: SIM115
        except OSError as exc:
            raise CommandError(f"{path}: {exc.strerror}") from None
        out = self.stdout
        with stream:
            for number, record, error in log_parser.parse_lines(stream):
                out.write(json.dumps(record if error is None else {"line": number, "error": error}))
