// A Jaeger trace as timeline rows: spans in depth-first order (children by start time), each
// with its depth, offset from the trace start, subtree size, error and critical-path marks.
// Iterative throughout so that deep and 10,000-span traces cost no recursion.
import type { JaegerProcess, JaegerSpan, JaegerTrace, KeyValue } from './types';

export interface SpanRow {
  /** position in depth-first order */
  index: number;
  span: JaegerSpan;
  spanID: string;
  serviceName: string;
  operationName: string;
  depth: number;
  /** row index of the parent, -1 for a root */
  parentIndex: number;
  children: number[];
  descendantCount: number;
  /** µs from the trace's start */
  startOffset: number;
  duration: number;
  isError: boolean;
  /** an error in this span or below it (shown on collapsed rows) */
  subtreeHasError: boolean;
  /** names a parent that is not in the trace */
  isOrphan: boolean;
  /** on the critical path: the chain of work the trace's end waited for */
  critical: boolean;
}

export interface ServiceStat {
  name: string;
  spanCount: number;
  errorCount: number;
}

export interface TraceModel {
  traceID: string;
  rows: SpanRow[];
  processes: Record<string, JaegerProcess>;
  /** µs since the epoch */
  startTime: number;
  endTime: number;
  duration: number;
  /** in order of first appearance in the timeline */
  services: ServiceStat[];
  /** levels in the tree (a lone root is 1) */
  depth: number;
  spanCount: number;
  errorCount: number;
  rootServiceName: string;
  rootOperationName: string;
  warnings: string[];
}

export function tagValue(tags: KeyValue[] | null | undefined, key: string): unknown {
  if (!tags) return undefined;
  for (const tag of tags) if (tag.key === key) return tag.value;
  return undefined;
}

/** A span failed when it carries error=true or an OpenTelemetry ERROR status. */
export function isErrorSpan(span: JaegerSpan): boolean {
  const error = tagValue(span.tags, 'error');
  if (error === true || error === 'true') return true;
  return tagValue(span.tags, 'otel.status_code') === 'ERROR';
}

/** The index of the span's parent in `spans`: its first CHILD_OF in the trace, else its first FOLLOWS_FROM. */
function parentOf(span: JaegerSpan, self: number, firstIndex: Map<string, number>): { parent: number; orphan: boolean } {
  const refs = span.references ?? [];
  let orphan = false;
  for (const kind of ['CHILD_OF', 'FOLLOWS_FROM']) {
    for (const ref of refs) {
      if (ref.refType !== kind) continue;
      if (ref.traceID && ref.traceID !== span.traceID) continue;
      const parent = firstIndex.get(ref.spanID);
      if (parent !== undefined && parent !== self) return { parent, orphan: false };
      orphan = true;
    }
  }
  return { parent: -1, orphan };
}

function byStart(spans: JaegerSpan[]) {
  return (a: number, b: number) => spans[a].startTime - spans[b].startTime || a - b;
}

