import { describe, expect, it } from 'vitest';
import { summariesOf } from '../../../tests/fixtures/synthetic.mjs';
import fixture from '../__fixtures__/bookinfo-trace.json';
import { fromSummaryV3, nanosToMicros, sortRows, summarizeTrace, type TraceSummaryRow } from './summary';
import type { JaegerTrace } from './types';

const bookinfo = (fixture as unknown as { data: JaegerTrace[] }).data[0];

describe('trace summaries', () => {
  it('summarises a v1 trace', () => {
    const row = summarizeTrace(bookinfo);
    expect(row).toMatchObject({
      traceID: bookinfo.traceID,
      rootServiceName: 'productpage',
      rootOperationName: 'GET /productpage',
      startTime: 1764120000000000,
      duration: 48000,
      spanCount: 31,
      errorCount: 2,
    });
    expect(row.services).toEqual([
      { name: 'details', spanCount: 6, errorCount: 0 },
      { name: 'productpage', spanCount: 9, errorCount: 0 },
      { name: 'ratings', spanCount: 5, errorCount: 0 },
      { name: 'reviews', spanCount: 11, errorCount: 2 },
    ]);
  });

  it('reads v3 summaries with nanosecond strings beyond 2^53', () => {
    expect(nanosToMicros('1764120000048000123')).toBe(1764120000048000);
    expect(nanosToMicros('')).toBe(0);
    expect(nanosToMicros('junk')).toBe(0);
    const row = fromSummaryV3(summariesOf([bookinfo])[0]);
    expect(row).toEqual(summarizeTrace(bookinfo));
  });

  it('sorts and merges the live tail', () => {
    const r = (traceID: string, startTime: number, duration: number, spanCount = 1, errorCount = 0): TraceSummaryRow => ({
      traceID, rootServiceName: 's', rootOperationName: 'o', startTime, duration, spanCount, errorCount, services: [],
    });
    const rows = [r('a', 1, 50, 3), r('b', 3, 10, 1, 2), r('c', 2, 90, 2)];
    expect(sortRows(rows, 'recent').map((x) => x.traceID)).toEqual(['b', 'c', 'a']);
    expect(sortRows(rows, 'longest').map((x) => x.traceID)).toEqual(['c', 'a', 'b']);
    expect(sortRows(rows, 'shortest').map((x) => x.traceID)).toEqual(['b', 'a', 'c']);
    expect(sortRows(rows, 'spans').map((x) => x.traceID)).toEqual(['a', 'c', 'b']);
    expect(sortRows(rows, 'errors')[0].traceID).toBe('b');
  });
});
