// Health of edges and nodes, with Kiali's default tolerances as the fallback when the server
// sent no healthStatus.
import { parseRate } from './format';
import type { EdgeData, HealthStatus } from './types';

export const HEALTH_COLORS: Record<HealthStatus, string> = {
  Healthy: '#3e8635',
  Degraded: '#ec7a08',
  Failure: '#c9190b',
  NA: '#8a8d90',
};
export const TCP_COLOR = '#0066cc';
export const IDLE_COLOR = '#b8bbbe';

const RANK: Record<HealthStatus, number> = { NA: 0, Healthy: 1, Degraded: 2, Failure: 3 };

export function isHealthStatus(value: unknown): value is HealthStatus {
  return value === 'Healthy' || value === 'Degraded' || value === 'Failure' || value === 'NA';
}

export function worst(a: HealthStatus, b: HealthStatus): HealthStatus {
  return RANK[a] >= RANK[b] ? a : b;
}

export function healthColor(status: string | undefined): string {
  return isHealthStatus(status) ? HEALTH_COLORS[status] : HEALTH_COLORS.NA;
}

/** Grade one error percentage: degraded from `degraded` (above 0 when it is 0), failure from `failure`. */
export function grade(pct: number, degraded: number, failure: number): HealthStatus {
  if (pct > 0 && pct >= failure) return 'Failure';
  if (pct > 0 && pct >= degraded) return 'Degraded';
  return 'Healthy';
}

export function edgeProtocol(edge: EdgeData): string {
  return edge.traffic?.protocol ?? 'http';
}

/** The edge's request rate (requests/s for http and grpc, bytes/s for tcp). */
export function edgeRate(edge: EdgeData): number {
  const rates = edge.traffic?.rates ?? {};
  const protocol = edgeProtocol(edge);
  if (protocol === 'tcp') return parseRate(rates.tcp);
  if (protocol === 'grpc') return parseRate(rates.grpc);
  return parseRate(rates.http);
}

/** The share of failed requests (4xx, 5xx, no response; gRPC errors) in percent. */
export function edgeErrorPercent(edge: EdgeData): number {
  const rates = edge.traffic?.rates ?? {};
  const protocol = edgeProtocol(edge);
  const total = edgeRate(edge);
  if (total <= 0 || protocol === 'tcp') return 0;
  if (protocol === 'grpc') {
    return ((parseRate(rates.grpcErr) + parseRate(rates.grpcNoResponse)) / total) * 100;
  }
  const failed = parseRate(rates.http4xx) + parseRate(rates.http5xx) + parseRate(rates.httpNoResponse);
  return (failed / total) * 100;
}

/** Kiali's default tolerances applied to the edge's rates; NA without traffic. */
export function computeEdgeHealth(edge: EdgeData): HealthStatus {
  const rates = edge.traffic?.rates ?? {};
  const protocol = edgeProtocol(edge);
  const total = edgeRate(edge);
  if (total <= 0) return 'NA';
  if (protocol === 'tcp') return 'Healthy';
  const pct = (v: string | undefined) => (parseRate(v) / total) * 100;
  if (protocol === 'grpc') {
    return worst(grade(pct(rates.grpcErr), 0, 10), grade(pct(rates.grpcNoResponse), 0, 10));
  }
  let status = grade(pct(rates.http5xx), 0, 10);
  status = worst(status, grade(pct(rates.http4xx), 10, 20));
  status = worst(status, grade(pct(rates.httpNoResponse), 0, 10));
  return status;
}

/** The server's verdict when it gave one, else the computed one. */
export function edgeHealth(edge: EdgeData): HealthStatus {
  const given = edge.healthStatus;
  if (given === 'Healthy' || given === 'Degraded' || given === 'Failure') return given;
  return computeEdgeHealth(edge);
}

/** Edge colour: grey without traffic, blue for TCP, else by health. */
export function edgeColor(edge: EdgeData): string {
  if (edgeRate(edge) <= 0) return IDLE_COLOR;
  if (edgeProtocol(edge) === 'tcp') return TCP_COLOR;
  return HEALTH_COLORS[edgeHealth(edge)];
}
