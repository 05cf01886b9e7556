import signal
import sys
import time
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError, CommandParser

from meshview.envoy.parser import LogParser
from meshview.mesh import actions
from meshview.mesh.identity import Reporter, cluster_from_params, reporter_from_params
from meshview.mesh.models import TailOffset
from meshview.mesh.tail import Follower

BATCH_LINES = 5000
MAX_ERRORS_SHOWN = 20


def _batches(stream: Iterable[str]) -> Iterator[list[str]]:
    iterator = iter(stream)
    while batch := list(islice(iterator, BATCH_LINES)):
        yield batch


class Command(BaseCommand):
    help = (
        "Ingest access-log files (or - for stdin) the same way as POST /api/v1/ingest/envoy. "
        "--follow tails a growing file across rotation and resumes from its saved offset."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", metavar="FILE", help="log files, or - for stdin")
        parser.add_argument("--follow", action="store_true", help="keep reading as the file grows (one FILE)")
        parser.add_argument(
            "--format", default="auto", help="auto (default), a built-in layout, json, or a format string"
        )
        parser.add_argument("--ndjson", action="store_true", help="lines are JSON envelopes or Istio JSON records")
        for name in ("namespace", "pod", "workload", "app", "role"):
            parser.add_argument(f"--{name}", default="", help=f"reporter {name}, for lines without an envelope")
        parser.add_argument("--cluster", default="", help="the cluster of every proxy of the files (default: home)")
        # --version is Django's own option.
        parser.add_argument("--app-version", dest="version", default="", help="reporter version")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            self.log_parser = LogParser(options["format"])
            self.reporter: Reporter | None = reporter_from_params(
                {k: options[k] for k in ("namespace", "pod", "workload", "app", "version", "role")}
            )
            self.cluster = cluster_from_params({"cluster": options["cluster"]})
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.kind = "ndjson" if options["ndjson"] else "text"
        self.totals = {"lines": 0, "accepted": 0, "rejected": 0}
        self.errors_shown = 0
        self.started = time.monotonic()
        self.progress = sys.stderr.isatty()
        files = options["files"]
        if options["follow"]:
            if len(files) != 1 or files[0] == "-":
                raise CommandError("--follow takes exactly one file (not stdin)")
            self._follow(files[0])
        else:
            for path in files:
                self._ingest_file(path)
        self._report(final=True)

    def _ingest_file(self, path: str) -> None:
        try:
            stream: TextIO = sys.stdin if path == "-" else open(path, encoding="utf-8", errors="replace")  # noqa: SIM115
        except OSError as exc:
            raise CommandError(f"{path}: {exc.strerror}") from None
        with stream:
            first = 1
            for batch in _batches(stream):
                self._ingest(batch, first, path)
                first += len(batch)

    def _follow(self, path: str) -> None:
        saved = TailOffset.objects.filter(path=path).first()
        follower = Follower(path, saved.inode if saved else None, saved.offset if saved else 0)
        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            for batch in follower.follow(BATCH_LINES, lambda: stopping):
                self._ingest(batch, self.totals["lines"] + 1, path)
                # Saved after the batch is written: a restart neither loses nor repeats lines.
                TailOffset.objects.update_or_create(
                    path=path, defaults={"inode": follower.inode, "offset": follower.offset}
                )
        finally:
            follower.close()

    def _ingest(self, lines: list[str], first_line: int, source: str) -> None:
        answer = actions.ingest_envoy_lines(lines, self.kind, self.log_parser, self.reporter, first_line, self.cluster)
        self.totals["lines"] += len(lines)
        self.totals["accepted"] += answer["accepted"]
        self.totals["rejected"] += answer["rejected"]
        for error in answer["errors"]:
            if self.errors_shown < MAX_ERRORS_SHOWN:
                self.stderr.write(f"{source}:{error['line']}: {error['error']}")
                self.errors_shown += 1
        self._report()

    def _report(self, final: bool = False) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        text = (
            f"{self.totals['lines']} lines, {self.totals['lines'] / elapsed:,.0f} lines/s, "
            f"{self.totals['accepted']} accepted, {self.totals['rejected']} rejected"
        )
        if final:
            if self.progress:
                sys.stderr.write("\r\033[K")
            self.stdout.write(text)
        elif self.progress:
            sys.stderr.write("\r\033[K" + text)
            sys.stderr.flush()
