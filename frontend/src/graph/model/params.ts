// The graph page's settings: read from and written to the page URL (so a view can be shared),
// and turned into the API's and the websocket's query strings.
import type { EdgeLabelMode } from './elements';
import { EDGE_LABEL_MODES } from './elements';

export const GRAPH_TYPES = [
  { value: 'workload', label: 'Workload graph' },
  { value: 'app', label: 'App graph' },
  { value: 'versionedApp', label: 'Versioned app graph' },
  { value: 'service', label: 'Service graph' },
] as const;

export const DURATIONS = [
  { seconds: 60, label: 'Last 1m' },
  { seconds: 300, label: 'Last 5m' },
  { seconds: 600, label: 'Last 10m' },
  { seconds: 1800, label: 'Last 30m' },
  { seconds: 3600, label: 'Last 1h' },
  { seconds: 3 * 3600, label: 'Last 3h' },
  { seconds: 6 * 3600, label: 'Last 6h' },
  { seconds: 12 * 3600, label: 'Last 12h' },
  { seconds: 86400, label: 'Last 1d' },
  { seconds: 7 * 86400, label: 'Last 7d' },
] as const;

/** How a graph groups its nodes into boxes (Kiali's boxBy), outermost first. */
export const BOX_BY = [
  { value: 'cluster', label: 'Cluster' },
  { value: 'namespace', label: 'Namespace' },
  { value: 'app', label: 'App' },
] as const;

export const TELEMETRY_SOURCES = [
  { value: 'accesslogs', label: 'Access logs' },
  { value: 'spans', label: 'Spans' },
  { value: 'prometheus', label: 'Prometheus' },
] as const;

/** How the graph stays current: pushed over the websocket, polled, or on demand. */
export const UPDATE_MODES = [
  { value: 'live', label: 'Live' },
  { value: '15s', label: 'Every 15s' },
  { value: '1m', label: 'Every 1m' },
  { value: 'manual', label: 'Manual' },
] as const;
export type UpdateMode = (typeof UPDATE_MODES)[number]['value'];

export interface GraphQuery {
  namespaces: string[];
  graphType: string;
  duration: number;
  injectServiceNodes: boolean;
  sources: string[];
  edgeLabels: EdgeLabelMode;
  update: UpdateMode;
  /** End of the window in unix seconds; null: now (live). */
  queryTime: number | null;
  boxBy: string[];
  /** Ask for edges without traffic in the window (includeIdleEdges). */
  idleEdges: boolean;
  /** Show nodes without traffic in the window. */
  idleNodes: boolean;
  /** A lock badge on edges with mutual TLS. */
  security: boolean;
  /** Dots running along the edges at their request rate. */
  animation: boolean;
  /** Find and hide expressions (Kiali's grammar). */
  find: string;
  hide: string;
  /** The node to select, as `namespace/name` (a link from a trace). */
  focus: string;
  /** Drilled into one node's graph: `namespace/kind/name`, kind workload, app or service. */
  node: string;
}

export const DEFAULT_QUERY: GraphQuery = {
  namespaces: [],
  graphType: 'versionedApp',
  duration: 300,
  injectServiceNodes: true,
  sources: TELEMETRY_SOURCES.map((s) => s.value),
  edgeLabels: 'rate',
  update: 'live',
  queryTime: null,
  boxBy: [],
  idleEdges: false,
  idleNodes: false,
  security: false,
  animation: false,
  find: '',
  hide: '',
  focus: '',
  node: '',
};

function list(value: string | null): string[] {
  if (!value) return [];
  return [...new Set(value.split(',').map((s) => s.trim()).filter(Boolean))];
}

/** Read the page's query string; unknown or bad values fall back to the defaults. */
export function parseGraphQuery(search: string): GraphQuery {
  const p = new URLSearchParams(search);
  const q: GraphQuery = { ...DEFAULT_QUERY, namespaces: [], sources: [...DEFAULT_QUERY.sources] };
  q.namespaces = list(p.get('namespaces')).sort();
  const graphType = p.get('graphType');
  if (graphType && GRAPH_TYPES.some((t) => t.value === graphType)) q.graphType = graphType;
  const duration = Number.parseInt((p.get('duration') ?? '').replace(/s$/, ''), 10);
  if (DURATIONS.some((d) => d.seconds === duration)) q.duration = duration;
  const inject = p.get('injectServiceNodes');
  if (inject !== null) q.injectServiceNodes = inject !== 'false';
  const sources = list(p.get('sources')).filter((s) => TELEMETRY_SOURCES.some((t) => t.value === s));
  if (sources.length) q.sources = sources;
  const edges = p.get('edges');
  if (edges && EDGE_LABEL_MODES.some((m) => m.value === edges)) q.edgeLabels = edges as EdgeLabelMode;
  const update = p.get('update');
  if (update && UPDATE_MODES.some((m) => m.value === update)) q.update = update as UpdateMode;
  const queryTime = Number.parseInt(p.get('queryTime') ?? '', 10);
  if (Number.isInteger(queryTime) && queryTime > 0) q.queryTime = queryTime;
  q.boxBy = BOX_BY.map((b) => b.value).filter((b) => list(p.get('boxBy')).includes(b));
  q.idleEdges = p.get('idleEdges') === 'true';
  q.idleNodes = p.get('idleNodes') === 'true';
  q.security = p.get('security') === 'true';
  q.animation = p.get('animation') === 'true';
  q.find = p.get('find') ?? '';
  q.hide = p.get('hide') ?? '';
  q.focus = p.get('focus') ?? '';
  q.node = nodeGraphOf(p.get('node') ?? '') ? (p.get('node') ?? '') : '';
  return q;
}

