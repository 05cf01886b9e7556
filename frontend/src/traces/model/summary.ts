// One line per trace in the results and the live tail, from a full v1 trace or a v3 summary.
import { isErrorSpan } from './tree';
import type { JaegerTrace, TraceSummaryV3 } from './types';

export interface TraceSummaryRow {
  traceID: string;
  rootServiceName: string;
  rootOperationName: string;
  /** µs since the epoch */
  startTime: number;
  /** µs */
  duration: number;
  spanCount: number;
  errorCount: number;
  services: { name: string; spanCount: number; errorCount: number }[];
}

/** Nanoseconds as a decimal string to µs; 0 when unreadable. */
export function nanosToMicros(nanos: string | number | undefined): number {
  if (nanos === undefined || nanos === null || nanos === '') return 0;
  try {
    return Number(BigInt(String(nanos).split('.')[0]) / 1000n);
  } catch {
    const n = Number(nanos);
    return Number.isFinite(n) ? Math.floor(n / 1000) : 0;
  }
}

export function summarizeTrace(trace: JaegerTrace): TraceSummaryRow {
  const spans = trace.spans ?? [];
  const ids = new Set(spans.map((s) => s.spanID));
  let start = Infinity;
  let end = -Infinity;
  let errors = 0;
  let root: (typeof spans)[number] | undefined;
  const services = new Map<string, { name: string; spanCount: number; errorCount: number }>();
  for (const span of spans) {
    start = Math.min(start, span.startTime);
    end = Math.max(end, span.startTime + span.duration);
    const hasParent = (span.references ?? []).some((r) => r.spanID !== span.spanID && ids.has(r.spanID));
    if (!hasParent && (!root || span.startTime < root.startTime)) root = span;
    const name = trace.processes?.[span.processID]?.serviceName ?? span.processID;
    const stat = services.get(name) ?? { name, spanCount: 0, errorCount: 0 };
    stat.spanCount += 1;
    if (isErrorSpan(span)) {
      stat.errorCount += 1;
      errors += 1;
    }
    services.set(name, stat);
  }
  root ??= spans.reduce<(typeof spans)[number] | undefined>((a, b) => (!a || b.startTime < a.startTime ? b : a), undefined);
  return {
    traceID: trace.traceID,
    rootServiceName: root ? (trace.processes?.[root.processID]?.serviceName ?? '') : '',
    rootOperationName: root?.operationName ?? '',
    startTime: spans.length ? start : 0,
    duration: spans.length ? end - start : 0,
    spanCount: spans.length,
    errorCount: errors,
    services: [...services.values()].sort((a, b) => a.name.localeCompare(b.name)),
  };
}

export function fromSummaryV3(s: TraceSummaryV3): TraceSummaryRow {
  const start = nanosToMicros(s.minStartTimeUnixNano);
  const end = nanosToMicros(s.maxEndTimeUnixNano);
  return {
    traceID: s.traceId,
    rootServiceName: s.rootServiceName ?? '',
    rootOperationName: s.rootOperationName ?? '',
    startTime: start,
    duration: Math.max(0, end - start),
    spanCount: s.spanCount ?? 0,
    errorCount: s.errorSpanCount ?? 0,
    services: (s.services ?? [])
      .map((v) => ({ name: v.name, spanCount: v.spanCount ?? 0, errorCount: v.errorSpanCount ?? 0 }))
      .sort((a, b) => a.name.localeCompare(b.name)),
  };
}

export const SORTS = [
  { value: 'recent', label: 'Most recent' },
  { value: 'longest', label: 'Longest first' },
  { value: 'shortest', label: 'Shortest first' },
  { value: 'spans', label: 'Most spans' },
  { value: 'errors', label: 'Most errors' },
] as const;
export type SortKey = (typeof SORTS)[number]['value'];

export function sortRows(rows: TraceSummaryRow[], key: SortKey): TraceSummaryRow[] {
  const out = [...rows];
  const recent = (a: TraceSummaryRow, b: TraceSummaryRow) => b.startTime - a.startTime;
  switch (key) {
    case 'longest':
      return out.sort((a, b) => b.duration - a.duration || recent(a, b));
    case 'shortest':
      return out.sort((a, b) => a.duration - b.duration || recent(a, b));
    case 'spans':
      return out.sort((a, b) => b.spanCount - a.spanCount || recent(a, b));
    case 'errors':
      return out.sort((a, b) => b.errorCount - a.errorCount || recent(a, b));
    default:
      return out.sort(recent);
  }
}
