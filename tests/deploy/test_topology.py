"""meshview's production topology, run on one machine with the real parts: Debian's nginx in front
of the web processes (uvicorn), a Celery worker, Celery beat, Redis and PostgreSQL.

What runs comes from docker/compose.yaml: the commands of the migrate, web, worker and beat
services, the number of web replicas, the environment they get, and nginx's site
(docker/nginx/meshview.conf, which compose mounts). Only what must differ on one machine is
rewritten: addresses and ports on 127.0.0.1, the data directory, this run's databases.
"""

import itertools
import json
import os
import pwd
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from django.conf import settings
from django.db import connections
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from meshview.alerts import models as alerts
from meshview.core import actions as core_actions
from meshview.mesh.models import PendingRequest
from meshview.traces.models import Span, SpanHalf
from tests import meshsim
from tests.alerts.receiver import running
from tests.alerts.traffic import calls
from tests.conftest import ROOT, database_url, free_port, wait_for_http
from tests.graph import spansim
from tests.meshsim import DETAILS, PRODUCTPAGE, RATINGS, REVIEWS, SERVICES, Call

COMPOSE = ROOT / "docker" / "compose.yaml"
NGINX = "/usr/sbin/nginx"
CONTAINER_DATA_DIR = "/var/lib/meshview"  # the Dockerfile's MESHVIEW_DATA_DIR
SETTLE_SECONDS = 4  # MESHVIEW_SETTLE_SECONDS
SPAN_PAIR_SECONDS = 4  # MESHVIEW_SPAN_PAIR_SECONDS
T = TypeVar("T")
GRAPH_PATH = "/ws/graph/?namespaces=bookinfo&graphType=workload&duration=5m&sources=accesslogs"
GRAPH_PAGE = "/graph?namespaces=bookinfo&graphType=workload&duration=300s&injectServiceNodes=false&sources=accesslogs"


@dataclass
class Topology:
    """The processes docker/compose.yaml runs, as commands and the environment they share."""

    migrate: list[str]
    web: list[str]
    web_replicas: int
    worker: list[str]
    beat: list[str]
    environment: dict[str, str]
    nginx_site: Path  # the file of locations nginx's site includes


def read_compose() -> Topology:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    nginx_mounts = dict(volume.rsplit(":", 2)[:2] for volume in services["nginx"]["volumes"])
    (site,) = (host for host, target in nginx_mounts.items() if target == "/etc/nginx/conf.d/default.conf")
    (included,) = re.findall(r"^\s*include\s+(\S+);", (COMPOSE.parent / site).read_text(), re.MULTILINE)
    (locations,) = (host for host, target in nginx_mounts.items() if target == included)
    return Topology(
        migrate=services["migrate"]["command"],
        web=services["web"]["command"],
        web_replicas=services["web"]["deploy"]["replicas"],
        worker=services["worker"]["command"],
        beat=services["beat"]["command"],
        environment=services["web"]["environment"],
        nginx_site=(COMPOSE.parent / locations).resolve(),
    )


