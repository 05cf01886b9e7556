import { describe, expect, it } from 'vitest';
import fixture from '../__fixtures__/bookinfo-trace.json';
import { collapseAll, collapseOneLevel, expandOneLevel, reveal, visibleRows } from './rows';
import { buildTraceModel } from './tree';
import type { JaegerTrace } from './types';

const model = buildTraceModel((fixture as unknown as { data: JaegerTrace[] }).data[0]);
const indexOf = (operation: string) => model.rows.findIndex((r) => r.operationName === operation);

describe('collapsing', () => {
  it('hides the descendants of a collapsed row', () => {
    const reviewsCall = indexOf('reviews.bookinfo.svc.cluster.local:9080/*');
    const visible = visibleRows(model, new Set([reviewsCall]));
    expect(visible).toHaveLength(31 - model.rows[reviewsCall].descendantCount);
    expect(visible).not.toContain(reviewsCall + 1);
    expect(visible).toContain(reviewsCall);
  });

  it('expands and collapses one level at a time', () => {
    let collapsed = collapseAll(model);
    expect(visibleRows(model, collapsed)).toEqual([0]);
    collapsed = expandOneLevel(model, collapsed);
    expect(visibleRows(model, collapsed).map((i) => model.rows[i].depth)).toEqual([0, 1, 1, 1, 1, 1, 1, 1]);
    collapsed = expandOneLevel(model, collapsed);
    expect(Math.max(...visibleRows(model, collapsed).map((i) => model.rows[i].depth))).toBe(2);
    collapsed = collapseOneLevel(model, collapsed);
    expect(Math.max(...visibleRows(model, collapsed).map((i) => model.rows[i].depth))).toBe(1);
    expect(visibleRows(model, collapseOneLevel(model, new Set())).length).toBeLessThan(31);
  });

  it('reveals a deep row by expanding its ancestors', () => {
    const db = indexOf('mongodb.connection.checkout');
    const collapsed = reveal(model, collapseAll(model), db);
    expect(visibleRows(model, collapsed)).toContain(db);
    expect(model.rows[db].depth).toBe(6);
  });

});
