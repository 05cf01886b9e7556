"""The demo mesh's traffic is what a real Bookinfo mesh would send: coherent traces, both
proxies' access logs for each request, and the mix of traffic the demo promises."""

import json
from collections import Counter, defaultdict

import pytest

from meshview.demo import render, topology
from meshview.demo.feed import Schedule
from meshview.demo.traffic import Hop, Traffic
from meshview.envoy.parser import LogParser
from meshview.traces.decode import decode_otlp_protobuf

START = 1_790_000_000_000_000_000  # nanoseconds since the epoch
SECONDS = 60
RATE = 20.0


@pytest.fixture(scope="module")
def hops() -> list[Hop]:
    return Schedule(Traffic(seed=7), RATE, START).until(START + SECONDS * 1_000_000_000)


def all_hops(roots: list[Hop]) -> list[Hop]:
    return [hop for root in roots for hop in root.walk()]


def test_every_call_lies_inside_the_request_that_made_it(hops: list[Hop]) -> None:
    for hop in all_hops(hops):
        if not hop.reached:
            assert hop.end > hop.start and hop.server_start == hop.server_end == 0
            continue
        assert hop.start < hop.server_start <= hop.server_end < hop.end
        previous_end = hop.server_start
        for child in hop.children:  # made one after another, within the server's time
            assert previous_end < child.start and child.end < hop.server_end
            previous_end = child.end
        assert hop.server_end - hop.server_start > sum(c.end - c.start for c in hop.children)


def test_spans_nest_client_around_server_and_children_within_parents(hops: list[Hop]) -> None:
    decoded = decode_otlp_protobuf(render.otlp_export(hops).SerializeToString())
    assert decoded.rejected == 0, decoded.errors
    traces: dict[str, dict[str, object]] = defaultdict(dict)
    for span in decoded.spans:
        traces[span.trace_id][span.span_id] = span
    assert len(traces) > RATE * SECONDS * 0.8
    kinds: Counter[tuple[int, int]] = Counter()
    for spans in traces.values():
        roots = [s for s in spans.values() if not s.parent_span_id]
        assert len(roots) == 1, "one root per trace"
        for span in spans.values():
            assert span.start_ns < span.end_ns
            if span.parent_span_id:
                parent = spans[span.parent_span_id]
                assert parent.start_ns < span.start_ns and span.end_ns < parent.end_ns
                kinds[(parent.kind, span.kind)] += 1
    client, server = 3, 2  # OTLP's SpanKind numbers
    assert kinds[(client, server)] > 0 and kinds[(server, client)] > 0
    assert kinds[(server, server)] == 0 and kinds[(client, client)] == 0


def test_a_trace_carries_one_request_id_in_every_http_span(hops: list[Hop]) -> None:
    export = render.otlp_export(hops)
    ids: dict[bytes, set[str]] = defaultdict(set)
    for resource_spans in export.resource_spans:
        for span in resource_spans.scope_spans[0].spans:
            attributes = {a.key: a.value for a in span.attributes}
            if "network.transport" in attributes:
                continue
            header = attributes.get("guid:x-request-id") or attributes["http.request.header.x-request-id"]
            value = header.string_value or header.array_value.values[0].string_value
            ids[span.trace_id].add(value)
    assert ids and all(len(values) == 1 for values in ids.values())
    roots = {h.trace_id: h.request_id for h in hops if h.traced}
    assert {t: next(iter(v)) for t, v in ids.items()} == roots


def test_both_proxies_log_each_request_with_the_times_of_its_spans(hops: list[Hop]) -> None:
    parser = LogParser("auto")
    lines = [json.loads(envelope) for envelope in render.envelopes(hops)]
    records = [(e["kubernetes"]["pod_name"], parser.parse_line(e["log"].rstrip("\n"))) for e in lines]
    by_request: dict[str, list[tuple[str, dict]]] = defaultdict(list)
    for pod, record in records:
        by_request[record["request_id"] or ""].append((pod, record))
    for hop in all_hops(hops):
        if hop.protocol == "tcp" or hop.source is None or not hop.source.proxied:
            continue
        sides = [r for pod, r in by_request[hop.request_id] if r["upstream_cluster"].endswith(hop.service.host)
                 and pod == hop.source.pod]
        assert len(sides) == 1
        client = sides[0]
        assert client["direction"] == "outbound"
        assert client["duration"] == (hop.end - hop.start) // 1_000_000
        assert client["response_code"] == hop.code
        if hop.destination is not None and hop.destination.proxied:
            servers = [r for pod, r in by_request[hop.request_id] if pod == hop.destination.pod
                       and r["direction"] == "inbound"]
            assert len(servers) == 1
            server = servers[0]
            assert server["duration"] == (hop.server_end - hop.server_start) // 1_000_000 <= client["duration"]
            assert server["downstream_remote_address"] == client["upstream_local_address"]
            assert server["requested_server_name"].startswith("outbound_.")  # mTLS between sidecars
    tcp = [r for _, r in records if r["protocol"] is None or r["method"] is None]
    assert tcp and all(r["upstream_cluster"].endswith("mongodb.bookinfo.svc.cluster.local") or
                       r["upstream_cluster"].startswith("inbound|27017") for r in tcp)


def test_the_mix_has_every_feature_the_demo_promises(hops: list[Hop]) -> None:
    everything = all_hops(hops)
    to_reviews = [h for h in everything if h.service is topology.REVIEWS_SERVICE]
    canary = sum(h.subset == "v3" for h in to_reviews) / len(to_reviews)
    assert 0.06 < canary < 0.14
    assert any(h.code == 503 and h.flags == ("UO",) and h.destination is None for h in to_reviews)
    assert any(h.code == 500 for h in everything)
    assert any(h.protocol == "tcp" and h.destination is topology.MONGODB for h in everything)
    assert any(h.destination is topology.ISBN for h in everything)
    outside = Counter(h.user_agent.split("/")[0] for h in hops if h.source is None)
    assert outside["kube-probe"] == SECONDS // 10 * len(topology.PROBED_PODS)
    assert outside["Prometheus"] == SECONDS // 15 * len(topology.SCRAPED_PODS)
    assert 0.05 < outside["curl"] / len([h for h in hops if h.traced]) < 0.15  # the NodePort's share
    assert all(h.start < START + SECONDS * 1_000_000_000 for h in hops)
    no_sidecar = next(h for h in everything if h.destination is topology.ISBN)
    assert render.client_record(no_sidecar) is not None and render.server_record(no_sidecar) is None
