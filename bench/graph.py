"""Graph engine benchmark: synthetic meshes of 100, 1,000 and 5,000 workloads over 5 minutes.

Prints, per mesh size, the time of each stage (build: samples to networkx, serialise: networkx
to Kiali's dict, json: ``json.dumps`` as DRF's renderer calls it) and the response size, beside a
baseline measured in the same run on the same samples: a bare loop summing requests per edge
into a dict, and ``json.dumps`` of that. The budget (DESIGN.md section 7) is 1,000 workloads
over 5 minutes under 300 ms end to end.

Times are the best of ``--repeat`` runs, as timeit reports them: the least disturbed by other
processes. Each run starts after a full collection; as in the API, collections wait until the
graph's dict is made, each stage's input freed when it is done, and ``gc`` is the collection
that then walks the dict (part of the total).

The ``load`` stage reads the same traffic back from the database the way ``GET /api/v1/graph``
does (``meshview.graph.sources.accesslogs``: one ``SUM ... GROUP BY`` over the window's
rollups), after the per-minute samples were written as rollup rows into a temporary SQLite
database (or PostgreSQL with ``--database-url``, analysed afterwards as autovacuum would). The
graph's JSON is rendered with orjson, as the API renders it. Each size is drawn twice: with every
appender (the API's default, and what meshview's own page asks for) and with the appenders
Kiali's page asks for by default (no ``responseTime``: the latency histograms are not read).

Run: ``.venv/bin/python bench/graph.py [--sizes 100,1000,5000] [--repeat 5] [--graph-type versionedApp]``
"""

import argparse
import gc
import json
import os
import platform
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from meshview.graph.engine import APPENDERS, GraphOptions, build_graph, paused_gc
from meshview.graph.kiali import to_kiali_json
from meshview.graph.samples import PROTOCOLS, UNKNOWN_SOURCE, Endpoint, Protocol, TrafficSample
from meshview.mesh.latency import LATENCY_BUCKETS_MS

MINUTES = 5
QUERY_TIME = 1_700_000_000
# The appenders Kiali's own graph page asks for by default: all but responseTime, which it asks
# for only when edges are labelled with response times.
KIALI_PAGE_APPENDERS = APPENDERS - {"responseTime"}


