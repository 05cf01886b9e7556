// Trace statistics, as Jaeger UI's: spans grouped by service and operation with their count,
// total, average, minimum and maximum duration, and self time (the part no child covers).
import type { SpanRow, TraceModel } from './tree';

export interface StatRow {
  service: string;
  operation: string;
  count: number;
  errors: number;
  total: number;
  avg: number;
  min: number;
  max: number;
  /** µs of the spans' time not spent in a child span */
  selfTotal: number;
  /** self time as a share of the trace's duration, percent */
  selfPercent: number;
}

/** The time of `row` that none of its children covers, in µs. */
export function selfTime(row: SpanRow, model: TraceModel): number {
  const start = row.startOffset;
  const end = row.startOffset + row.duration;
  const spans = row.children
    .map((c) => [Math.max(start, model.rows[c].startOffset), Math.min(end, model.rows[c].startOffset + model.rows[c].duration)] as const)
    .filter(([s, e]) => e > s)
    .sort((x, y) => x[0] - y[0]);
  let covered = 0;
  let cursor = start;
  for (const [s, e] of spans) {
    if (e <= cursor) continue;
    covered += e - Math.max(s, cursor);
    cursor = e;
  }
  return row.duration - covered;
}

/** One row per service and operation, the most self time first. */
export function traceStatistics(model: TraceModel): StatRow[] {
  const groups = new Map<string, StatRow>();
  for (const row of model.rows) {
    const key = `${row.serviceName}\n${row.operationName}`;
    const g = groups.get(key) ?? { service: row.serviceName, operation: row.operationName, count: 0, errors: 0, total: 0, avg: 0, min: Infinity, max: 0, selfTotal: 0, selfPercent: 0 };
    g.count += 1;
    g.errors += row.isError ? 1 : 0;
    g.total += row.duration;
    g.min = Math.min(g.min, row.duration);
    g.max = Math.max(g.max, row.duration);
    g.selfTotal += selfTime(row, model);
    groups.set(key, g);
  }
  return [...groups.values()]
    .map((g) => ({ ...g, avg: g.total / g.count, selfPercent: model.duration > 0 ? (g.selfTotal / model.duration) * 100 : 0 }))
    .sort((a, b) => b.selfTotal - a.selfTotal || a.service.localeCompare(b.service));
}
