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
}

export const DEFAULT_QUERY: GraphQuery = {
  namespaces: [],
  graphType: 'versionedApp',
  duration: 300,
  injectServiceNodes: true,
  sources: TELEMETRY_SOURCES.map((s) => s.value),
  edgeLabels: 'rate',
  update: 'live',
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
  const s = p.toString();
  return s ? `?${s}` : '';
}

/** Parameters of GET /api/v1/graph and /ws/graph/ (sources only when a subset is chosen). */
export function graphApiParams(q: GraphQuery): URLSearchParams {
  const p = new URLSearchParams();
  p.set('namespaces', q.namespaces.join(','));
  p.set('graphType', q.graphType);
  p.set('duration', `${q.duration}s`);
  p.set('injectServiceNodes', String(q.injectServiceNodes));
  if (q.sources.length && !allSources(q.sources)) p.set('sources', q.sources.join(','));
  return p;
}

export function graphApiUrl(q: GraphQuery, format?: 'dot'): string {
  const p = graphApiParams(q);
  if (format) p.set('format', format);
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
