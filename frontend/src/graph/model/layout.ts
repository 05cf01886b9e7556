// A cheap layered layout for large graphs, linear in nodes and edges: each node goes to the
// layer of its shortest distance from a root, nodes in a layer are ordered by the average
// position of their callers, and a layer taller than `maxPerColumn` wraps into more columns.

export interface LayeredOptions {
  maxPerColumn?: number;
  columnGap?: number;
  layerGap?: number;
  rowGap?: number;
}

export interface Point {
  x: number;
  y: number;
}

/** Positions by node id; nodes without callers (or only on cycles) start the layers. */
export function layeredPositions(
  nodeIds: string[],
  edges: { source: string; target: string }[],
  options: LayeredOptions = {},
): Map<string, Point> {
  const maxPerColumn = options.maxPerColumn ?? Math.max(12, Math.round(Math.sqrt(nodeIds.length) * 0.9));
  const columnGap = options.columnGap ?? 150;
  const layerGap = options.layerGap ?? 230;
  const rowGap = options.rowGap ?? 56;

  const known = new Set(nodeIds);
  const out = new Map<string, string[]>();
  const callers = new Map<string, string[]>();
  const indegree = new Map<string, number>();
  for (const id of nodeIds) {
    out.set(id, []);
    callers.set(id, []);
    indegree.set(id, 0);
  }
  for (const { source, target } of edges) {
    if (!known.has(source) || !known.has(target) || source === target) continue;
    out.get(source)!.push(target);
    callers.get(target)!.push(source);
    indegree.set(target, indegree.get(target)! + 1);
  }

  const layer = new Map<string, number>();
  const bfs = (starts: string[]) => {
    const queue = [...starts];
    for (const s of starts) layer.set(s, 0);
    for (let head = 0; head < queue.length; head += 1) {
      const id = queue[head];
      const next = layer.get(id)! + 1;
      for (const t of out.get(id)!) {
        if (!layer.has(t)) {
          layer.set(t, next);
          queue.push(t);
        }
      }
    }
  };
  bfs(nodeIds.filter((id) => indegree.get(id) === 0));
  for (const id of nodeIds) if (!layer.has(id)) bfs([id]);

  const layers: string[][] = [];
  for (const id of nodeIds) {
    const l = layer.get(id)!;
    (layers[l] ??= []).push(id);
  }

  const order = new Map<string, number>();
  const positions = new Map<string, Point>();
  let x = 0;
  for (const members of layers) {
    if (!members?.length) continue;
    const weight = (id: string) => {
      const placed = callers.get(id)!.filter((c) => order.has(c));
      return placed.length ? placed.reduce((sum, c) => sum + order.get(c)!, 0) / placed.length : Number.MAX_SAFE_INTEGER;
    };
    const weights = new Map(members.map((id) => [id, weight(id)]));
    members.sort((a, b) => weights.get(a)! - weights.get(b)!);
    const columns = Math.ceil(members.length / maxPerColumn);
    const rows = Math.ceil(members.length / columns);
    members.forEach((id, i) => {
      order.set(id, i);
      const column = Math.floor(i / rows);
      const row = i % rows;
      // Alternate columns shift half a row so edges into a wrapped layer do not overlap.
      const shift = column % 2 ? rowGap / 2 : 0;
      positions.set(id, { x: x + column * columnGap, y: (row - (rows - 1) / 2) * rowGap + shift });
    });
    x += (columns - 1) * columnGap + layerGap;
  }
  return positions;
}

function aspectOf(points: Iterable<Point>): number {
  let x1 = Infinity;
  let x2 = -Infinity;
  let y1 = Infinity;
  let y2 = -Infinity;
  for (const p of points) {
    x1 = Math.min(x1, p.x);
    x2 = Math.max(x2, p.x);
    y1 = Math.min(y1, p.y);
    y2 = Math.max(y2, p.y);
  }
  return (x2 - x1 + 1) / (y2 - y1 + 1);
}

/** The layered layout with its column height tuned so the drawing's shape matches `aspect` (width / height). */
export function layeredPositionsFor(
  nodeIds: string[],
  edges: { source: string; target: string }[],
  aspect: number,
): Map<string, Point> {
  let maxPerColumn = Math.max(12, Math.round(Math.sqrt(nodeIds.length) * 0.9));
  let best = layeredPositions(nodeIds, edges, { maxPerColumn });
  if (!Number.isFinite(aspect) || aspect <= 0 || nodeIds.length < 2) return best;
  for (let i = 0; i < 3; i += 1) {
    const ratio = aspectOf(best.values()) / aspect;
    if (ratio > 0.7 && ratio < 1.4) break;
    // Wider than wanted: taller columns; narrower: shorter ones.
    const next = Math.max(4, Math.round(maxPerColumn * Math.sqrt(ratio)));
    if (next === maxPerColumn) break;
    maxPerColumn = next;
    best = layeredPositions(nodeIds, edges, { maxPerColumn });
  }
  return best;
}