def synthetic_mesh(workloads: int, seed: int = 1) -> tuple[list[TrafficSample], frozenset[str]]:
    """Return one sample per minute, edge, response code and upstream host for a mesh of about
    ``workloads`` workloads in namespaces of ~100, each calling 3 to 5 services (4 in 5 in its
    own namespace), with kubelet probes, NodePort clients and an ingress gateway; and the
    namespaces."""
    rng = random.Random(seed)
    namespaces = [f"ns-{i}" for i in range(max(2, workloads // 100))]
    # Apps with one version, or two (a canary); the service is named after the app.
    services: list[list[Endpoint]] = []
    count = 0
    while count < workloads:
        namespace = namespaces[len(services) % len(namespaces)]
        app = f"app-{len(services)}"
        version_count = 2 if rng.random() < 0.3 and count + 2 <= workloads else 1
        services.append([
            Endpoint("Kubernetes", namespace, f"{app}-v{v}", app, f"v{v}", app,
                     principal=f"spiffe://cluster.local/ns/{namespace}/sa/{app}")
            for v in range(1, version_count + 1)
        ])
        count += version_count
    by_namespace: dict[str, list[int]] = {}
    for i, versions in enumerate(services):
        by_namespace.setdefault(versions[0].namespace, []).append(i)
    protocols: dict[int, Protocol] = {
        i: rng.choices(PROTOCOLS, (8, 1, 1))[0] for i in range(len(services))
    }
    histograms = [_histogram(rng) for _ in range(64)]
    gateway = Endpoint("Kubernetes", "istio-system", "istio-ingressgateway", "istio-ingressgateway", "",
                       "istio-ingressgateway", gateway="ingress")

    samples: list[TrafficSample] = []

    def calls(source: Endpoint, target: int, rate: float, **fields: Any) -> None:
        versions = services[target]
        protocol = protocols[target]
        for n, destination in enumerate(versions):
            share = rate * (0.9 if n == 0 else 0.1) if len(versions) > 1 else rate
            outcomes = _outcomes(rng, protocol)
            for _ in range(MINUTES):
                for code, grpc_status, flags, fraction in outcomes:
                    requests = round(share * 60 * fraction)
                    pods = (1, 2) if code == 200 and n == 0 else (rng.randint(1, 2),)
                    for pod in pods:
                        samples.append(TrafficSample(
                            source=source, destination=destination, protocol=protocol, response_code=code,
                            grpc_status=grpc_status, response_flags=flags, mtls=source is not UNKNOWN_SOURCE,
                            requests=requests / len(pods),
                            latency_counts=None if protocol == "tcp" else rng.choice(histograms),
                            duration_sum_ms=requests * rng.uniform(5, 80) / len(pods),
                            bytes_received=requests * 700.0, bytes_sent=requests * 4000.0,
                            upstream_host=f"10.{target % 250}.{pod}.{n}:8080", telemetry="accesslogs",
                            **fields))

    def calls_pod(pod: Endpoint, i: int) -> None:
        for _ in range(MINUTES):
            samples.append(TrafficSample(
                source=UNKNOWN_SOURCE, destination=Endpoint(pod.cluster, pod.namespace, pod.workload, pod.app,
                                                             pod.version), protocol=protocols[i],
                response_code=0 if protocols[i] == "tcp" else 200, requests=6, bytes_received=600.0,
                bytes_sent=1200.0, upstream_host=f"10.{i % 250}.1.1:15021", unknown_reason="probe",
                telemetry="accesslogs"))

    for i, versions in enumerate(services):
        own = by_namespace[versions[0].namespace]
        for caller in versions:
            for _ in range(rng.randint(3, 5)):
                target = rng.choice(own) if rng.random() < 0.8 else rng.randrange(len(services))
                if target != i:
                    calls(caller, target, rng.uniform(0.5, 50))
        # Istio rewrites HTTP probes to its agent by default, out of telemetry: the kubelet is
        # seen only where that is turned off (1 app in 10 here), reaching pods, not the service.
        if i % 10 == 3:
            for pod in versions:
                calls_pod(pod, i)
        if i % 20 == 0:
            calls(gateway, i, rng.uniform(10, 100))
        if i % 50 == 1:
            calls(UNKNOWN_SOURCE, i, 1.0, unknown_reason="nodeport")
    return samples, frozenset(namespaces)


def _outcomes(rng: random.Random, protocol: str) -> list[tuple[int, str | None, str, float]]:
    """Response code, gRPC status, flags and share of one edge's requests."""
    if protocol == "tcp":
        return [(0, None, "-", 1.0)]
    if protocol == "grpc":
        return [(200, "0", "-", 0.97), (200, rng.choice(("2", "4", "14")), "-", 0.03)]
    outcomes: list[tuple[int, str | None, str, float]] = [(200, None, "-", 0.95)]
    if rng.random() < 0.4:
        outcomes.append((503, None, rng.choice(("UO", "URX", "UF", "-")), 0.03))
    if rng.random() < 0.3:
        outcomes.append((404, None, rng.choice(("NR", "-")), 0.02))
    return outcomes


def _histogram(rng: random.Random) -> tuple[int, ...]:
    counts = [0] * (len(LATENCY_BUCKETS_MS) + 1)
    for _ in range(200):
        counts[min(len(counts) - 1, int(rng.lognormvariate(1.8, 0.7)))] += 1
    return tuple(counts)


def baseline(samples: list[TrafficSample]) -> list[dict[str, Any]]:
    """The least a graph needs: requests summed per (source, destination, protocol)."""
    edges: dict[tuple[str, str, str, str, str], float] = {}
    for s in samples:
        key = (s.source.namespace, s.source.workload, s.destination.namespace, s.destination.workload,
               s.protocol)
        edges[key] = edges.get(key, 0.0) + s.requests
    return [{"source": f"{k[0]}/{k[1]}", "target": f"{k[2]}/{k[3]}", "protocol": k[4], "requests": v}
            for k, v in edges.items()]


def render(data: Any) -> bytes:
    """JSON as the graph API renders it (orjson)."""
    return orjson.dumps(data)


def store_rollups(samples: list[TrafficSample]) -> None:
    """Write the per-minute samples as access-log rollup rows, one bucket per minute."""
    from django.db import transaction

    from meshview.mesh import rollups
    from meshview.mesh.gateways import INGRESS_GATEWAY
    from meshview.mesh.models import ROLLUP_MEASURES

    rows: dict[tuple[Any, ...], list[float]] = {}
    minute: dict[tuple[Any, ...], int] = {}
    for s in samples:
        edge = (s.source, s.destination, s.protocol, s.response_code, s.grpc_status, s.response_flags, s.mtls,
                s.unknown_reason)
        minute[edge] = minute.get(edge, -1) + 1
        bucket = QUERY_TIME - MINUTES * 60 + (minute[edge] % MINUTES) * 60
        src, dst = s.source, s.destination
        key = (bucket, "destination", src.namespace, src.workload, src.app, src.version,
               INGRESS_GATEWAY if src.gateway == "ingress" else "sidecar", dst.namespace, dst.workload, dst.app,
               dst.version, f"{dst.service or dst.app}.{dst.namespace}.svc.cluster.local", dst.service or dst.app,
               dst.namespace, s.protocol, s.response_code, s.grpc_status or "", s.response_flags, s.mtls,
               s.unknown_reason or "")
        totals = rows.setdefault(key, [0] * len(ROLLUP_MEASURES))
        totals[0] += max(1, round(s.requests))  # a rollup row is one request or more, as ingest writes them
        totals[1] += round(s.duration_sum_ms)
        totals[2] += round(s.bytes_received)
        totals[3] += round(s.bytes_sent)
        for i, count in enumerate(s.latency_counts or ()):
            totals[4 + i] += count
    with transaction.atomic():
        rollups.write(rollups.TRAFFIC, rows)


def load(_: Any, options: GraphOptions) -> list[TrafficSample]:
    from meshview.graph.sources import Window, accesslogs

    return accesslogs.collect(Window(options.query_time, options.duration_s, options.namespaces,
                                     options.cluster_name, latency=options.appender("responseTime")))


# name, function of the previous stage's result.
STAGES: list[tuple[str, Callable[[Any, GraphOptions], Any]]] = [
    ("load", load),
    ("build", lambda samples, options: build_graph(samples, options)),
    ("serialise", lambda graph, options: to_kiali_json(graph)),
    ("json", lambda kiali, options: render(kiali)),
]
BASELINE_STAGES: list[tuple[str, Callable[[Any, GraphOptions], Any]]] = [
    ("baseline dict", lambda samples, options: baseline(samples)),
    ("baseline json", lambda edges, options: render(edges)),
]


def run(stages: list[tuple[str, Callable[[Any, GraphOptions], Any]]], samples: list[TrafficSample],
        options: GraphOptions, repeat: int) -> tuple[dict[str, float], Any]:
    """Return the best seconds of each stage over ``repeat`` runs, and the last result. As in
    ``graph_json``, collections wait until the JSON's dict is made (each stage's input is freed
    when it is done), and the JSON is rendered after; ``gc`` is the young-generation collection
    that then walks the surviving dict."""
    times: dict[str, list[float]] = {name: [] for name, _ in stages}
    times["gc"] = []
    result: Any = None
    for _ in range(repeat):
        result = samples
        gc.collect()
        with paused_gc():
            for name, stage in stages[:-1]:
                start = time.perf_counter()
                result = stage(result, options)
                times[name].append(time.perf_counter() - start)
        name, stage = stages[-1]
        start = time.perf_counter()
        rendered = stage(result, options)
        times[name].append(time.perf_counter() - start)
        start = time.perf_counter()
        gc.collect(0)
        times["gc"].append(time.perf_counter() - start)
        result = rendered
    return {name: min(t) for name, t in times.items()}, result


def setup_database(database_url: str) -> None:
    os.environ["MESHVIEW_DATA_DIR"] = tempfile.mkdtemp(prefix="meshview-bench-")
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "meshview.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,5000")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--graph-type", default="versionedApp")
    parser.add_argument("--database-url", default="", help="an empty PostgreSQL database (default: temporary SQLite)")
    args = parser.parse_args()
    setup_database(args.database_url)
    from django.db import connection

    print(f"python {platform.python_version()} on {platform.machine()}, {connection.vendor}; graph type "
          f"{args.graph_type}; appenders: all (the API's default, which meshview's page asks for) and Kiali's "
          f"page's default (no rt: no responseTime); best of {args.repeat}; load average {os.getloadavg()[0]:.2f}")
    print(f"{'workloads':>9} {'appenders':>9} {'rows':>7} {'samples':>7} {'nodes':>6} {'edges':>6} {'load':>8} "
          f"{'build':>8} {'serialise':>9} {'json':>7} {'gc':>6} {'total':>8} {'bytes':>9} | "
          f"{'base dict':>9} {'base json':>9}")
    for size in (int(s) for s in args.sizes.split(",")):
        per_minute, namespaces = synthetic_mesh(size)
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM mesh_traffic_rollup")
        store_rollups(per_minute)
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM mesh_traffic_rollup")
            rows = cursor.fetchone()[0]
            if connection.vendor == "postgresql":
                cursor.execute("ANALYZE mesh_traffic_rollup")  # as autovacuum would have by then
                cursor.execute("ANALYZE mesh_traffic_key")
        for appenders in (None, KIALI_PAGE_APPENDERS):
            options = GraphOptions(namespaces=namespaces, query_time=QUERY_TIME, duration_s=MINUTES * 60,
                                   graph_type=args.graph_type, appenders=appenders)
            times, body = run(STAGES, [], options, args.repeat)
            loaded = load(None, options)
            base, _ = run(BASELINE_STAGES, loaded, options, args.repeat)
            base.pop("gc")
            elements = json.loads(body)["elements"]
            ms = {name: t * 1000 for name, t in (times | base).items()}
            print(f"{size:>9} {'all' if appenders is None else 'no rt':>9} {rows:>7} {len(loaded):>7} "
                  f"{len(elements['nodes']):>6} {len(elements['edges']):>6} {ms['load']:>6.1f}ms {ms['build']:>6.1f}ms "
                  f"{ms['serialise']:>7.1f}ms {ms['json']:>5.1f}ms {ms['gc']:>4.1f}ms "
                  f"{sum(times.values()) * 1000:>6.1f}ms "
                  f"{len(body):>9} | {ms['baseline dict']:>7.1f}ms {ms['baseline json']:>7.1f}ms")


if __name__ == "__main__":
    main()
