import { describe, expect, it } from 'vitest';
import fixture from '../__fixtures__/bookinfo-trace.json';
import { ServiceColors, SERVICE_PALETTE } from './colors';
import { formatTagValue, logRows, referenceRows } from './detail';
import { scatterPlot } from './scatter';
import type { TraceSummaryRow } from './summary';
import { buildTraceModel } from './tree';
import type { JaegerTrace } from './types';

const model = buildTraceModel((fixture as unknown as { data: JaegerTrace[] }).data[0]);

describe('span details', () => {
  it('shows logs relative to the trace start with the event first', () => {
    const db = model.rows.find((r) => r.operationName === 'mongodb.find')!;
    const logs = logRows(db.span.logs, model.startTime);
    expect(logs.map((l) => [l.offset, l.event])).toEqual([
      [21600, 'query sent'],
      [26200, 'reply received'],
    ]);
    expect(logs[0].fields.map((f) => f.key)).toEqual(['documents']);
  });

  it('resolves references inside and outside the trace', () => {
    const db = model.rows.find((r) => r.operationName === 'mongodb.find')!;
    const [ref] = referenceRows(db, model);
    expect(ref).toMatchObject({ refType: 'CHILD_OF', row: db.parentIndex, label: 'ratings: GET /ratings/0' });
    const other = { ...db, span: { ...db.span, references: [{ refType: 'FOLLOWS_FROM', traceID: 'other', spanID: 'x' }] } };
    expect(referenceRows(other, model)[0]).toMatchObject({ row: -1, label: 'span in another trace' });
    expect(formatTagValue({ key: 'k', type: 'bool', value: false })).toBe('false');
    expect(formatTagValue({ key: 'k', value: { a: 1 } })).toBe('{"a":1}');
  });
});

describe('service colours', () => {
  it('keeps the first colour given to a service', () => {
    const colors = new ServiceColors(['#1', '#2']);
    expect(colors.get('reviews')).toBe('#1');
    expect(colors.get('ratings')).toBe('#2');
    expect(colors.get('reviews')).toBe('#1');
    expect(colors.get('details')).toBe('#1');
    expect(SERVICE_PALETTE).toHaveLength(20);
    const seeded = new ServiceColors(['#1', '#2', '#3']);
    seeded.get('ratings');
    seeded.seed(['reviews', 'details', 'ratings']);
    expect([seeded.get('ratings'), seeded.get('details'), seeded.get('reviews')]).toEqual(['#1', '#2', '#3']);
  });
});

describe('scatter plot', () => {
  const row = (traceID: string, startTime: number, duration: number, errorCount = 0, spanCount = 10): TraceSummaryRow => ({
    traceID, rootServiceName: 's', rootOperationName: 'o', startTime, duration, spanCount, errorCount, services: [],
  });
  const box = { width: 500, height: 200, left: 50, right: 10, top: 10, bottom: 30 };

  it('places time to the right and duration upwards', () => {
    const plot = scatterPlot([row('a', 1_000_000, 100), row('b', 3_000_000, 50, 1, 40)], box);
    expect(plot.points[0]).toMatchObject({ traceID: 'a', x: 50, y: 10, error: false });
    expect(plot.points[1]).toMatchObject({ traceID: 'b', x: 490, y: 90, error: true });
    expect(plot.points[1].r).toBeCloseTo(9);
    expect(plot.yTicks.map((t) => t.label)).toEqual(['0', '25µs', '50µs', '75µs', '100µs']);
    expect(plot.xTicks).toHaveLength(5);
  });

  it('centres a single trace and handles none', () => {
    expect(scatterPlot([row('a', 5_000_000, 0)], box).points[0].x).toBe(270);
    expect(scatterPlot([], box).points).toEqual([]);
  });
});
