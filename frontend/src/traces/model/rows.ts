// Which timeline rows show: collapsed subtrees hide their descendants.
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
