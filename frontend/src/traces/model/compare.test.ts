import { describe, expect, it } from 'vitest';
import { compareTraces } from './compare';
import { traceStatistics } from './stats';
import { buildTraceModel, findRows } from './tree';
import type { JaegerSpan, JaegerTrace } from './types';

function span(spanID: string, parent: string | null, operationName: string, startTime: number, duration: number, processID = 'p1'): JaegerSpan {
  return {
    traceID: 't',
    spanID,
    operationName,
    references: parent ? [{ refType: 'CHILD_OF', traceID: 't', spanID: parent }] : [],
    startTime,
    duration,
    tags: [],
    logs: [],
    processID,
  };
}

const processes = { p1: { serviceName: 'productpage', tags: [] }, p2: { serviceName: 'reviews', tags: [] }, p3: { serviceName: 'ratings', tags: [] } };
const trace = (traceID: string, spans: JaegerSpan[]): JaegerTrace => ({ traceID, spans, processes });

// A: productpage calls reviews once, which calls ratings. B: reviews twice, no ratings, and details.
const a = buildTraceModel(
  trace('a', [span('r', null, 'GET /productpage', 0, 100), span('x', 'r', 'GET /reviews', 10, 60, 'p2'), span('y', 'x', 'GET /ratings', 20, 30, 'p3')]),
);
const b = buildTraceModel(
  trace('b', [
    span('r', null, 'GET /productpage', 0, 100),
    span('x1', 'r', 'GET /reviews', 10, 20, 'p2'),
    span('x2', 'r', 'GET /reviews', 40, 20, 'p2'),
    span('d', 'r', 'GET /details', 70, 10),
  ]),
);

describe('trace compare', () => {
  it('folds both traces into call paths and marks what differs', () => {
    const diff = compareTraces(a, b);
    const byPath = Object.fromEntries(diff.map((n) => [n.id.split('\n').map((p) => p.split(' ')[0]).join('>') + ' ' + n.operation, [n.countA, n.countB, n.state]]));
    expect(byPath).toEqual({
      'productpage GET /productpage': [1, 1, 'same'],
      'productpage>productpage GET /details': [0, 1, 'only-b'],
      'productpage>reviews GET /reviews': [1, 2, 'more-b'],
      'productpage>reviews>ratings GET /ratings': [1, 0, 'only-a'],
    });
    expect(diff[0].parentId).toBeNull();
    expect(diff.find((n) => n.operation === 'GET /ratings')!.parentId).toBe(diff.find((n) => n.operation === 'GET /reviews')!.id);
    expect(compareTraces(a, a).every((n) => n.state === 'same')).toBe(true);
    expect(compareTraces(a, null).every((n) => n.state === 'only-a')).toBe(true);
  });
});

describe('trace statistics', () => {
  it('groups spans by service and operation with their self time', () => {
    const rows = traceStatistics(b);
    const reviews = rows.find((r) => r.operation === 'GET /reviews')!;
    expect(reviews).toMatchObject({ service: 'reviews', count: 2, total: 40, avg: 20, min: 20, max: 20, selfTotal: 40 });
    // The root's 100 µs minus what its children cover (10-30, 40-60, 70-80).
    expect(rows.find((r) => r.operation === 'GET /productpage')!.selfTotal).toBe(50);
    expect(rows[0].operation).toBe('GET /productpage');
    expect(traceStatistics(a).find((r) => r.service === 'reviews')!.selfTotal).toBe(30);
  });
});

describe('find in a trace', () => {
  it('searches the span logs too', () => {
    const withLog = buildTraceModel(
      trace('l', [
        { ...span('r', null, 'GET /productpage', 0, 100), logs: [{ timestamp: 5, fields: [{ key: 'event', type: 'string', value: 'cache miss for isbn-0451526538' }] }] },
        span('x', 'r', 'GET /reviews', 10, 60, 'p2'),
      ]),
    );
    expect([...findRows(withLog, 'isbn-0451526538')]).toEqual([0]);
    expect([...findRows(withLog, 'cache MISS')]).toEqual([0]);
  });
});
