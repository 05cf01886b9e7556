// Jaeger's query API JSON (v1 traces, v3 trace summaries) as meshview serves it under /jaeger.

export interface KeyValue {
  key: string;
  type?: 'string' | 'bool' | 'int64' | 'float64' | 'binary' | string;
  value: unknown;
}

export interface SpanReference {
  refType: 'CHILD_OF' | 'FOLLOWS_FROM' | string;
  traceID: string;
  spanID: string;
}

export interface SpanLog {
  /** µs since the epoch */
  timestamp: number;
  fields: KeyValue[];
}

export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references?: SpanReference[] | null;
  /** µs since the epoch */
  startTime: number;
  /** µs */
  duration: number;
  tags?: KeyValue[] | null;
  logs?: SpanLog[] | null;
  processID: string;
  warnings?: string[] | null;
  flags?: number;
}

export interface JaegerProcess {
  serviceName: string;
  tags?: KeyValue[] | null;
}

export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, JaegerProcess>;
  warnings?: string[] | null;
}

export interface JaegerError {
  code?: number;
  msg?: string;
  traceID?: string;
}

export interface JaegerEnvelope<T> {
  data: T;
  total?: number;
  limit?: number;
  offset?: number;
  errors?: JaegerError[] | null;
}

/** Jaeger v3's trace summary, as /ws/traces/ pushes it (nanosecond times as decimal strings). */
export interface TraceSummaryV3 {
  traceId: string;
  rootServiceName: string;
  rootOperationName: string;
  minStartTimeUnixNano: string;
  maxEndTimeUnixNano: string;
  spanCount: number;
  errorSpanCount: number;
  orphanSpanCount?: number;
  services: { name: string; spanCount: number; errorSpanCount: number }[];
}

export interface TracesLiveMessage {
  type: 'traces.snapshot' | 'traces.delta';
  traces: TraceSummaryV3[];
}
