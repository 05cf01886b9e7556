// The side panels' charts: which series GET /api/v1/graph/metrics is asked for (a node's
// inbound traffic, or an edge's), and its answer as the charts' columns.
import type { EdgeData, NodeData } from './types';

export interface GraphSeries {
  start: number;
  end: number;
  step: number;
  timestamps: number[];
  requestRate: number[];
  errorRate: number[];
  p50: (number | null)[];
  p95: (number | null)[];
  p99: (number | null)[];
  tcpSentRate: number[];
  tcpReceivedRate: number[];
}

/** The identity parameters of a node (prefixed `source`/`destination` for an edge's ends); null for a box. */
function identity(node: NodeData | undefined, graphType: string, prefix: '' | 'source' | 'destination'): [string, string][] | null {
  if (!node || node.isBox) return null;
  const key = (name: string) => (prefix ? `${prefix}${name[0].toUpperCase()}${name.slice(1)}` : name);
  const out: [string, string][] = [[key('namespace'), node.namespace]];
  if (node.nodeType === 'service' && node.service) out.push([key('service'), node.service]);
  else if (node.nodeType === 'app' && node.app) {
    out.push([key('app'), node.app]);
    if (graphType === 'versionedApp' && node.version) out.push([key('version'), node.version]);
  } else if (node.workload) out.push([key('workload'), node.workload]);
  else return null;
  return out;
}

/** The query of a node's (inbound, or outbound for a root) or an edge's series; null when it has none. */
export function seriesQuery(
  selection: { node: NodeData } | { edge: EdgeData; source: NodeData | undefined; target: NodeData | undefined },
  graphType: string,
  duration: number,
  queryTime: number | null,
): URLSearchParams | null {
  let pairs: [string, string][] | null;
  if ('node' in selection) {
    pairs = identity(selection.node, graphType, '');
    if (pairs && selection.node.isRoot) pairs.push(['direction', 'outbound']);
  } else {
    const source = identity(selection.source, graphType, 'source');
    const target = identity(selection.target, graphType, 'destination');
    pairs = source && target ? [...source, ...target] : null;
  }
  if (!pairs) return null;
  const p = new URLSearchParams(pairs);
  p.set('duration', `${duration}s`);
  if (queryTime !== null) p.set('queryTime', String(queryTime));
  return p;
}