export function buildTraceModel(trace: JaegerTrace): TraceModel {
  const spans = trace.spans ?? [];
  const processes = trace.processes ?? {};
  const n = spans.length;
  const firstIndex = new Map<string, number>();
  spans.forEach((span, i) => {
    if (!firstIndex.has(span.spanID)) firstIndex.set(span.spanID, i);
  });

  const parent = new Int32Array(n);
  const orphan = new Uint8Array(n);
  const children: number[][] = Array.from({ length: n }, () => []);
  for (let i = 0; i < n; i += 1) {
    const found = parentOf(spans[i], i, firstIndex);
    parent[i] = found.parent;
    orphan[i] = found.orphan ? 1 : 0;
    if (found.parent >= 0) children[found.parent].push(i);
  }
  const order = byStart(spans);
  for (const list of children) if (list.length > 1) list.sort(order);

  // Depth-first from the roots; spans left unvisited sit on a reference cycle and become roots.
  const visited = new Uint8Array(n);
  const sequence: number[] = [];
  const depthOf = new Int32Array(n);
  const visit = (root: number) => {
    const stack = [root];
    depthOf[root] = 0;
    while (stack.length) {
      const i = stack.pop() as number;
      if (visited[i]) continue;
      visited[i] = 1;
      sequence.push(i);
      const kids = children[i];
      for (let k = kids.length - 1; k >= 0; k -= 1) {
        const child = kids[k];
        if (!visited[child]) {
          depthOf[child] = depthOf[i] + 1;
          stack.push(child);
        }
      }
    }
  };
  const all = Array.from({ length: n }, (_, i) => i).sort(order);
  for (const i of all) if (parent[i] < 0) visit(i);
  for (const i of all) {
    if (!visited[i]) {
      parent[i] = -1;
      visit(i);
    }
  }

  let startTime = Infinity;
  let endTime = -Infinity;
  for (const span of spans) {
    startTime = Math.min(startTime, span.startTime);
    endTime = Math.max(endTime, span.startTime + span.duration);
  }
  if (!n) {
    startTime = 0;
    endTime = 0;
  }

  const rowOf = new Int32Array(n);
  sequence.forEach((spanIndex, rowIndex) => {
    rowOf[spanIndex] = rowIndex;
  });
  const services = new Map<string, ServiceStat>();
  let maxDepth = 0;
  let errorCount = 0;
  const rows: SpanRow[] = sequence.map((i, index) => {
    const span = spans[i];
    const serviceName = processes[span.processID]?.serviceName ?? span.processID ?? 'unknown';
    const isError = isErrorSpan(span);
    const stat = services.get(serviceName) ?? { name: serviceName, spanCount: 0, errorCount: 0 };
    stat.spanCount += 1;
    if (isError) {
      stat.errorCount += 1;
      errorCount += 1;
    }
    services.set(serviceName, stat);
    maxDepth = Math.max(maxDepth, depthOf[i]);
    return {
      index,
      span,
      spanID: span.spanID,
      serviceName,
      operationName: span.operationName,
      depth: depthOf[i],
      parentIndex: parent[i] >= 0 ? rowOf[parent[i]] : -1,
      children: [],
      descendantCount: 0,
      startOffset: span.startTime - startTime,
      duration: span.duration,
      isError,
      subtreeHasError: isError,
      isOrphan: orphan[i] === 1 && parent[i] < 0,
      critical: false,
    };
  });
  for (const row of rows) if (row.parentIndex >= 0) rows[row.parentIndex].children.push(row.index);
  // Children follow their parent in depth-first order, so one backward pass sums subtrees.
  for (let r = rows.length - 1; r >= 0; r -= 1) {
    const row = rows[r];
    if (row.parentIndex >= 0) {
      const up = rows[row.parentIndex];
      up.descendantCount += row.descendantCount + 1;
      if (row.subtreeHasError) up.subtreeHasError = true;
    }
  }
  markCriticalPath(rows);

  const root = rows[0];
  return {
    traceID: trace.traceID ?? spans[0]?.traceID ?? '',
    rows,
    processes,
    startTime,
    endTime,
    duration: endTime - startTime,
    services: [...services.values()],
    depth: n ? maxDepth + 1 : 0,
    spanCount: n,
    errorCount,
    rootServiceName: root?.serviceName ?? '',
    rootOperationName: root?.operationName ?? '',
    warnings: trace.warnings ?? [],
  };
}

/**
 * Mark the critical path: from each root, walk back from its end; the child that finished last
 * before the cursor was being waited for, then the cursor moves to that child's start.
 */
export function markCriticalPath(rows: SpanRow[]): void {
  const stack: [number, number][] = [];
  for (const row of rows) if (row.parentIndex < 0) stack.push([row.index, row.startOffset + row.duration]);
  while (stack.length) {
    const [index, limit] = stack.pop() as [number, number];
    const row = rows[index];
    row.critical = true;
    let cursor = Math.min(row.startOffset + row.duration, limit);
    const kids = row.children
      .map((c) => rows[c])
      .sort((a, b) => b.startOffset + b.duration - (a.startOffset + a.duration));
    for (const kid of kids) {
      if (kid.startOffset >= cursor) continue;
      stack.push([kid.index, cursor]);
      cursor = kid.startOffset;
    }
  }
}

/**
 * Row indices whose service, operation, tags, process tags or log fields contain `query`
 * (case-insensitive), or whose span id is `query`.
 */
export function findRows(model: TraceModel, query: string): Set<number> {
  const q = query.trim().toLowerCase();
  const found = new Set<number>();
  if (!q) return found;
  const matches = (tags: KeyValue[] | null | undefined) =>
    (tags ?? []).some((t) => t.key.toLowerCase().includes(q) || String(t.value).toLowerCase().includes(q));
  for (const row of model.rows) {
    if (
      row.serviceName.toLowerCase().includes(q) ||
      row.operationName.toLowerCase().includes(q) ||
      row.spanID.toLowerCase() === q ||
      matches(row.span.tags) ||
      matches(model.processes[row.span.processID]?.tags) ||
      (row.span.logs ?? []).some((log) => matches(log.fields))
    ) {
      found.add(row.index);
    }
  }
  return found;
}
