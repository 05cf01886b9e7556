"""The demo mesh's requests as the telemetry a real mesh sends: the access-log lines each
Envoy writes (Istio's default TEXT layout since 1.24) in the NDJSON envelopes a log shipper adds
(Fluent Bit's `kubernetes` metadata), and the OTLP spans the applications and the ingress gateway
export, which carry the request's `x-request-id` as the access logs do."""

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1 import common_pb2 as common
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1 import trace_pb2 as trace

from meshview.demo.topology import Pod
from meshview.demo.traffic import MS, Hop

SCOPE = common.InstrumentationScope(name="io.opentelemetry.bookinfo", version="1.0.0")
ENVOY_SCOPE = common.InstrumentationScope(name="envoy", version="1.31.2")


def _time(ns: int) -> str:
    moment = datetime.fromtimestamp(ns // 1_000_000_000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ns // MS % 1000:03d}Z"


def _quoted(value: str) -> str:
    return f'"{value or "-"}"'


def _record(hop: Hop, *, start: int, end: int, service_time: str, cluster: str, upstream_host: str,
            upstream_local: str, downstream_local: str, downstream_remote: str, sni: str, details: str) -> str:
    tcp = hop.protocol == "tcp"
    request = '"- - -"' if tcp else f'"{hop.method} {hop.path} HTTP/1.1"'
    return " ".join([
        f"[{_time(start)}]",
        request,
        "0" if tcp else str(hop.code),
        ",".join(hop.flags) or "-",
        "-" if tcp else details,
        "-",
        '"-"',
        str(hop.bytes_received),
        str(hop.bytes_sent),
        str((end - start) // MS),
        "-" if tcp else service_time,
        _quoted(hop.forwarded_for),
        _quoted("" if tcp else hop.user_agent),
        _quoted(hop.request_id),
        _quoted("" if tcp else hop.authority),
        _quoted(upstream_host),
        cluster,
        upstream_local,
        downstream_local,
        downstream_remote,
        sni,
        "-" if tcp else "default",
    ])


def client_record(hop: Hop) -> str | None:
    """The line the caller's proxy writes (None when the caller has no proxy)."""
    source = hop.source
    if source is None or not source.proxied:
        return None
    service = hop.service
    reached = hop.destination is not None
    server_time = (hop.server_end - hop.server_start) // MS
    gateway = source.role == "ingress-gateway"
    return _record(
        hop,
        start=hop.start,
        end=hop.end,
        service_time=str(server_time) if reached else "-",
        cluster=f"outbound|{service.port}|{hop.subset}|{service.host}",
        upstream_host=f"{hop.destination.ip}:{hop.destination.port}" if hop.destination else "",
        upstream_local=f"{source.ip}:{hop.client_port}" if reached else "-",
        downstream_local=f"{source.ip}:{source.port}" if gateway else f"{service.cluster_ip}:{service.port}",
        downstream_remote=hop.remote_address if gateway else f"{source.ip}:{hop.client_port + 1}",
        sni="-",
        details="via_upstream" if reached else "upstream_reset_before_response_started{overflow}",
    )


def server_record(hop: Hop) -> str | None:
    """The line the callee's sidecar writes (None when it was not reached or has no sidecar)."""
    pod = hop.destination
    if pod is None or not pod.proxied:
        return None
    caller = f"{hop.source.ip}:{hop.client_port}" if hop.source is not None else hop.remote_address
    return _record(
        hop,
        start=hop.server_start,
        end=hop.server_end,
        service_time=str(max((hop.server_end - hop.server_start) // MS - 1, 0)),
        cluster=f"inbound|{pod.port}||",
        upstream_host=f"{pod.ip}:{pod.port}",
        upstream_local=f"127.0.0.6:{hop.client_port + 2}",
        downstream_local=f"{pod.ip}:{pod.port}",
        downstream_remote=caller,
        sni=f"outbound_.{hop.service.port}_._.{hop.service.host}" if hop.mtls else "-",
        details="via_upstream",
    )


def envelopes(hops: Iterable[Hop]) -> Iterator[str]:
    """NDJSON envelopes, as Fluent Bit's kubernetes filter sends them, of every line the
    proxies of `hops` (and of the calls they led to) write."""
    for root in hops:
        for hop in root.walk():
            for pod, line in ((hop.source, client_record(hop)), (hop.destination, server_record(hop))):
                if line is not None and pod is not None:
                    yield json.dumps({"log": line + "\n", "stream": "stdout", "time": _time(hop.start),
                                      "kubernetes": pod.kubernetes()})


def _value(value: object) -> common.AnyValue:
    if isinstance(value, bool):
        return common.AnyValue(bool_value=value)
    if isinstance(value, int):
        return common.AnyValue(int_value=value)
    if isinstance(value, list):
        return common.AnyValue(array_value=common.ArrayValue(values=[_value(v) for v in value]))
    return common.AnyValue(string_value=str(value))


def _attributes(attributes: dict[str, object]) -> list[common.KeyValue]:
    return [common.KeyValue(key=k, value=_value(v)) for k, v in attributes.items()]


def resource_attributes(pod: Pod) -> dict[str, object]:
    """What an OpenTelemetry SDK with the Kubernetes resource detector reports for `pod`."""
    attributes: dict[str, object] = {"service.name": pod.app}
    if pod.version:
        attributes["service.version"] = pod.version
    return attributes | {
        "k8s.namespace.name": pod.namespace,
        "k8s.deployment.name": pod.workload,
        "k8s.pod.name": pod.pod,
        "k8s.pod.ip": pod.ip,
    }


def _client_attributes(hop: Hop) -> dict[str, object]:
    service = hop.service
    if hop.protocol == "tcp":
        return {"network.transport": "tcp", "server.address": service.host, "server.port": service.port,
                "db.system": "mongodb", "network.io.transmit": hop.bytes_received,
                "network.io.receive": hop.bytes_sent}
    attributes: dict[str, object] = {
        "http.request.method": hop.method,
        "url.full": f"http://{service.host}:{service.port}{hop.path}",
        "server.address": service.host,
        "server.port": service.port,
        "network.protocol.version": "1.1",
        "http.response.status_code": hop.code,
        "http.response.body.size": hop.bytes_sent,
    }
    if hop.source is not None and hop.source.role == "ingress-gateway":
        # Envoy's own tracer names the request id and the cluster it routed to.
        attributes |= {"guid:x-request-id": hop.request_id, "component": "proxy",
                       "upstream_cluster": f"outbound|{service.port}|{hop.subset}|{service.host}",
                       "http.request.header.x-forwarded-for": [hop.forwarded_for]}
    else:
        attributes["http.request.header.x-request-id"] = [hop.request_id]
    return attributes


def _server_attributes(hop: Hop) -> dict[str, object]:
    client_address = hop.source.ip if hop.source is not None else hop.remote_address.rpartition(":")[0]
    if hop.protocol == "tcp":
        return {"network.transport": "tcp", "server.port": hop.service.port, "client.address": client_address,
                "network.io.receive": hop.bytes_received, "network.io.transmit": hop.bytes_sent}
    host, _, port = hop.authority.partition(":")
    attributes: dict[str, object] = {
        "http.request.method": hop.method,
        "http.route": hop.route,
        "url.path": hop.path,
        "url.scheme": "http",
        "server.address": host,
        "server.port": int(port or 80),
        "client.address": client_address,
        "user_agent.original": hop.user_agent,
        "network.protocol.version": "1.1",
        "http.response.status_code": hop.code,
        "http.response.body.size": hop.bytes_sent,
        "http.request.header.x-request-id": [hop.request_id],
    }
    if hop.mtls and hop.source is not None:
        attributes |= {"tls.established": True, "tls.client.subject": hop.source.principal}
    return attributes


def _name(hop: Hop) -> str:
    if hop.protocol == "tcp":
        return f"{hop.service.host}:{hop.service.port}"
    if hop.source is not None and hop.source.role == "ingress-gateway":
        return f"{hop.service.host}:{hop.service.port}{hop.path}"  # as Envoy names its spans
    return f"{hop.method} {hop.route}"


def _status(failed: bool) -> trace.Status:
    return trace.Status(code=trace.Status.STATUS_CODE_ERROR) if failed else trace.Status()


def spans(hops: Iterable[Hop]) -> dict[Pod, list[trace.Span]]:
    """Each traced pod's spans for `hops` and the calls they led to: a CLIENT span in the
    caller, around a SERVER span in the callee; a call that reached nobody (a circuit breaker's
    503) or an untraced callee leaves only the CLIENT span."""
    by_pod: dict[Pod, list[trace.Span]] = {}
    for root in hops:
        for hop in root.walk():
            if not hop.traced:
                continue
            parent = hop.parent_span_id
            source = hop.source
            if source is not None and source.traced:
                by_pod.setdefault(source, []).append(trace.Span(
                    trace_id=hop.trace_id, span_id=hop.client_span_id, parent_span_id=parent, name=_name(hop),
                    kind=trace.Span.SPAN_KIND_CLIENT, start_time_unix_nano=hop.start, end_time_unix_nano=hop.end,
                    attributes=_attributes(_client_attributes(hop)),
                    status=_status(hop.protocol == "http" and hop.code >= 400),
                ))
                parent = hop.client_span_id
            destination = hop.destination
            if destination is not None and destination.traced:
                by_pod.setdefault(destination, []).append(trace.Span(
                    trace_id=hop.trace_id, span_id=hop.server_span_id, parent_span_id=parent, name=_name(hop),
                    kind=trace.Span.SPAN_KIND_SERVER, start_time_unix_nano=hop.server_start,
                    end_time_unix_nano=hop.server_end, attributes=_attributes(_server_attributes(hop)),
                    status=_status(hop.protocol == "http" and hop.code >= 500),
                ))
    return by_pod


def otlp_export(hops: Iterable[Hop]) -> ExportTraceServiceRequest:
    """The OTLP export of `hops`' spans, each pod's under its resource."""
    return ExportTraceServiceRequest(resource_spans=[
        trace.ResourceSpans(
            resource=Resource(attributes=_attributes(resource_attributes(pod))),
            scope_spans=[trace.ScopeSpans(scope=ENVOY_SCOPE if pod.role == "ingress-gateway" else SCOPE,
                                          spans=pod_spans)],
        )
        for pod, pod_spans in spans(hops).items()
    ])
