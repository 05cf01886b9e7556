import asyncio
import ipaddress
import logging
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, NoReturn

import uvicorn
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from meshview.core.actions import issue_token
from meshview.core.models import ApiToken
from meshview.demo.feed import DEFAULT_RATE, Feeder, QuietFeed

DEMO_TOKEN_NAME = "serve --demo"  # noqa: S105  (a token's name, not its secret)


def is_loopback(host: str) -> bool:
    """Return True when `host` (an address or `localhost`) only accepts local connections."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def anonymous_mode(host: str) -> tuple[bool, str]:
    """Whether anonymous access is on when bound to `host` (MESHVIEW_ANONYMOUS decides first,
    then whether `host` is a loopback address), and the sentence that says so."""
    if settings.MESHVIEW_ANONYMOUS == "1":
        return True, "Anonymous access: on for every request, through reverse proxies too (MESHVIEW_ANONYMOUS=1)."
    if settings.MESHVIEW_ANONYMOUS == "0":
        return False, "Anonymous access: off (MESHVIEW_ANONYMOUS=0): the API and UI need a session or an API token."
    if is_loopback(host):
        return True, (
            f"Anonymous access: on for direct connections to {host}; requests through a reverse proxy "
            "(X-Forwarded-For, Forwarded, X-Real-IP) need a session or an API token (MESHVIEW_ANONYMOUS=1 allows them)."
        )
    return False, f"Anonymous access: off: bound to {host}, the API and UI need a session or an API token."


def answering_host(host: str) -> str:
    """The host of a URL that reaches a server bound to `host` (loopback for every address),
    with brackets around an IPv6 address."""
    local = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)  # noqa: S104
    return f"[{local.strip('[]')}]" if ":" in local else local


def check_services() -> None:
    """Raise CommandError, naming the variable, when a configured service cannot be reached."""
    try:
        connection.ensure_connection()
    except Exception as exc:
        raise CommandError(f"DATABASE_URL: cannot connect to the database: {exc}") from None
    if settings.REDIS_URL:
        import redis

        try:
            redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=3).ping()
        except redis.RedisError as exc:
            raise CommandError(f"REDIS_URL: cannot reach Redis at {settings.REDIS_URL}: {exc}") from None


def _exit_on_sigterm(signum: int, frame: Any) -> NoReturn:
    # Turn SIGTERM into SystemExit so the embedded worker is stopped on the way out.
    sys.exit(0)


def embedded_worker_command(schedule: Path) -> list[str]:
    """The Celery worker, with beat inside it, that `serve` runs when there is no Redis."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "meshview",
        "worker",
        "--beat",
        "--pool",
        "threads",
        "--concurrency",
        "2",
        "--loglevel",
        "INFO",
        "--hostname",
        "embedded@%h",
        "--schedule",
        str(schedule),
    ]


class PeerServer(uvicorn.Server):
    """A uvicorn server that stops its peers too: each server installs the same signal
    handlers, and only the last one's would otherwise see Ctrl-C or SIGTERM."""

    peers: list["PeerServer"]

    def handle_exit(self, sig: int, frame: Any) -> None:
        for server in self.peers:
            uvicorn.Server.handle_exit(server, sig, frame)


async def _serve_all(servers: list[PeerServer]) -> None:
    await asyncio.gather(*(server.serve() for server in servers))


class Command(BaseCommand):
    help = (
        "Run meshview: apply migrations, then serve HTTP and websockets; without REDIS_URL also run "
        "a Celery worker and beat alongside, so one command runs everything."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
        parser.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000)")
        parser.add_argument("--no-worker", action="store_true", help="do not start the embedded Celery worker and beat")
        parser.add_argument(
            "--otlp-http-port", type=int, help="also serve OTLP/HTTP POST /v1/traces on this port (4318)"
        )
        parser.add_argument("--otlp-grpc-port", type=int, help="also serve OTLP/gRPC on this port (4317)")
        parser.add_argument(
            "--demo",
            action="store_true",
            help="also feed a simulated Bookinfo mesh's access logs and spans through the ingest endpoints",
        )
        parser.add_argument(
            "--demo-rate",
            type=float,
            default=DEFAULT_RATE,
            help=f"page views per second of the demo mesh (default {DEFAULT_RATE:g})",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        host, port = options["host"], options["port"]
        check_services()
        call_command("migrate", interactive=False, verbosity=0)
        settings.MESHVIEW_ANONYMOUS_ACCESS, mode = anonymous_mode(host)
        self.stdout.write(mode)
        shown = answering_host(host)
        allowed = [h.strip("[]") for h in settings.ALLOWED_HOSTS]
        if shown.strip("[]") not in allowed and "*" not in allowed:
            # The address serve is told to bind is one meshview answers to.
            settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, shown]
        worker = None if settings.REDIS_URL or options["no_worker"] else self._start_worker()
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
        self.stdout.write(f"meshview on http://{shown}:{port}/ (API docs at /api/docs/); Ctrl-C stops it")
        servers = [
            PeerServer(
                uvicorn.Config(
                    "meshview.asgi:application",
                    host=host,
                    port=port,
                    lifespan="off",
                    log_level="info",
                    timeout_graceful_shutdown=5,
                )
            )
        ]
        if options["otlp_http_port"]:
            servers.append(
                PeerServer(
                    uvicorn.Config(
                        "meshview.asgi:otlp_application",
                        host=host,
                        port=options["otlp_http_port"],
                        lifespan="off",
                        log_level="info",
                    )
                )
            )
            self.stdout.write(f"OTLP/HTTP on http://{shown}:{options['otlp_http_port']}/v1/traces")
        grpc_server = None
        if options["otlp_grpc_port"]:
            from meshview.traces.grpc_server import start_grpc_server

            grpc_server = start_grpc_server(host, options["otlp_grpc_port"])
            self.stdout.write(f"OTLP/gRPC on {shown}:{options['otlp_grpc_port']}")
        for server in servers:
            server.peers = servers
        feeder = self._start_demo(host, port, options["demo_rate"]) if options["demo"] else None
        try:
            asyncio.run(_serve_all(servers))
        except KeyboardInterrupt:
            pass
        finally:
            if feeder is not None:
                feeder.stop.set()
            if grpc_server is not None:
                grpc_server.stop(grace=5).wait()
            if worker is not None:
                self._stop_worker(worker)

    def _start_demo(self, host: str, port: int, rate: float) -> Feeder:
        if rate <= 0:
            raise CommandError("--demo-rate must be above 0")
        token = None
        if not settings.MESHVIEW_ANONYMOUS_ACCESS:
            # The feeder posts like any shipper: with its own ingest token, replaced on each start.
            ApiToken.objects.filter(name=DEMO_TOKEN_NAME).delete()
            token = issue_token(DEMO_TOKEN_NAME, ["ingest"])[1]
        # The feeder reaches the server on loopback when it listens on every address.
        feeder = Feeder(f"http://{answering_host(host)}:{port}", rate, token)
        logging.getLogger("uvicorn.access").addFilter(QuietFeed())
        feeder.start()
        self.stdout.write(f"Demo mesh: a Bookinfo mesh sends {rate:g} page views per second")
        return feeder

    def _start_worker(self) -> subprocess.Popen:
        self.stdout.write("Starting the embedded Celery worker and beat")
        return subprocess.Popen(embedded_worker_command(settings.MESHVIEW_DATA_DIR / "celerybeat-schedule"))

    def _stop_worker(self, worker: subprocess.Popen) -> None:
        if worker.poll() is None:
            worker.terminate()
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
