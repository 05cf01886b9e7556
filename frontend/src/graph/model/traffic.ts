// Figures for the side panels: a node's traffic in and out, an edge's rates and responses, the
// unknown node's reasons, and the whole graph's totals.
import { parseRate } from './format';
import { edgeErrorPercent, edgeHealth, edgeProtocol, edgeRate } from './health';
import type { EdgeData, NodeData } from './types';
import type { GraphState } from './store';

export interface DirectionTraffic {
  protocol: string;
  /** requests/s, or bytes/s for tcp */
  rate: number;
  /** failed requests/s */
  errorRate: number;
  errorPercent: number;
  edges: number;
}

export interface NodeTrafficSummary {
  inbound: DirectionTraffic[];
  outbound: DirectionTraffic[];
}

function addTo(rows: Map<string, DirectionTraffic>, edge: EdgeData) {
  const protocol = edgeProtocol(edge);
  const rate = edgeRate(edge);
  const row = rows.get(protocol) ?? { protocol, rate: 0, errorRate: 0, errorPercent: 0, edges: 0 };
  row.rate += rate;
  row.errorRate += (rate * edgeErrorPercent(edge)) / 100;
  row.edges += 1;
  rows.set(protocol, row);
}

function finish(rows: Map<string, DirectionTraffic>): DirectionTraffic[] {
  const order = ['http', 'grpc', 'tcp'];
  return [...rows.values()]
    .map((r) => ({ ...r, errorPercent: r.rate > 0 ? (r.errorRate / r.rate) * 100 : 0 }))
    .sort((a, b) => order.indexOf(a.protocol) - order.indexOf(b.protocol));
}

/** Sum of the edges into and out of a node, per protocol. */
export function nodeTraffic(nodeId: string, state: GraphState): NodeTrafficSummary {
  const inbound = new Map<string, DirectionTraffic>();
  const outbound = new Map<string, DirectionTraffic>();
  for (const edge of state.edges.values()) {
    if (edge.target === nodeId) addTo(inbound, edge);
    if (edge.source === nodeId) addTo(outbound, edge);
  }
  return { inbound: finish(inbound), outbound: finish(outbound) };
}

export interface RateRow {
  label: string;
  rate: number;
  percent: number;
}

/** An HTTP edge's rate split by class (2xx is the rest), or a gRPC edge's by ok/error. */
export function edgeRateRows(edge: EdgeData): RateRow[] {
  const rates = edge.traffic?.rates ?? {};
  const protocol = edgeProtocol(edge);
  const total = edgeRate(edge);
  const pct = (v: number) => (total > 0 ? (v / total) * 100 : 0);
  if (protocol === 'tcp') return [{ label: 'Sent', rate: total, percent: 100 }];
  if (protocol === 'grpc') {
    const err = parseRate(rates.grpcErr);
    const none = parseRate(rates.grpcNoResponse);
    const ok = Math.max(0, total - err - none);
    return [
      { label: 'OK', rate: ok, percent: pct(ok) },
      { label: 'Error', rate: err, percent: pct(err) },
      { label: 'No response', rate: none, percent: pct(none) },
    ];
  }
  const r3 = parseRate(rates.http3xx);
  const r4 = parseRate(rates.http4xx);
  const r5 = parseRate(rates.http5xx);
  const none = parseRate(rates.httpNoResponse);
  const r2 = Math.max(0, total - r3 - r4 - r5 - none);
  return [
    { label: '2xx', rate: r2, percent: pct(r2) },
    { label: '3xx', rate: r3, percent: pct(r3) },
    { label: '4xx', rate: r4, percent: pct(r4) },
    { label: '5xx', rate: r5, percent: pct(r5) },
    { label: 'No response', rate: none, percent: pct(none) },
  ];
}

export interface ResponseRow {
  code: string;
  /** share of the edge's requests with this code, percent */
  percent: number;
  flags: { flag: string; percent: number }[];
  hosts: { host: string; percent: number }[];
}

function shares(record: Record<string, string> | undefined) {
  return Object.entries(record ?? {})
    .map(([key, value]) => ({ key, percent: parseRate(value) }))
    .sort((a, b) => b.percent - a.percent || a.key.localeCompare(b.key));
}

