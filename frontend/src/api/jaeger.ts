// Jaeger's query API v1 as meshview serves it under /jaeger/api.
import type { JaegerEnvelope, JaegerTrace } from '../traces/model/types';
import { ApiError, getJson } from './http';

const BASE = '/jaeger/api';

function sortedNames(data: unknown): string[] {
  return (Array.isArray(data) ? data : []).filter((s): s is string => typeof s === 'string').sort();
}

export async function fetchServices(signal?: AbortSignal): Promise<string[]> {
  const body = await getJson<JaegerEnvelope<string[] | null>>(`${BASE}/services`, signal);
  return sortedNames(body?.data);
}

export async function fetchOperations(service: string, signal?: AbortSignal): Promise<string[]> {
  const body = await getJson<JaegerEnvelope<string[] | null>>(
    `${BASE}/services/${encodeURIComponent(service)}/operations`,
    signal,
  );
  return sortedNames(body?.data);
}

export async function searchTraces(query: URLSearchParams, signal?: AbortSignal): Promise<JaegerTrace[]> {
  const body = await getJson<JaegerEnvelope<JaegerTrace[] | null>>(`${BASE}/traces?${query.toString()}`, signal);
  return Array.isArray(body?.data) ? body.data : [];
}

/** The trace, or null when the server has no trace with this id. */
export async function fetchTrace(traceID: string, signal?: AbortSignal): Promise<JaegerTrace | null> {
  let body: JaegerEnvelope<JaegerTrace[] | null>;
  try {
    body = await getJson<JaegerEnvelope<JaegerTrace[] | null>>(`${BASE}/traces/${encodeURIComponent(traceID)}`, signal);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  }
  const trace = Array.isArray(body?.data) ? body.data[0] : undefined;
  return trace ?? null;
}

export interface DependencyLink {
  parent: string;
  child: string;
  callCount: number;
}

/** Service calls over `lookbackMs` up to `endMs` (Jaeger's /api/dependencies, ms units). */
export async function fetchDependencies(endMs: number, lookbackMs: number, signal?: AbortSignal): Promise<DependencyLink[]> {
  const body = await getJson<JaegerEnvelope<DependencyLink[] | null>>(`${BASE}/dependencies?endTs=${endMs}&lookback=${lookbackMs}`, signal);
  return Array.isArray(body?.data) ? body.data : [];
}
