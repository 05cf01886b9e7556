import { describe, expect, it } from 'vitest';
import { largeTrace } from '../../../tests/fixtures/synthetic.mjs';
import fixture from '../__fixtures__/bookinfo-trace.json';
import { collapseAll, visibleRows } from './rows';
import { buildTraceModel, findRows, isErrorSpan } from './tree';
import type { JaegerSpan, JaegerTrace } from './types';

const bookinfo = (fixture as unknown as { data: JaegerTrace[] }).data[0];

function span(spanID: string, parent: string | null, startTime: number, duration: number, extra: Partial<JaegerSpan> = {}): JaegerSpan {
  return {
    traceID: 't1',
    spanID,
    operationName: spanID,
    references: parent ? [{ refType: 'CHILD_OF', traceID: 't1', spanID: parent }] : [],
    startTime,
    duration,
    tags: [],
    logs: [],
    processID: 'p1',
    ...extra,
  };
}

const trace = (spans: JaegerSpan[]): JaegerTrace => ({ traceID: 't1', spans, processes: { p1: { serviceName: 'svc', tags: [] } } });

describe('trace to timeline rows', () => {
  it('reads the Bookinfo trace: 31 spans, 4 services, depth 7, 2 errors', () => {
    const model = buildTraceModel(bookinfo);
    expect(model.spanCount).toBe(31);
    expect(model.duration).toBe(48000);
    expect(model.depth).toBe(7);
    expect(model.errorCount).toBe(2);
    expect(model.rootServiceName).toBe('productpage');
    expect(model.rootOperationName).toBe('GET /productpage');
    expect(model.services.map((s) => [s.name, s.spanCount, s.errorCount])).toEqual([
      ['productpage', 9, 0],
      ['details', 6, 0],
      ['reviews', 11, 2],
      ['ratings', 5, 0],
    ]);
    const failed = model.rows.filter((r) => r.isError).map((r) => r.operationName);
    expect(failed).toEqual(['ratings.bookinfo.svc.cluster.local:9080/*', 'circuitbreaker.reject']);
    // The root's subtree holds everything and carries the errors up.
    expect(model.rows[0].descendantCount).toBe(30);
    expect(model.rows[0].subtreeHasError).toBe(true);
  });

  it('orders children by start time, depth first', () => {
    const model = buildTraceModel(trace([span('c', 'root', 300, 10), span('root', null, 100, 500), span('b', 'root', 200, 50), span('b1', 'b', 210, 5)]));
    expect(model.rows.map((r) => [r.spanID, r.depth, r.startOffset, r.parentIndex])).toEqual([
      ['root', 0, 0, -1],
      ['b', 1, 100, 0],
      ['b1', 2, 110, 1],
      ['c', 1, 200, 0],
    ]);
    expect(model.rows[1].descendantCount).toBe(1);
  });

  it('keeps orphans as roots, breaks reference cycles and keeps duplicate ids', () => {
    const orphan = buildTraceModel(trace([span('root', null, 0, 10), span('lost', 'missing', 5, 1)]));
    expect(orphan.rows.map((r) => [r.spanID, r.depth, r.isOrphan])).toEqual([
      ['root', 0, false],
      ['lost', 0, true],
    ]);
    const cycle = buildTraceModel(trace([span('a', 'b', 0, 10), span('b', 'a', 1, 5)]));
    expect(cycle.rows).toHaveLength(2);
    expect(cycle.rows[0].depth).toBe(0);
    expect(cycle.rows[1].depth).toBe(1);
    const dup = buildTraceModel(trace([span('root', null, 0, 10), span('x', 'root', 1, 2), span('x', 'root', 3, 2)]));
    expect(dup.rows.map((r) => r.spanID)).toEqual(['root', 'x', 'x']);
  });

  it('follows FOLLOWS_FROM when there is no CHILD_OF', () => {
    const model = buildTraceModel(
      trace([span('root', null, 0, 10), span('async', null, 20, 5, { references: [{ refType: 'FOLLOWS_FROM', traceID: 't1', spanID: 'root' }] })]),
    );
    expect(model.rows[1]).toMatchObject({ spanID: 'async', depth: 1, parentIndex: 0 });
    expect(model.duration).toBe(25);
  });

  it('marks the critical path: the last child to finish, then what ran before it', () => {
    const model = buildTraceModel(
      trace([span('root', null, 0, 100), span('a', 'root', 10, 30), span('b', 'root', 20, 70), span('c', 'root', 50, 10), span('b1', 'b', 30, 20)]),
    );
    const critical = Object.fromEntries(model.rows.map((r) => [r.spanID, r.critical]));
    expect(critical).toEqual({ root: true, a: true, b: true, b1: true, c: false });
  });

  it('recognises errors from tags and OpenTelemetry status', () => {
    expect(isErrorSpan(span('x', null, 0, 1, { tags: [{ key: 'error', type: 'bool', value: true }] }))).toBe(true);
    expect(isErrorSpan(span('x', null, 0, 1, { tags: [{ key: 'error', type: 'string', value: 'true' }] }))).toBe(true);
    expect(isErrorSpan(span('x', null, 0, 1, { tags: [{ key: 'otel.status_code', type: 'string', value: 'ERROR' }] }))).toBe(true);
    expect(isErrorSpan(span('x', null, 0, 1, { tags: [{ key: 'error', type: 'bool', value: false }] }))).toBe(false);
  });

  it('finds spans by service, operation and tag value', () => {
    const model = buildTraceModel(bookinfo);
    expect(findRows(model, 'mongodb').size).toBe(2);
    // Log fields are searched too: the circuit-broken call logged an UpstreamOverflow exception.
    expect(findRows(model, 'UpstreamOverflow').size).toBe(1);
    expect([...findRows(model, '503')].map((i) => model.rows[i].operationName)).toEqual(['ratings.bookinfo.svc.cluster.local:9080/*']);
    expect(findRows(model, '  ').size).toBe(0);
  });

  it('turns a 10,000-span trace into rows quickly', () => {
    const big = largeTrace(10000);
    const started = performance.now();
    const model = buildTraceModel(big);
    const rows = visibleRows(model, new Set());
    const elapsed = performance.now() - started;
    expect(elapsed).toBeLessThan(1000);
    expect(model.rows).toHaveLength(10000);
    expect(model.services).toHaveLength(12);
    expect(model.rows[0].descendantCount).toBe(9999);
    expect(rows).toHaveLength(10000);
    for (const row of model.rows) {
      if (row.parentIndex >= 0) {
        expect(row.parentIndex).toBeLessThan(row.index);
        expect(row.depth).toBe(model.rows[row.parentIndex].depth + 1);
      }
    }
    expect(visibleRows(model, collapseAll(model))).toEqual([0]);
  });
});
