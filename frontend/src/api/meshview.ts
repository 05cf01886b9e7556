// meshview's own endpoints: graph, namespaces, traces by request id.
import type { GraphJson } from '../graph/model/types';
import type { TraceSummaryV3 } from '../traces/model/types';
import { getJson } from './http';

export function fetchGraph(url: string, signal?: AbortSignal): Promise<GraphJson> {
  return getJson<GraphJson>(url, signal);
}

export async function fetchNamespaces(signal?: AbortSignal): Promise<string[]> {
  const body = await getJson<{ namespaces?: unknown }>('/api/v1/namespaces', signal);
  const list = Array.isArray(body?.namespaces) ? body.namespaces : [];
  return list
    .map((n) => (typeof n === 'string' ? n : (n as { name?: string })?.name))
    .filter((n): n is string => typeof n === 'string' && n.length > 0)
    .sort();
}

/** The traces whose spans carry an access log's x-request-id, newest first. */
export async function fetchRequestIdTraces(requestId: string, signal?: AbortSignal): Promise<TraceSummaryV3[]> {
  const body = await getJson<{ results?: TraceSummaryV3[] }>(`/api/v1/traces/request-ids/${encodeURIComponent(requestId)}`, signal);
  return Array.isArray(body?.results) ? body.results : [];
}