def test_compose_describes_the_topology_the_test_runs() -> None:
    """The shape the README's production section promises, read from compose itself."""
    compose = yaml.safe_load(COMPOSE.read_text())
    services = compose["services"]
    topology = read_compose()
    assert topology.web[:2] == ["uvicorn", "meshview.asgi:application"]
    assert topology.web_replicas == 2
    assert topology.worker[:4] == ["celery", "-A", "meshview", "worker"]
    assert topology.beat[:4] == ["celery", "-A", "meshview", "beat"]
    assert topology.migrate == ["meshview", "migrate", "--noinput"]
    # Every meshview process shares one environment; web, worker and beat wait for the migrations.
    for name in ("web", "worker", "beat"):
        assert services[name]["environment"] == topology.environment
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert topology.environment["DATABASE_URL"].startswith("postgresql://")
    assert topology.environment["REDIS_URL"].startswith("redis://")
    # nginx's upstream is the web service on the port its command binds.
    site = (COMPOSE.parent / "nginx" / "compose.conf").read_text()
    web_port = topology.web[topology.web.index("--port") + 1]
    assert re.findall(r"^\s*server\s+(\S+);", site, re.MULTILINE) == [f"web:{web_port}"]
    assert services["nginx"]["depends_on"] == {"web": {"condition": "service_healthy"}}
    assert topology.nginx_site == ROOT / "docker" / "nginx" / "meshview.conf"


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: Path
    port: int = 0

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass
class Deployment:
    """The running topology: nginx's URL, the processes, and a token and session to use it."""

    tmp: Path
    url: str = ""
    processes: list[Process] = field(default_factory=list)
    token: str = ""
    session: str = ""
    sockets: ExitStack = field(default_factory=ExitStack)

    @property
    def webs(self) -> list[Process]:
        return [p for p in self.processes if p.name.startswith("web")]

    def by_name(self, name: str) -> Process:
        (process,) = (p for p in self.processes if p.name == name)
        return process

    def start(self, name: str, command: list[str], env: dict[str, str], port: int = 0) -> Process:
        log = self.tmp / f"{name}.log"
        with log.open("w") as out:
            popen = subprocess.Popen(command, cwd=self.tmp, env=env, stdout=out, stderr=subprocess.STDOUT)
        process = Process(name, popen, log, port)
        self.processes.append(process)
        return process

    def logs(self) -> str:
        """Every process's output, for the message of a failed assertion."""
        return "\n".join(f"----- {p.name} -----\n{p.output()[-4000:]}" for p in self.processes)

    def wait_for_log(self, process: Process, pattern: str, timeout: float = 60) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, process.output())
            if found:
                return found
            assert process.popen.poll() is None, f"{process.name} exited:\n{self.logs()}"
            time.sleep(0.2)
        pytest.fail(f"{process.name} never logged {pattern!r} within {timeout} s:\n{self.logs()}")

    def wait_for_http(self, url: str, process: Process) -> None:
        try:
            wait_for_http(url, process.popen)
        except pytest.fail.Exception as failed:
            pytest.fail(f"{failed}\n{self.logs()}")

    def post(self, path: str, body: bytes, content_type: str) -> tuple[int, str]:
        """POST through nginx with the ingest token; return the status and the web process that answered."""
        request = urllib.request.Request(
            self.url + path,
            data=body,
            headers={"Content-Type": content_type, "Authorization": f"Bearer {self.token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                return response.status, upstream(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, upstream(error.headers)

    def ingest(self, calls: list[Call], sides: str = "both") -> str:
        """Send the calls' access logs through nginx; return the web process that took them."""
        body = "\n".join(meshsim.envoy_envelopes(calls, sides)).encode()
        status, web = self.post("/api/v1/ingest/envoy", body, "application/x-ndjson")
        assert status == 200, f"ingest answered {status}:\n{self.logs()}"
        return web

    def graph_socket(self) -> tuple[ClientConnection, str]:
        """A live graph socket through nginx, with the web process nginx gave it."""
        socket = self.sockets.enter_context(
            connect(
                self.url.replace("http://", "ws://") + GRAPH_PATH,
                origin=self.url,
                additional_headers={"Cookie": f"sessionid={self.session}"},
                open_timeout=15,
            )
        )
        assert socket.response is not None
        return socket, upstream(socket.response.headers)


def upstream(headers: Any) -> str:
    """The web process (host:port) nginx's answer came from: the last one it tried."""
    value = headers.get("X-Upstream")
    assert value, "nginx's answer names no upstream"
    return value.split(",")[-1].strip()


def local_command(command: list[str], data_dir: Path, port: int = 0) -> list[str]:
    """A compose command as it runs here: this environment's executables, loopback addresses,
    `port` for --port, and the data directory in place of the container's."""
    local = [str(Path(sys.executable).parent / command[0])]
    for previous, argument in itertools.pairwise(command):
        if previous == "--host":
            argument = "127.0.0.1"
        elif previous == "--port":
            argument = str(port)
        elif argument.startswith(CONTAINER_DATA_DIR):
            argument = str(data_dir) + argument.removeprefix(CONTAINER_DATA_DIR)
        local.append(argument)
    return local


def nginx_conf(tmp: Path, port: int, webs: list[int], site: Path) -> Path:
    """nginx's main configuration for this run: its own pid, logs and temporary paths, the web
    processes as the upstream, and compose's site. X-Upstream tells the test which process answered."""
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""
    temp_paths = "\n".join(
        f"    {kind}_temp_path {tmp / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    servers = "\n".join(f"        server 127.0.0.1:{web};" for web in webs)
    conf = tmp / "nginx.conf"
    conf.write_text(
        f"""{user}
daemon off;
worker_processes 1;
pid {tmp / "nginx.pid"};
error_log stderr info;
events {{ worker_connections 1024; }}
http {{
    access_log {tmp / "access.log"};
{temp_paths}
    upstream meshview_web {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        add_header X-Upstream $upstream_addr always;
        include {site};
    }}
}}
"""
    )
    return conf


@pytest.fixture
def deployment(tmp_path: Path, redis_url: str, django_user_model: Any) -> Iterator[Deployment]:
    if not os.access(NGINX, os.X_OK):
        pytest.skip(f"{NGINX} is not installed (apt-get install nginx)")
    from django.test import Client

    topology = read_compose()
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    here = {
        "DATABASE_URL": database_url(),
        "REDIS_URL": redis_url,
        "MESHVIEW_SECRET_KEY": settings.SECRET_KEY,
        "MESHVIEW_ALLOWED_HOSTS": "127.0.0.1",
    }
    assert set(topology.environment) == set(here), "compose sets a variable this test does not know"
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("MESHVIEW_") and k not in here}
    env = {
        **inherited,
        **here,
        "MESHVIEW_DATA_DIR": str(data_dir),
        "MESHVIEW_SETTLE_SECONDS": str(SETTLE_SECONDS),
        "MESHVIEW_SPAN_PAIR_SECONDS": str(SPAN_PAIR_SECONDS),
        "MESHVIEW_ALERT_INTERVAL": "1",
        "MESHVIEW_WEBHOOK_ALLOW_PRIVATE": "1",  # the test's receiver listens on 127.0.0.1
    }

    deployment = Deployment(tmp_path)
    migrate = subprocess.run(
        local_command(topology.migrate, data_dir), env=env, capture_output=True, text=True, timeout=120
    )
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    try:
        for i in range(topology.web_replicas):
            port = free_port()
            deployment.start(f"web-{i}", local_command(topology.web, data_dir, port), env, port)
        worker = deployment.start("worker", local_command(topology.worker, data_dir), env)
        beat = deployment.start("beat", local_command(topology.beat, data_dir), env)
        nginx_port = free_port()
        conf = nginx_conf(tmp_path, nginx_port, [w.port for w in deployment.webs], topology.nginx_site)
        deployment.start("nginx", [NGINX, "-p", str(tmp_path), "-c", str(conf), "-e", "stderr"], env)
        deployment.url = f"http://127.0.0.1:{nginx_port}"
        for web in deployment.webs:
            deployment.wait_for_http(f"http://127.0.0.1:{web.port}/healthz", web)
        deployment.wait_for_http(f"{deployment.url}/healthz", deployment.by_name("nginx"))
        deployment.wait_for_log(worker, r"celery@\S+ ready")
        deployment.wait_for_log(beat, r"beat: Starting")

        _, deployment.token = core_actions.issue_token("topology", ["ingest", "read"])
        client = Client()
        client.force_login(django_user_model.objects.create_user("operator", password=uuid.uuid4().hex))
        deployment.session = client.cookies["sessionid"].value
        with deployment.sockets:
            yield deployment
    finally:
        for process in reversed(deployment.processes):
            if process.popen.poll() is None:
                process.popen.send_signal(signal.SIGTERM)
        for process in deployment.processes:
            try:
                process.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.popen.kill()
                process.popen.wait()


def edge_targets(message: dict[str, Any]) -> set[str]:
    """The destinations of the edges a snapshot holds or a delta adds or changes."""
    if message["type"] == "graph.snapshot":
        edges = message["graph"]["elements"]["edges"]
    elif message["type"] == "graph.delta":
        edges = message["edges"]["added"] + message["edges"]["changed"]
    else:
        return set()
    return {edge["data"]["target"] for edge in edges}


def receive_edges(socket: ClientConnection, wanted: set[str], timeout: float = 20) -> set[str]:
    """Read the socket until edges to every node in `wanted` arrived, or `timeout` passed;
    return the destinations seen."""
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    while not wanted <= seen and (remaining := deadline - time.monotonic()) > 0:
        try:
            seen |= edge_targets(json.loads(socket.recv(timeout=remaining)))
        except TimeoutError:
            break
    return seen


def snapshot(socket: ClientConnection) -> set[str]:
    """The destinations of the edges in the snapshot a socket receives first."""
    message = json.loads(socket.recv(timeout=15))
    assert message["type"] == "graph.snapshot", message
    return edge_targets(message)


def node(pod: meshsim.Pod) -> str:
    return f"workload:Kubernetes:{pod.namespace}:{pod.workload}"


def from_database(query: Callable[[], T]) -> T:
    """Run an ORM query in a thread of its own: Playwright's sync API keeps an event loop running
    in the test's thread, where Django refuses database calls."""

    def run() -> T:
        try:
            return query()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(run).result()


def accepted_sockets(process: Process) -> int:
    """How many live graph sockets the web process has accepted so far (uvicorn logs each)."""
    return len(re.findall(r'"WebSocket /ws/graph/\S*" \[accepted\]', process.output()))


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.nginx
@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_production_topology_behind_nginx(deployment: Deployment, output_dir: Path, browser: Any) -> None:
    from playwright.sync_api import expect

    webs = {f"127.0.0.1:{w.port}": w for w in deployment.webs}

    # Live graph sockets through nginx until each web process holds one.
    sockets: dict[str, ClientConnection] = {}
    for _ in range(6):
        socket, web = deployment.graph_socket()
        if web in sockets:
            socket.close()
        else:
            sockets[web] = socket
            snapshot(socket)
    assert set(sockets) == set(webs), f"nginx spread the sockets over {set(sockets)}, not {set(webs)}"

    # Ingest lands whichever web process takes it, and every socket hears of it: a socket on one
    # process receives the deltas of data ingested through the other.
    took: dict[str, meshsim.Pod] = {}
    for pod, service in ((DETAILS, "details"), (RATINGS, "ratings"), (REVIEWS["v1"], "reviews")):
        took.setdefault(deployment.ingest([Call(PRODUCTPAGE, SERVICES[service], pod)]), pod)
        if len(took) == len(webs):
            break
    assert set(took) == set(webs), f"nginx sent every ingest to {set(took)}"
    for web, socket in sockets.items():
        (other,) = set(webs) - {web}
        seen = receive_edges(socket, {node(pod) for pod in took.values()})
        assert node(took[other]) in seen, f"the socket on {web} missed what {other} ingested:\n{deployment.logs()}"
        assert node(took[web]) in seen

    # The worker settles. A client span whose server span never comes waits in the pairing store
    # for SPAN_PAIR_SECONDS, a server-side access-log record without its client side waits for
    # SETTLE_SECONDS; nothing ingested after them decides them, so only beat's tasks on the worker do.
    unanswered = spansim.render([Call(PRODUCTPAGE, SERVICES["ratings-canary"], None, code=404, flags="NR")])
    assert deployment.post("/v1/traces", unanswered.SerializeToString(), "application/x-protobuf")[0] == 200
    assert from_database(SpanHalf.objects.count) == 1
    deployment.ingest([Call(None, SERVICES["reviews"], REVIEWS["v2"])], sides="server")
    assert from_database(PendingRequest.objects.count) == 1
    for web, socket in sockets.items():
        seen = receive_edges(socket, {node(REVIEWS["v2"])}, timeout=SETTLE_SECONDS + 20)
        assert node(REVIEWS["v2"]) in seen, f"the socket on {web} never saw the settled request:\n{deployment.logs()}"
    assert from_database(PendingRequest.objects.count) == 0
    worker = deployment.by_name("worker")
    deployment.wait_for_log(worker, r"settle_requests\[[^\]]+\] succeeded in [\d.]+s: 1\b")
    deployment.wait_for_log(worker, r"settle_span_pairs\[[^\]]+\] succeeded in [\d.]+s: 1\b", SPAN_PAIR_SECONDS + 20)
    assert from_database(SpanHalf.objects.count) == 0

    # The browser app through nginx: its live graph socket is held by one of the web processes.
    accepted = {web: accepted_sockets(process) for web, process in webs.items()}
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_cookies([{"name": "sessionid", "value": deployment.session, "url": deployment.url}])
    page = context.new_page()
    page.goto(deployment.url + GRAPH_PAGE)
    indicator = page.get_by_test_id("live-indicator")
    expect(indicator).to_have_attribute("data-state", "live", timeout=20_000)
    holders = [web for web, process in webs.items() if accepted_sockets(process) > accepted[web]]
    assert len(holders) == 1, f"the page's socket is on {holders}"
    edges_shown = page.get_by_test_id("panel-summary").locator("dt:text-is('Edges') + dd")
    expect(edges_shown).to_have_text(str(len(took) + 1))

    # Kill the web process that holds the page's socket while spans stream in through nginx: every
    # acknowledged span is stored, and the sockets it held reconnect, through nginx, to the other.
    victim_address, victim_socket = holders[0], sockets[holders[0]]
    (survivor,) = set(webs) - {victim_address}
    accepted_before_kill = accepted_sockets(webs[survivor])
    answers: list[tuple[float, int, str, set[str]]] = []
    stop = threading.Event()

    def export_spans() -> None:
        while not stop.is_set():
            export = spansim.render([Call(PRODUCTPAGE, SERVICES["details"], DETAILS)])
            span_ids = {
                span.span_id.hex() for rs in export.resource_spans for ss in rs.scope_spans for span in ss.spans
            }
            try:
                status, web = deployment.post("/v1/traces", export.SerializeToString(), "application/x-protobuf")
            except OSError:
                status, web = 0, ""
            answers.append((time.monotonic(), status, web, span_ids))
            time.sleep(0.05)

    sender = threading.Thread(target=export_spans)
    sender.start()
    try:
        while sum(1 for a in answers if a[1] == 200) < 5:
            assert sender.is_alive()
            time.sleep(0.05)
        webs[victim_address].popen.kill()
        killed_at = time.monotonic()
        while sum(1 for a in answers if a[0] > killed_at and a[1] == 200) < 10:
            assert time.monotonic() - killed_at < 60, f"ingest did not recover:\n{answers[-5:]}\n{deployment.logs()}"
            time.sleep(0.05)
    finally:
        stop.set()
        sender.join()
    acknowledged = set().union(*(ids for _, status, _, ids in answers if status == 200))
    stored = set(from_database(lambda: list(Span.objects.values_list("span_id", flat=True))))
    assert acknowledged <= stored, f"{len(acknowledged - stored)} acknowledged spans are not stored"
    after = [(status, web) for moment, status, web, _ in answers if moment > killed_at]
    assert {web for status, web in after if status == 200} == {survivor}
    failed = [a for a in answers if a[1] != 200]
    assert len(failed) <= 1, f"only the export in flight at the kill may fail: {failed}"

    # The page reconnected by itself, to the survivor.
    expect(indicator).to_have_attribute("data-state", "live", timeout=30_000)
    assert accepted_sockets(webs[survivor]) == accepted_before_kill + 1
    with pytest.raises(ConnectionClosed):
        while True:
            victim_socket.recv(timeout=10)
    socket, web = deployment.graph_socket()
    assert web == survivor
    # The snapshot after reconnecting holds what both processes ingested, and deltas flow again.
    assert {node(pod) for pod in took.values()} | {node(REVIEWS["v2"])} <= snapshot(socket)
    deployment.ingest([Call(PRODUCTPAGE, SERVICES["reviews"], REVIEWS["v3"])])
    for live in (socket, sockets[survivor]):
        assert node(REVIEWS["v3"]) in receive_edges(live, {node(REVIEWS["v3"])})
    expect(edges_shown).to_have_text(str(len(took) + 2), timeout=15_000)
    page.screenshot(path=output_dir / "graph-after-failover.png")
    context.close()

    # The worker evaluates the alert rules (beat's task) and delivers their notifications: errors
    # ingested through nginx make a rule fire, and its webhook reaches a receiver.
    with running() as receiver:

        def create_rule() -> None:
            rule = alerts.Rule.objects.create(name="errors", kind="error_rate", threshold=10.0, window_seconds=120)
            webhook = alerts.Receiver.objects.create(
                name="hook", kind="webhook", url=f"{receiver.url}/hook", group_interval_seconds=1
            )
            rule.receivers.add(webhook)

        from_database(create_rule)
        deployment.ingest(calls(ok=5, failed=5))
        receiver.wait_for(1, timeout=60)
    (alert,) = receiver.received[0].json()["alerts"]
    assert alert["labels"]["workload"] == "reviews-v1" and alert["value"] == 50.0
    deployment.wait_for_log(worker, r"evaluate_rule\[[^\]]+\] succeeded")
    deployment.wait_for_log(worker, r"deliver\[[^\]]+\] succeeded")