function allSources(sources: string[]): boolean {
  return TELEMETRY_SOURCES.every((s) => sources.includes(s.value));
}

/** The page's query string: only what differs from the defaults, namespaces first. */
export function graphQueryToSearch(q: GraphQuery): string {
  const p = new URLSearchParams();
  if (q.namespaces.length) p.set('namespaces', q.namespaces.join(','));
  if (q.graphType !== DEFAULT_QUERY.graphType) p.set('graphType', q.graphType);
  if (q.duration !== DEFAULT_QUERY.duration) p.set('duration', `${q.duration}s`);
  if (!q.injectServiceNodes) p.set('injectServiceNodes', 'false');
  if (!allSources(q.sources)) p.set('sources', q.sources.join(','));
  if (q.edgeLabels !== DEFAULT_QUERY.edgeLabels) p.set('edges', q.edgeLabels);
  if (q.update !== DEFAULT_QUERY.update) p.set('update', q.update);
  if (q.queryTime !== null) p.set('queryTime', String(q.queryTime));
  if (q.boxBy.length) p.set('boxBy', q.boxBy.join(','));
  for (const flag of ['idleEdges', 'idleNodes', 'security', 'animation'] as const) if (q[flag]) p.set(flag, 'true');
  for (const text of ['find', 'hide', 'focus', 'node'] as const) if (q[text]) p.set(text, q[text]);
  const s = p.toString();
  return s ? `?${s}` : '';
}

/**
 * Parameters of GET /api/v1/graph and /ws/graph/ (sources only when a subset is chosen). Service
 * nodes are always asked for explicitly, as Kiali's UI does: the API's default is Kiali's (false).
 */
export function graphApiParams(q: GraphQuery): URLSearchParams {
  const p = new URLSearchParams();
  p.set('namespaces', q.namespaces.join(','));
  p.set('graphType', q.graphType);
  p.set('duration', `${q.duration}s`);
  p.set('injectServiceNodes', String(q.injectServiceNodes));
  if (q.sources.length && !allSources(q.sources)) p.set('sources', q.sources.join(','));
  if (q.boxBy.length) p.set('boxBy', q.boxBy.join(','));
  if (q.idleEdges) p.set('includeIdleEdges', 'true');
  if (q.queryTime !== null) p.set('queryTime', String(q.queryTime));
  return p;
}

/** The node of a node graph, from `namespace/kind/name`; null when it names none. */
export function nodeGraphOf(node: string): { namespace: string; kind: 'workload' | 'app' | 'service'; name: string } | null {
  const m = /^([^/]+)\/(workload|app|service)\/(.+)$/.exec(node);
  return m ? { namespace: m[1], kind: m[2] as 'workload' | 'app' | 'service', name: m[3] } : null;
}

/** GET /api/v1/graph, or /api/v1/graph/node for a node graph (one node, its callers and callees). */
export function graphApiUrl(q: GraphQuery, format?: 'dot'): string {
  const p = graphApiParams(q);
  if (format) p.set('format', format);
  const node = nodeGraphOf(q.node);
  if (node) {
    p.set('namespace', node.namespace);
    p.set(node.kind, node.name);
    return `/api/v1/graph/node?${p.toString()}`;
  }
  return `/api/v1/graph?${p.toString()}`;
}

export function graphSocketPath(q: GraphQuery): string {
  return `/ws/graph/?${graphApiParams(q).toString()}`;
}

const SYSTEM_NAMESPACES = new Set(['kube-system', 'kube-public', 'kube-node-lease', 'istio-system']);

/** Namespaces to show when the URL names none: the application namespaces, else all. */
export function defaultNamespaces(available: string[]): string[] {
  const apps = available.filter((n) => !SYSTEM_NAMESPACES.has(n));
  return (apps.length ? apps : available).slice().sort();
}
