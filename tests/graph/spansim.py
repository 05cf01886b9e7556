"""The simulated mesh's calls (`tests.meshsim.Call`) as the OpenTelemetry spans its workloads
would export, instrumented with the HTTP semantic conventions.

A call from a pod to a pod is a CLIENT span in the caller's resource and its SERVER child in the
callee's. Calls chain into traces: a call made by a pod is a child of the latest request that
pod served (so the Bookinfo minute has one trace per gateway request: gateway → productpage →
details and reviews → ratings). A call from outside the mesh (no source) is a root SERVER span
with the caller's user agent, address and the port it dialled; a call that reached no workload
is only the CLIENT span, addressed to the service, with the status code the proxy answered. TCP
is a CLIENT/SERVER pair with ``network.transport`` ``tcp`` and the bytes each side received and
transmitted (``network.io.receive``, ``network.io.transmit``). mTLS shows on the server span as
TLS with the caller's SPIFFE identity for a client certificate.
"""

import hashlib
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1 import common_pb2 as common
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1 import trace_pb2 as tr

from tests.meshsim import NODE_IP, Call, Pod

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SCOPE = common.InstrumentationScope(name="bookinfo-instrumentation", version="1.0")
# A callee's span starts this long after its caller's, a nested call this long after the
# request that made it; the caller's span ends this long after the callee's.
HOP_NS = 250_000
_GRPC_STATUS = {200: 0, 404: 12, 503: 14}


def ns(moment: datetime) -> int:
    """Nanoseconds since the epoch of an aware datetime, exactly."""
    return (moment - EPOCH) // timedelta(microseconds=1) * 1000


def kv(key: str, value: object) -> common.KeyValue:
    if isinstance(value, bool):
        return common.KeyValue(key=key, value=common.AnyValue(bool_value=value))
    if isinstance(value, int):
        return common.KeyValue(key=key, value=common.AnyValue(int_value=value))
    return common.KeyValue(key=key, value=common.AnyValue(string_value=str(value)))


def resource_attributes(pod: Pod) -> dict[str, object]:
    """What an OpenTelemetry SDK with the Kubernetes resource detector reports for a pod."""
    attributes: dict[str, object] = {"service.name": pod.app}
    if pod.version:
        attributes["service.version"] = pod.version
    attributes |= {
        "k8s.namespace.name": pod.namespace,
        "k8s.deployment.name": pod.workload,
        "k8s.pod.name": pod.pod,
    }
    return attributes


def principal(pod: Pod) -> str:
    return f"spiffe://cluster.local/ns/{pod.namespace}/sa/bookinfo-{pod.app}"


def _span_id(call: Call, side: str) -> bytes:
    return hashlib.blake2b(f"{call.request_id}/{side}".encode(), digest_size=8).digest()


def _http(call: Call, server: bool) -> dict[str, object]:
    attributes: dict[str, object] = {"http.request.method": "GET"}
    if call.protocol == "grpc":
        attributes |= {"rpc.system": "grpc", "rpc.grpc.status_code": _GRPC_STATUS.get(call.code, 2),
                       "network.protocol.version": "2"}
    else:
        attributes["network.protocol.version"] = "1.1"
    if call.code:
        attributes["http.response.status_code"] = call.code
    if call.bytes_received:
        attributes["http.request.body.size"] = call.bytes_received
    if call.bytes_sent:
        attributes["http.response.body.size"] = call.bytes_sent
    if server:
        authority = call.authority or f"{call.service.name}:{call.service.port}"
        host, _, port = authority.partition(":")
        attributes |= {"url.path": call.path, "url.scheme": "http", "server.address": host,
                       "server.port": int(port or 80), "user_agent.original": call.user_agent}
    else:
        service = call.service
        attributes |= {"url.full": f"http://{service.host}:{service.port}{call.path}",
                       "server.address": service.host, "server.port": service.port}
    return attributes


def _tcp(call: Call, server: bool) -> dict[str, object]:
    attributes: dict[str, object] = {"network.transport": "tcp", "server.port": call.service.port}
    received, transmitted = (call.bytes_received, call.bytes_sent) if server else (call.bytes_sent, call.bytes_received)
    attributes |= {"network.io.receive": received, "network.io.transmit": transmitted}
    if not server:
        attributes["server.address"] = call.service.host
    return attributes


def _status(call: Call, server: bool) -> tr.Status:
    failed = (call.code == 0 and call.protocol != "tcp") or call.code >= (500 if server else 400)
    return tr.Status(code=tr.Status.STATUS_CODE_ERROR) if failed else tr.Status()


class _Renderer:
    def __init__(self) -> None:
        self.spans: dict[Pod, list[tr.Span]] = {}
        # the latest request each pod served: (trace id, span id, start), the parent of its calls
        self.serving: dict[Pod, tuple[bytes, bytes, int]] = {}

    def add(self, pod: Pod, span: tr.Span) -> None:
        self.spans.setdefault(pod, []).append(span)

    def call(self, call: Call) -> None:
        start = ns(call.start)
        duration = call.duration_ms * 1_000_000
        trace_id, parent_id = uuid.UUID(call.request_id).bytes, b""
        if call.source is not None and call.source in self.serving:
            trace_id, parent_id, served_at = self.serving[call.source]
            start = max(start, served_at + HOP_NS)
        name = f"{call.service.host}:{call.service.port}" if call.protocol == "tcp" else f"GET {call.path}"
        describe = _tcp if call.protocol == "tcp" else _http
        client_id = _span_id(call, "client")
        server_start = start
        if call.source is not None:
            reached = call.destination is not None
            server_start = start + HOP_NS
            self.add(call.source, tr.Span(
                trace_id=trace_id, span_id=client_id, parent_span_id=parent_id, name=name,
                kind=tr.Span.SPAN_KIND_CLIENT, start_time_unix_nano=start,
                end_time_unix_nano=start + duration + (2 * HOP_NS if reached else 0),
                attributes=[kv(k, v) for k, v in describe(call, server=False).items()],
                status=_status(call, server=False),
            ))
            parent_id = client_id
        if call.destination is None:
            return
        attributes = describe(call, server=True)
        attributes["client.address"] = call.source.ip if call.source else call.remote_ip or NODE_IP
        if call.mtls and call.source is not None:
            attributes |= {"tls.established": True, "tls.client.subject": principal(call.source)}
        server_id = _span_id(call, "server")
        self.add(call.destination, tr.Span(
            trace_id=trace_id, span_id=server_id, parent_span_id=parent_id, name=name,
            kind=tr.Span.SPAN_KIND_SERVER, start_time_unix_nano=server_start,
            end_time_unix_nano=server_start + duration,
            attributes=[kv(k, v) for k, v in attributes.items()],
            status=_status(call, server=True),
        ))
        self.serving[call.destination] = (trace_id, server_id, server_start)



def export(spans: Mapping[Pod, list[tr.Span]]) -> ExportTraceServiceRequest:
    """Return an OTLP export of spans, each pod's under its resource."""
    return ExportTraceServiceRequest(resource_spans=[
        tr.ResourceSpans(
            resource=Resource(attributes=[kv(k, v) for k, v in resource_attributes(pod).items()]),
            scope_spans=[tr.ScopeSpans(scope=SCOPE, spans=pod_spans)],
        )
        for pod, pod_spans in spans.items()
    ])


def render(calls: Iterable[Call]) -> ExportTraceServiceRequest:
    """Return the OTLP export of `calls`' spans, one resource per pod, ready for ``/v1/traces``."""
    renderer = _Renderer()
    for call in calls:
        renderer.call(call)
    return export(renderer.spans)
