// A span's details as the expanded row shows them.
import type { KeyValue, SpanLog } from './types';
import type { SpanRow, TraceModel } from './tree';

export function formatTagValue(tag: KeyValue): string {
  const v = tag.value;
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export interface LogRow {
  /** µs from the trace's start */
  offset: number;
  /** the `event` field when there is one */
  event: string;
  fields: KeyValue[];
}

export function logRows(logs: SpanLog[] | null | undefined, traceStart: number): LogRow[] {
  return (logs ?? [])
    .map((log) => {
      const event = log.fields?.find((f) => f.key === 'event');
      return {
        offset: log.timestamp - traceStart,
        event: event ? formatTagValue(event) : '',
        fields: (log.fields ?? []).filter((f) => f !== event),
      };
    })
    .sort((a, b) => a.offset - b.offset);
}

export interface ReferenceRow {
  refType: string;
  traceID: string;
  spanID: string;
  /** the referenced span's row in this trace, -1 when it is elsewhere */
  row: number;
  label: string;
}

export function referenceRows(row: SpanRow, model: TraceModel): ReferenceRow[] {
  const index = new Map<string, number>();
  for (const r of model.rows) if (!index.has(r.spanID)) index.set(r.spanID, r.index);
  return (row.span.references ?? []).map((ref) => {
    const sameTrace = !ref.traceID || ref.traceID === model.traceID;
    const target = sameTrace ? (index.get(ref.spanID) ?? -1) : -1;
    const label =
      target >= 0
        ? `${model.rows[target].serviceName}: ${model.rows[target].operationName}`
        : sameTrace
          ? 'span not in this trace'
          : 'span in another trace';
    return { refType: ref.refType, traceID: ref.traceID, spanID: ref.spanID, row: target, label };
  });
}
