// Which timeline rows show (collapsed subtrees hide their descendants), and where each one sits
// in the scrolled list so that only the rows in view are rendered.
import type { TraceModel } from './tree';

/** Rows in order, skipping the descendants of collapsed rows (they are contiguous). */
export function visibleRows(model: TraceModel, collapsed: ReadonlySet<number>): number[] {
  const out: number[] = [];
  const rows = model.rows;
  let i = 0;
  while (i < rows.length) {
    out.push(i);
    i += collapsed.has(i) ? rows[i].descendantCount + 1 : 1;
  }
  return out;
}

/** Every row that has children: all collapsed. */
export function collapseAll(model: TraceModel): Set<number> {
  const set = new Set<number>();
  for (const row of model.rows) if (row.children.length) set.add(row.index);
  return set;
}

/** Expand the shallowest collapsed rows that are visible. */
export function expandOneLevel(model: TraceModel, collapsed: ReadonlySet<number>): Set<number> {
  const next = new Set(collapsed);
  const visible = visibleRows(model, collapsed).filter((i) => collapsed.has(i));
  if (!visible.length) return next;
  const depth = Math.min(...visible.map((i) => model.rows[i].depth));
  for (const i of visible) if (model.rows[i].depth === depth) next.delete(i);
  return next;
}

/** Collapse the deepest expanded parents that are visible. */
export function collapseOneLevel(model: TraceModel, collapsed: ReadonlySet<number>): Set<number> {
  const next = new Set(collapsed);
  const open = visibleRows(model, collapsed).filter((i) => model.rows[i].children.length && !collapsed.has(i));
  if (!open.length) return next;
  let depth = 0;
  for (const i of open) depth = Math.max(depth, model.rows[i].depth);
  for (const i of open) if (model.rows[i].depth === depth) next.add(i);
  return next;
}

/** Expand the ancestors of `index` so that it shows. */
export function reveal(model: TraceModel, collapsed: ReadonlySet<number>, index: number): Set<number> {
  const next = new Set(collapsed);
  let parent = model.rows[index]?.parentIndex ?? -1;
  while (parent >= 0) {
    next.delete(parent);
    parent = model.rows[parent].parentIndex;
  }
  return next;
}

export interface LayoutItem {
  kind: 'span' | 'detail';
  row: number;
  top: number;
  height: number;
}

export interface ListLayout {
  items: LayoutItem[];
  totalHeight: number;
}

/** Span rows of `rowHeight`, each open detail of `detailHeight` right below its span. */
export function layoutList(
  visible: number[],
  expanded: ReadonlySet<number>,
  rowHeight: number,
  detailHeight: number,
): ListLayout {
  const items: LayoutItem[] = [];
  let top = 0;
  for (const row of visible) {
    items.push({ kind: 'span', row, top, height: rowHeight });
    top += rowHeight;
    if (expanded.has(row)) {
      items.push({ kind: 'detail', row, top, height: detailHeight });
      top += detailHeight;
    }
  }
  return { items, totalHeight: top };
}

/** The items that intersect [scrollTop, scrollTop + viewport], plus `overscan` on each side. */
export function itemsInView(layout: ListLayout, scrollTop: number, viewport: number, overscan = 8): LayoutItem[] {
  const { items } = layout;
  if (!items.length) return [];
  let lo = 0;
  let hi = items.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (items[mid].top + items[mid].height <= scrollTop) lo = mid + 1;
    else hi = mid;
  }
  const first = Math.max(0, lo - overscan);
  const bottom = scrollTop + viewport;
  let last = lo;
  while (last < items.length - 1 && items[last + 1].top < bottom) last += 1;
  return items.slice(first, Math.min(items.length, last + 1 + overscan));
}
