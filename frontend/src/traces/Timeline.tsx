// The trace timeline: span rows virtualised with TanStack Virtual (only the rows in view exist in
// the DOM), collapsible subtrees, and the span's detail under each expanded span.
import { useVirtualizer } from '@tanstack/react-virtual';
import { useImperativeHandle, useLayoutEffect, useMemo, useRef, useState, type Ref } from 'react';
import { serviceColors } from './model/colors';
import { formatDuration, timelineTicks } from './model/duration';
import { collapseAll, collapseOneLevel, expandOneLevel, reveal, visibleRows } from './model/rows';
import type { SpanRow, TraceModel } from './model/tree';
import { SpanDetail } from './SpanDetail';

export const ROW_HEIGHT = 28;
const DETAIL_ESTIMATE = 340;
const INDENT = 14;
const MAX_INDENT_DEPTH = 24;

export interface TimelineHandle {
  expandAll(): void;
  collapseAll(): void;
  expandOne(): void;
  collapseOne(): void;
  /** Show a row: expand its ancestors and scroll it into the middle of the view. */
  scrollToRow(row: number, openDetail?: boolean): void;
}

interface Item {
  kind: 'span' | 'detail';
  row: number;
}

function SpanRowView({ row, top, total, range, collapsed, expanded, match, onToggle, onOpen }: {
  row: SpanRow;
  top: number;
  total: number;
  range: readonly [number, number];
  collapsed: boolean;
  expanded: boolean;
  match: boolean;
  onToggle: () => void;
  onOpen: () => void;
}) {
  // Fractions of the zoomed range; bars outside it are cut at the column's edges.
  const scale = range[1] - range[0] || 1;
  const left = Math.max(-1, ((row.startOffset / total - range[0]) / scale) * 100);
  const width = Math.min(102 - left, Math.max(((row.startOffset + row.duration) / total - range[0]) / scale * 100 - left, 0.15));
  const color = serviceColors.get(row.serviceName);
  const hasChildren = row.children.length > 0;
  // Duration label beside the bar; inside it when the bar spans (nearly) the whole row.
  const labelInside = left < 12 && left + width > 78;
  const labelLeft = !labelInside && left + width > 78;
  const classes = ['span-row'];
  if (expanded) classes.push('is-expanded');
  if (match) classes.push('is-match');
  if (row.isError) classes.push('is-error');
  return (
    <div
      className={classes.join(' ')}
      style={{ transform: `translateY(${top}px)` }}
      data-row={row.index}
      data-testid="span-row"
      role="row"
      aria-expanded={hasChildren ? !collapsed : undefined}
      onClick={onOpen}
    >
      <div className="span-name-col" style={{ paddingLeft: 6 + Math.min(row.depth, MAX_INDENT_DEPTH) * INDENT }} title={`${row.serviceName}: ${row.operationName}`}>
        {hasChildren ? (
          <button
            type="button"
            className="span-toggle"
            aria-label={collapsed ? 'Expand' : 'Collapse'}
            data-testid="span-toggle"
            onClick={(e) => {
              e.stopPropagation();
              onToggle();
            }}
          >
            {collapsed ? '▸' : '▾'}
          </button>
        ) : (
          <span className="span-toggle-spacer" />
        )}
        <span className="svc-stripe" style={{ background: color }} />
        <span className="svc-name">{row.serviceName}</span>
        <span className="op-name">{row.operationName}</span>
        {row.isError ? (
          <span className="error-mark" title="Error" data-testid="span-error">
            !
          </span>
        ) : null}
        {collapsed ? <span className={`child-count${row.subtreeHasError && !row.isError ? ' has-error' : ''}`}>+{row.descendantCount}</span> : null}
      </div>
      <div className="span-bar-col">
        <div className={`span-bar${row.critical ? ' critical' : ''}${row.isError ? ' error' : ''}`} style={{ left: `${left}%`, width: `${width}%`, '--svc': color } as React.CSSProperties} />
        <span
          className={`bar-label${labelLeft ? ' label-left' : ''}${labelInside ? ' label-inside' : ''}`}
          style={labelInside ? { right: `${100 - left - width}%` } : labelLeft ? { right: `${100 - left}%` } : { left: `${left + width}%` }}
        >
          {formatDuration(row.duration)}
        </span>
      </div>
    </div>
  );
}