/** The edge's responses by code: errors first, then by share. */
export function responseRows(edge: EdgeData): ResponseRow[] {
  const responses = edge.traffic?.responses ?? {};
  const rows: ResponseRow[] = Object.entries(responses).map(([code, detail]) => {
    const flags = shares(detail.flags).map((s) => ({ flag: s.key, percent: s.percent }));
    const hosts = shares(detail.hosts).map((s) => ({ host: s.key, percent: s.percent }));
    const fromFlags = flags.reduce((sum, f) => sum + f.percent, 0);
    const fromHosts = hosts.reduce((sum, h) => sum + h.percent, 0);
    return { code, percent: fromFlags || fromHosts, flags, hosts };
  });
  const isError = (code: string) => code === '-' || Number(code) >= 400;
  return rows.sort(
    (a, b) => Number(isError(b.code)) - Number(isError(a.code)) || b.percent - a.percent || a.code.localeCompare(b.code),
  );
}

export const UNKNOWN_REASONS: Record<string, string> = {
  nodeport: 'Reached a pod through a NodePort, bypassing the ingress gateway',
  probe: 'Kubelet liveness, readiness or startup probes',
  scrape: 'Metrics scrapes (Prometheus and similar)',
  'no-peer-identity': 'Requests with no peer identity and no matching client-side record',
};

export interface UnknownReasonRow {
  reason: string;
  /** requests per second over the window */
  rate: number;
  percent: number;
  description: string;
}

/** The unknown node's reasons (rates, sent as strings), busiest first. */
export function unknownReasonRows(node: NodeData): UnknownReasonRow[] {
  const reasons = node.unknownReason ?? {};
  const total = Object.values(reasons).reduce<number>((sum, n) => sum + parseRate(n), 0);
  return Object.entries(reasons)
    .map(([reason, n]) => ({
      reason,
      rate: parseRate(n),
      percent: total > 0 ? (parseRate(n) / total) * 100 : 0,
      description: UNKNOWN_REASONS[reason] ?? '',
    }))
    .sort((a, b) => b.rate - a.rate || a.reason.localeCompare(b.reason));
}

export interface GraphTotals {
  nodes: number;
  edges: number;
  nodesByType: Record<string, number>;
  namespaces: string[];
  httpRate: number;
  httpErrorPercent: number;
  grpcRate: number;
  tcpRate: number;
  unhealthyEdges: number;
}

export function graphTotals(state: GraphState): GraphTotals {
  const nodesByType: Record<string, number> = {};
  const namespaces = new Set<string>();
  for (const node of state.nodes.values()) {
    nodesByType[node.nodeType] = (nodesByType[node.nodeType] ?? 0) + 1;
    if (node.namespace && node.nodeType !== 'unknown') namespaces.add(node.namespace);
  }
  let http = 0;
  let httpErr = 0;
  let grpc = 0;
  let tcp = 0;
  let unhealthy = 0;
  for (const edge of state.edges.values()) {
    const rate = edgeRate(edge);
    const protocol = edgeProtocol(edge);
    if (protocol === 'tcp') tcp += rate;
    else if (protocol === 'grpc') grpc += rate;
    else {
      http += rate;
      httpErr += (rate * edgeErrorPercent(edge)) / 100;
    }
    const health = edgeHealth(edge);
    if (health === 'Degraded' || health === 'Failure') unhealthy += 1;
  }
  return {
    nodes: state.nodes.size,
    edges: state.edges.size,
    nodesByType,
    namespaces: [...namespaces].sort(),
    httpRate: http,
    httpErrorPercent: http > 0 ? (httpErr / http) * 100 : 0,
    grpcRate: grpc,
    tcpRate: tcp,
    unhealthyEdges: unhealthy,
  };
}

/** True when the graph has no edge carrying traffic (the page shows its empty state). */
export function hasTraffic(state: GraphState): boolean {
  for (const edge of state.edges.values()) if (edgeRate(edge) > 0) return true;
  return false;
}
