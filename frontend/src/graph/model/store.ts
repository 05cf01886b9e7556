// The graph held in the browser: maps of node and edge data by id, built from a snapshot and
// patched by deltas so the canvas only touches what changed.
import type { EdgeData, GraphDeltaMessage, GraphJson, NodeData } from './types';

export interface GraphState {
  timestamp: number;
  duration: number;
  graphType: string;
  warnings: string[];
  nodes: Map<string, NodeData>;
  edges: Map<string, EdgeData>;
}

/** What a delta did, element by element, after cascades and repairs. */
export interface AppliedDelta {
  addedNodes: NodeData[];
  changedNodes: NodeData[];
  removedNodes: string[];
  addedEdges: EdgeData[];
  changedEdges: EdgeData[];
  removedEdges: string[];
  /** Edges the delta named whose source or target is not in the graph: not kept. */
  droppedEdges: string[];
}

export function emptyState(): GraphState {
  return { timestamp: 0, duration: 0, graphType: 'workload', warnings: [], nodes: new Map(), edges: new Map() };
}

export function stateFromGraph(graph: GraphJson): GraphState {
  const nodes = new Map<string, NodeData>();
  for (const { data } of graph.elements?.nodes ?? []) nodes.set(data.id, data);
  const edges = new Map<string, EdgeData>();
  for (const { data } of graph.elements?.edges ?? []) {
    if (nodes.has(data.source) && nodes.has(data.target)) edges.set(data.id, data);
  }
  return {
    timestamp: graph.timestamp,
    duration: graph.duration,
    graphType: graph.graphType,
    warnings: graph.warnings ?? [],
    nodes,
    edges,
  };
}

export function stateToGraph(state: GraphState): GraphJson {
  const graph: GraphJson = {
    timestamp: state.timestamp,
    duration: state.duration,
    graphType: state.graphType,
    elements: {
      nodes: [...state.nodes.values()].map((data) => ({ data })),
      edges: [...state.edges.values()].map((data) => ({ data })),
    },
  };
  if (state.warnings.length) graph.warnings = [...state.warnings];
  return graph;
}

/**
 * Apply a graph.delta in place. `changed` carries an element's full data and replaces it (an
 * edge keeps its ends if the new data omits them); `added` for a known id counts as a change and
 * `changed` for an unknown id as an addition. Removing a node removes its edges.
 */
export function applyDelta(state: GraphState, delta: GraphDeltaMessage): AppliedDelta {
  const result: AppliedDelta = {
    addedNodes: [],
    changedNodes: [],
    removedNodes: [],
    addedEdges: [],
    changedEdges: [],
    removedEdges: [],
    droppedEdges: [],
  };
  if (typeof delta.timestamp === 'number') state.timestamp = delta.timestamp;

  for (const id of delta.edges?.removed ?? []) {
    if (state.edges.delete(id)) result.removedEdges.push(id);
  }

  const removedNodes = new Set<string>();
  for (const id of delta.nodes?.removed ?? []) {
    if (state.nodes.delete(id)) {
      removedNodes.add(id);
      result.removedNodes.push(id);
    }
  }
  if (removedNodes.size) {
    for (const [id, edge] of state.edges) {
      if (removedNodes.has(edge.source) || removedNodes.has(edge.target)) {
        state.edges.delete(id);
        result.removedEdges.push(id);
      }
    }
  }

  const upsertNode = (data: NodeData) => {
    if (!data || typeof data.id !== 'string') return;
    if (state.nodes.has(data.id)) result.changedNodes.push(data);
    else result.addedNodes.push(data);
    state.nodes.set(data.id, data);
  };
  for (const { data } of delta.nodes?.added ?? []) upsertNode(data);
  for (const { data } of delta.nodes?.changed ?? []) upsertNode(data);

  const upsertEdge = (incoming: EdgeData) => {
    if (!incoming || typeof incoming.id !== 'string') return;
    const previous = state.edges.get(incoming.id);
    const data: EdgeData = previous
      ? { ...incoming, source: incoming.source ?? previous.source, target: incoming.target ?? previous.target }
      : incoming;
    if (!state.nodes.has(data.source) || !state.nodes.has(data.target)) {
      if (previous) {
        state.edges.delete(data.id);
        result.removedEdges.push(data.id);
      }
      result.droppedEdges.push(data.id);
      return;
    }
    if (previous && (previous.source !== data.source || previous.target !== data.target)) {
      // Cytoscape cannot move an edge's ends: replace it.
      result.removedEdges.push(data.id);
      result.addedEdges.push(data);
    } else if (previous) {
      result.changedEdges.push(data);
    } else {
      result.addedEdges.push(data);
    }
    state.edges.set(data.id, data);
  };
  for (const { data } of delta.edges?.added ?? []) upsertEdge(data);
  for (const { data } of delta.edges?.changed ?? []) upsertEdge(data);

  return result;
}

export function isEmptyDelta(applied: AppliedDelta): boolean {
  return (
    applied.addedNodes.length +
      applied.changedNodes.length +
      applied.removedNodes.length +
      applied.addedEdges.length +
      applied.changedEdges.length +
      applied.removedEdges.length ===
    0
  );
}

function sameData(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * The delta that turns `state` into `graph`: lets a refresh or a reconnect snapshot update the
 * canvas in place, keeping node positions, instead of rebuilding it.
 */
export function diffGraph(state: GraphState, graph: GraphJson): GraphDeltaMessage {
  const delta: GraphDeltaMessage = {
    type: 'graph.delta',
    timestamp: graph.timestamp,
    nodes: { added: [], removed: [], changed: [] },
    edges: { added: [], removed: [], changed: [] },
  };
  const nodeIds = new Set<string>();
  for (const { data } of graph.elements?.nodes ?? []) {
    nodeIds.add(data.id);
    const old = state.nodes.get(data.id);
    if (!old) delta.nodes!.added!.push({ data });
    else if (!sameData(old, data)) delta.nodes!.changed!.push({ data });
  }
  for (const id of state.nodes.keys()) if (!nodeIds.has(id)) delta.nodes!.removed!.push(id);
  const edgeIds = new Set<string>();
  for (const { data } of graph.elements?.edges ?? []) {
    edgeIds.add(data.id);
    const old = state.edges.get(data.id);
    if (!old) delta.edges!.added!.push({ data });
    else if (!sameData(old, data)) delta.edges!.changed!.push({ data });
  }
  for (const id of state.edges.keys()) if (!edgeIds.has(id)) delta.edges!.removed!.push(id);
  return delta;
}