export function Timeline({ model, matches, range = [0, 1], handle, detailActions }: {
  model: TraceModel;
  matches: ReadonlySet<number>;
  /** the part of the trace shown, as fractions of its duration (the minimap's zoom) */
  range?: readonly [number, number];
  handle?: Ref<TimelineHandle>;
  /** Extra actions in a span's detail header (links elsewhere). */
  detailActions?: (row: SpanRow) => React.ReactNode;
}) {
  const [collapsed, setCollapsed] = useState<Set<number>>(() => new Set());
  const [expanded, setExpanded] = useState<Set<number>>(() => new Set());
  const scroller = useRef<HTMLDivElement>(null);
  const total = model.duration || 1;
  const ticks = useMemo(() => {
    if (range[0] === 0 && range[1] === 1) return timelineTicks(model.duration, 4);
    return [0, 0.25, 0.5, 0.75, 1].map((fraction) => ({ fraction, label: formatDuration(model.duration * (range[0] + (range[1] - range[0]) * fraction)) }));
  }, [model.duration, range]);

  const items = useMemo(() => {
    const out: Item[] = [];
    for (const row of visibleRows(model, collapsed)) {
      out.push({ kind: 'span', row });
      if (expanded.has(row)) out.push({ kind: 'detail', row });
    }
    return out;
  }, [model, collapsed, expanded]);

  const virtualizer = useVirtualizer({
    count: items.length,
    getScrollElement: () => scroller.current,
    estimateSize: (i) => (items[i].kind === 'span' ? ROW_HEIGHT : DETAIL_ESTIMATE),
    getItemKey: (i) => `${items[i].kind}${items[i].row}`,
    overscan: 12,
  });

  // A row asked for before it was revealed: scroll to it once the rows are laid out again.
  const pending = useRef<number | null>(null);
  useLayoutEffect(() => {
    if (pending.current === null) return;
    const index = items.findIndex((i) => i.kind === 'span' && i.row === pending.current);
    pending.current = null;
    if (index >= 0) virtualizer.scrollToIndex(index, { align: 'center' });
  }, [items, virtualizer]);

  const scrollToRow = (row: number, openDetail = false) => {
    pending.current = row;
    setCollapsed((c) => reveal(model, c, row));
    setExpanded((e) => (openDetail ? new Set(e).add(row) : new Set(e)));
  };

  useImperativeHandle(handle, () => ({
    expandAll: () => setCollapsed(new Set()),
    collapseAll: () => setCollapsed(collapseAll(model)),
    expandOne: () => setCollapsed((c) => expandOneLevel(model, c)),
    collapseOne: () => setCollapsed((c) => collapseOneLevel(model, c)),
    scrollToRow,
  }));

  const toggle = (set: Set<number>, index: number) => {
    const next = new Set(set);
    if (next.has(index)) next.delete(index);
    else next.add(index);
    return next;
  };

  return (
    <div className="timeline" data-testid="trace-timeline">
      <div className="timeline-header">
        <div className="span-name-col">Service &amp; operation</div>
        <div className="span-bar-col ticks">
          {ticks.map((t) => (
            <span key={t.fraction} className={`tick${t.fraction === 1 ? ' tick-last' : ''}`} style={{ left: `${t.fraction * 100}%` }}>
              {t.label}
            </span>
          ))}
        </div>
      </div>
      <div className="timeline-scroller" tabIndex={0} data-testid="timeline-scroller" ref={scroller}>
        <div className="timeline-canvas" style={{ height: virtualizer.getTotalSize() }}>
          {virtualizer.getVirtualItems().map((v) => {
            const item = items[v.index];
            const row = model.rows[item.row];
            if (item.kind === 'span') {
              return (
                  <SpanRowView
                    key={v.key}
                    row={row}
                    top={v.start}
                    total={total}
                    range={range}
                    collapsed={collapsed.has(row.index)}
                    expanded={expanded.has(row.index)}
                    match={matches.has(row.index)}
                    onToggle={() => setCollapsed((c) => toggle(c, row.index))}
                    onOpen={() => setExpanded((e) => toggle(e, row.index))}
                  />
              );
            }
            return (
              <div
                key={v.key}
                data-index={v.index}
                ref={virtualizer.measureElement}
                className="span-detail"
                data-testid="span-detail"
                style={{ transform: `translateY(${v.start}px)`, '--svc': serviceColors.get(row.serviceName) } as React.CSSProperties}
              >
                <SpanDetail row={row} model={model} onJump={(target) => scrollToRow(target, true)} actions={detailActions?.(row)} />
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}
