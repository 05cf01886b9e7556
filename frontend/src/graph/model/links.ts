// Links between the graph and the traces: a node's or an edge's traces over the graph's window,
// and a traced service's node on the graph at the trace's time.
import { edgeErrorPercent } from './health';
import { DEFAULT_QUERY, graphQueryToSearch } from './params';
import type { EdgeData, NodeData } from './types';

/** The window of a graph in µs since the epoch: `duration` seconds up to `end` (unix seconds). */
export interface TraceWindow {
  start: number;
  end: number;
}

export function graphWindow(end: number, duration: number): TraceWindow {
  return { start: (end - duration) * 1_000_000, end: end * 1_000_000 };
}

/** The service name a node's spans carry (the app label, as OpenTelemetry's service.name). */
export function tracedService(node: NodeData | undefined): string | null {
  if (!node || node.nodeType === 'unknown' || node.isBox) return null;
  return node.app || node.service || node.workload || null;
}

function searchUrl(service: string, window: TraceWindow, tags = ''): string {
  const p = new URLSearchParams({ service });
  if (tags) p.set('tags', tags);
  p.set('start', String(window.start));
  p.set('end', String(window.end));
  return `/traces?${p.toString()}`;
}

export interface TraceLink {
  label: string;
  href: string;
}

/** A node's traces: the spans of its service in the window, and its failed ones. */
export function nodeTraceLinks(node: NodeData, window: TraceWindow): TraceLink[] {
  const service = tracedService(node);
  if (!service) return [];
  return [
    { label: `Traces of ${service}`, href: searchUrl(service, window) },
    { label: 'Failed traces', href: searchUrl(service, window, 'error=true') },
  ];
}

/**
 * An edge's traces: the server spans of its destination (the caller's client spans too when the
 * destination has no spans of its own, a service without workloads), and the failed ones when
 * the edge has errors.
 */
export function edgeTraceLinks(edge: EdgeData, source: NodeData | undefined, target: NodeData | undefined, window: TraceWindow): TraceLink[] {
  const service = tracedService(target) ?? tracedService(source);
  if (!service) return [];
  const links = [{ label: `Traces through ${service}`, href: searchUrl(service, window) }];
  if (edgeErrorPercent(edge) > 0) links.push({ label: 'Failed traces', href: searchUrl(service, window, 'error=true') });
  return links;
}

/**
 * The graph at a trace's time with a service's node selected: the five minutes that end just
 * after `endUs` (µs since the epoch) in the service's namespace.
 */
export function graphLinkForService(service: string, namespace: string | null, endUs: number, version: string | null = null): string {
  const queryTime = Math.ceil(endUs / 1_000_000) + 5;
  return `/graph${graphQueryToSearch({
    ...DEFAULT_QUERY,
    namespaces: namespace ? [namespace] : [],
    queryTime,
    update: 'manual',
    focus: [namespace ?? '', service, version ?? ''].join('/').replace(/\/$/, ''),
  })}`;
}

/**
 * The node a `focus` (`namespace/name/version`, `namespace/name` or `/name`) picks: a workload or
 * app before a service, of that version when there is one.
 */
export function focusedNode(nodes: Iterable<NodeData>, focus: string): NodeData | null {
  if (!focus) return null;
  const [namespace, name, version] = focus.includes('/') ? focus.split('/') : ['', focus, ''];
  let best: NodeData | null = null;
  let rank = 0;
  for (const node of nodes) {
    if (namespace && node.namespace !== namespace) continue;
    if (node.app !== name && node.workload !== name && node.service !== name) continue;
    const r = node.nodeType === 'service' ? 1 : version && node.version !== version ? 2 : 3;
    if (r > rank) {
      best = node;
      rank = r;
    }
  }
  return best;
}
