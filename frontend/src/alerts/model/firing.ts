// Which graph nodes and edges a firing alert is about, from the alert's labels: a node alert
// names a namespace and a workload, app or service; an edge alert its source and destination.
import type { EdgeData, NodeData } from '../../graph/model/types';

export interface AlertLabels {
  labels: Record<string, string>;
}

export interface AlertMarks<T> {
  nodes: Set<string>;
  edges: Set<string>;
  /** the alerts about a node or edge of this graph */
  matched: T[];
}

interface NodeRef {
  namespace?: string;
  workload?: string;
  app?: string;
  service?: string;
}

function refOf(labels: Record<string, string>, prefix: string): NodeRef {
  return {
    namespace: labels[`${prefix}namespace`] || undefined,
    workload: labels[`${prefix}workload`] || undefined,
    app: labels[`${prefix}app`] || undefined,
    service: labels[`${prefix}service`] || undefined,
  };
}

/** Whether a graph node is the node an alert names (a workload in any graph type whose nodes
 *  carry it, else its app, else its service). */
export function nodeMatches(node: NodeData, ref: NodeRef): boolean {
  if (node.nodeType === 'unknown' || node.isBox) return false;
  if (ref.namespace && node.namespace !== ref.namespace) return false;
  if (ref.workload) {
    if (node.workload) return node.workload === ref.workload;
    if (node.nodeType === 'app') return Boolean(ref.app) && node.app === ref.app;
    return false;
  }
  if (ref.service) return node.nodeType === 'service' && node.service === ref.service;
  if (ref.app) return node.app === ref.app;
  return false;
}

/** The nodes and edges of the graph that firing alerts are about, and those alerts. */
export function alertMarks<T extends AlertLabels>(alerts: T[], nodes: Iterable<NodeData>, edges: Iterable<EdgeData>): AlertMarks<T> {
  const marks: AlertMarks<T> = { nodes: new Set(), edges: new Set(), matched: [] };
  const nodeList = [...nodes];
  const byId = new Map(nodeList.map((n) => [n.id, n]));
  const edgeList = [...edges];
  for (const alert of alerts) {
    const { labels } = alert;
    let hit = false;
    if (labels.source_workload) {
      const source = refOf(labels, 'source_');
      const destination = refOf(labels, 'destination_');
      for (const edge of edgeList) {
        const from = byId.get(edge.source);
        const to = byId.get(edge.target);
        if (!from || !to) continue;
        const sourceHit = source.workload === 'unknown' ? from.nodeType === 'unknown' : nodeMatches(from, source);
        if (sourceHit && nodeMatches(to, destination)) {
          marks.edges.add(edge.id);
          hit = true;
        }
      }
    } else {
      const ref = refOf(labels, '');
      for (const node of nodeList) {
        if (nodeMatches(node, ref)) {
          marks.nodes.add(node.id);
          hit = true;
        }
      }
    }
    if (hit) marks.matched.push(alert);
  }
  return marks;
}
