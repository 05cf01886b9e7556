// Kiali graph data -> cytoscape element definitions. The element keeps the server's data and
// adds the fields the stylesheet reads (label, colours, width).
import { badgeStrip, badgesOf } from './badges';
import { formatBytesRate, formatMs, formatPercent, formatRps, parseRate } from './format';
import { edgeColor, edgeHealth, edgeProtocol, edgeRate, healthColor } from './health';
import type { EdgeData, GraphJson, NodeData } from './types';

export type EdgeLabelMode = 'none' | 'rate' | 'percent' | 'p50' | 'p95' | 'p99';

export const EDGE_LABEL_MODES: { value: EdgeLabelMode; label: string }[] = [
  { value: 'none', label: 'No edge labels' },
  { value: 'rate', label: 'Request rate' },
  { value: 'percent', label: 'Request distribution' },
  { value: 'p50', label: 'Response time p50' },
  { value: 'p95', label: 'Response time p95' },
  { value: 'p99', label: 'Response time p99' },
];

export interface ElementOptions {
  graphType: string;
  edgeLabels: EdgeLabelMode;
}

export interface CyNodeDefinition {
  group: 'nodes';
  data: NodeData & {
    label: string;
    kind: string;
    borderColor: string;
    /** data URI of the badge strip, absent without badges */
    badges?: string;
    badgeWidth?: number;
  };
}

export interface CyEdgeDefinition {
  group: 'edges';
  data: EdgeData & {
    label: string;
    color: string;
    width: number;
    protocol: string;
    rate: number;
    health: string;
    /** some requests used mutual TLS: the security badge shows */
    mtls: boolean;
  };
}

/** The name a node is known by in the mesh, without namespace. */
export function nodeName(node: NodeData, graphType: string): string {
  switch (node.nodeType) {
    case 'unknown':
      return 'unknown';
    case 'service':
      return node.service || node.id;
    case 'workload':
      return node.workload || node.id;
    case 'app': {
      const app = node.app || node.workload || node.id;
      return graphType === 'versionedApp' && node.version ? `${app} ${node.version}` : app;
    }
    case 'box':
      if (node.isBox === 'namespace') return node.namespace;
      if (node.isBox === 'cluster') return node.cluster || node.id;
      return node.app || node.id;
    case 'aggregate':
      return `${String(node.aggregate ?? 'aggregate')}=${String(node.aggregateValue ?? '')}`;
    default:
      return node.workload || node.app || node.service || node.id;
  }
}

/** The canvas label: the name, the version on its own line, the namespace when outside. */
export function nodeLabel(node: NodeData, graphType: string): string {
  const lines: string[] = [];
  if (node.nodeType === 'app' && graphType === 'versionedApp' && node.version) {
    lines.push(node.app || node.id, node.version);
  } else {
    lines.push(nodeName(node, graphType));
  }
  if (node.isOutside && node.nodeType !== 'unknown' && node.namespace) lines.push(`(${node.namespace})`);
  return lines.join('\n');
}

/** Cytoscape shape family for the node: drives the stylesheet's selectors. */
export function nodeKind(node: NodeData): string {
  if (node.isServiceEntry) return 'serviceEntry';
  switch (node.nodeType) {
    case 'workload':
    case 'app':
    case 'service':
    case 'unknown':
    case 'box':
    case 'aggregate':
      return node.nodeType;
    default:
      return 'workload';
  }
}

/** An edge's response time quantile in ms, null when the edge has none. */
export function responseTimeMs(edge: EdgeData, quantile: 'avg' | 'p50' | 'p95' | 'p99'): number | null {
  const value = edge.responseTimes?.[quantile];
  if (value !== undefined && value !== null && value !== '') return parseRate(value);
  // Kiali's single responseTime is the p95 unless asked otherwise.
  if (quantile === 'p95' && edge.responseTime !== undefined && edge.responseTime !== '') {
    return parseRate(edge.responseTime);
  }
  return null;
}

/** The text on an edge for the chosen label mode, '' when there is nothing to say. */
export function edgeLabel(edge: EdgeData, mode: EdgeLabelMode): string {
  const rate = edgeRate(edge);
  const protocol = edgeProtocol(edge);
  if (mode === 'none' || rate <= 0) return '';
  if (mode === 'rate') {
    if (protocol === 'tcp') return formatBytesRate(rate);
    const rates = edge.traffic?.rates ?? {};
    const errPct = parseRate(protocol === 'grpc' ? rates.grpcPercentErr : rates.httpPercentErr);
    return errPct > 0 ? `${formatRps(rate)}\n${formatPercent(errPct)} err` : formatRps(rate);
  }
  if (mode === 'percent') {
    const rates = edge.traffic?.rates ?? {};
    const share = parseRate(protocol === 'grpc' ? rates.grpcPercentReq : rates.httpPercentReq);
    return protocol === 'tcp' ? '' : formatPercent(share);
  }
  const ms = responseTimeMs(edge, mode);
  return ms === null ? '' : formatMs(ms);
}

/** Line width grows with the logarithm of the rate: 1px idle, 5px at 10k rps. */
export function edgeWidth(edge: EdgeData): number {
  const rate = edgeRate(edge);
  if (rate <= 0) return 1;
  const scaled = edgeProtocol(edge) === 'tcp' ? Math.log10(1 + rate / 1000) : Math.log10(1 + rate);
  return Math.round(Math.min(5, 1.25 + scaled) * 100) / 100;
}

export function nodeElement(node: NodeData, options: ElementOptions): CyNodeDefinition {
  const element: CyNodeDefinition = {
    group: 'nodes',
    data: {
      ...node,
      label: nodeLabel(node, options.graphType),
      kind: nodeKind(node),
      borderColor: healthColor(node.healthStatus),
    },
  };
  const badges = badgesOf(node);
  if (badges.length) {
    element.data.badges = badgeStrip(badges);
    element.data.badgeWidth = BADGE_SIZE * badges.length;
  }
  return element;
}

/** Rendered size of one badge on the canvas, px at zoom 1. */
export const BADGE_SIZE = 13;

export function edgeElement(edge: EdgeData, options: ElementOptions): CyEdgeDefinition {
  return {
    group: 'edges',
    data: {
      ...edge,
      label: edgeLabel(edge, options.edgeLabels),
      color: edgeColor(edge),
      width: edgeWidth(edge),
      protocol: edgeProtocol(edge),
      rate: edgeRate(edge),
      health: edgeHealth(edge),
      mtls: parseRate(edge.isMTLS) > 0,
    },
  };
}

/**
 * All elements of a graph. Parents that are not in the graph are dropped from the child, and
 * edges whose ends are missing are left out, so cytoscape never sees a dangling reference.
 */
export function toElements(
  nodes: Iterable<NodeData>,
  edges: Iterable<EdgeData>,
  options: ElementOptions,
): (CyNodeDefinition | CyEdgeDefinition)[] {
  const ids = new Set<string>();
  const nodeList = [...nodes];
  for (const node of nodeList) ids.add(node.id);
  const out: (CyNodeDefinition | CyEdgeDefinition)[] = [];
  for (const node of nodeList) {
    const element = nodeElement(node, options);
    if (element.data.parent && !ids.has(element.data.parent)) delete element.data.parent;
    out.push(element);
  }
  for (const edge of edges) {
    if (ids.has(edge.source) && ids.has(edge.target)) out.push(edgeElement(edge, options));
  }
  return out;
}

export function graphElements(graph: GraphJson, options: ElementOptions) {
  return toElements(
    graph.elements.nodes.map((n) => n.data),
    graph.elements.edges.map((e) => e.data),
    options,
  );
}
