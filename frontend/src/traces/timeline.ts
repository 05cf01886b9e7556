// The trace timeline: a virtualised list of span rows (only the rows in view exist in the DOM),
// collapsible subtrees, and one fixed-height detail pane under each expanded span.
import { h } from '../ui/dom';
import { serviceColors } from './model/colors';
import { formatDuration, timelineTicks } from './model/duration';
import { collapseAll, collapseOneLevel, expandOneLevel, itemsInView, layoutList, reveal, visibleRows, type LayoutItem, type ListLayout } from './model/rows';
import type { TraceModel } from './model/tree';
import { spanDetail } from './spanDetail';

export const ROW_HEIGHT = 28;
export const DETAIL_HEIGHT = 340;
const INDENT = 14;
const MAX_INDENT_DEPTH = 24;

export class TraceTimeline {
  readonly el: HTMLElement;
  private readonly scroller: HTMLElement;
  private readonly canvas: HTMLElement;
  private collapsed = new Set<number>();
  private expanded = new Set<number>();
  private matches = new Set<number>();
  private layout: ListLayout = { items: [], totalHeight: 0 };
  private visible: number[] = [];
  private readonly rendered = new Map<string, HTMLElement>();
  private frame = 0;
  private readonly resizeObserver: ResizeObserver;

  constructor(private readonly model: TraceModel) {
    const ticks = timelineTicks(model.duration, 4);
    const header = h(
      'div',
      { class: 'timeline-header' },
      h('div', { class: 'span-name-col' }, 'Service & operation'),
      h(
        'div',
        { class: 'span-bar-col ticks' },
        ...ticks.map((t) =>
          h('span', { class: `tick${t.fraction === 1 ? ' tick-last' : ''}`, style: `left: ${t.fraction * 100}%` }, t.label),
        ),
      ),
    );
    this.canvas = h('div', { class: 'timeline-canvas' });
    this.scroller = h('div', { class: 'timeline-scroller', tabindex: 0, 'data-testid': 'timeline-scroller' }, this.canvas);
    this.el = h('div', { class: 'timeline', 'data-testid': 'trace-timeline' }, header, this.scroller);
    this.scroller.addEventListener('scroll', () => this.schedule());
    this.canvas.addEventListener('click', (e) => this.onClick(e));
    this.resizeObserver = new ResizeObserver(() => this.schedule());
    this.resizeObserver.observe(this.scroller);
    this.relayout();
  }

  get visibleCount(): number {
    return this.visible.length;
  }

  collapseAll(): void {
    this.collapsed = collapseAll(this.model);
    this.relayout();
  }

  expandAll(): void {
    this.collapsed = new Set();
    this.relayout();
  }

  expandOne(): void {
    this.collapsed = expandOneLevel(this.model, this.collapsed);
    this.relayout();
  }

  collapseOne(): void {
    this.collapsed = collapseOneLevel(this.model, this.collapsed);
    this.relayout();
  }

  setMatches(matches: Set<number>): void {
    this.matches = matches;
    this.rebuildRows();
  }

  /** Show a row: expand its ancestors and scroll it to the middle of the view. */
  scrollToRow(row: number, openDetail = false): void {
    this.collapsed = reveal(this.model, this.collapsed, row);
    if (openDetail) this.expanded.add(row);
    this.relayout();
    const item = this.layout.items.find((i) => i.kind === 'span' && i.row === row);
    if (item) this.scroller.scrollTop = Math.max(0, item.top - this.scroller.clientHeight / 3);
    this.render();
  }

  destroy(): void {
    cancelAnimationFrame(this.frame);
    this.resizeObserver.disconnect();
  }

  private relayout(): void {
    this.visible = visibleRows(this.model, this.collapsed);
    this.layout = layoutList(this.visible, this.expanded, ROW_HEIGHT, DETAIL_HEIGHT);
    this.canvas.style.height = `${this.layout.totalHeight}px`;
    this.rebuildRows();
  }

  private rebuildRows(): void {
    // Span rows show collapse and match state: build them again; detail panes keep their scroll.
    for (const [key, node] of this.rendered) {
      if (key.startsWith('s')) {
        node.remove();
        this.rendered.delete(key);
      }
    }
    this.render();
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  private render(): void {
    const view = itemsInView(this.layout, this.scroller.scrollTop, this.scroller.clientHeight || 800);
    const wanted = new Set<string>();
    for (const item of view) {
      const key = `${item.kind === 'span' ? 's' : 'd'}${item.row}`;
      wanted.add(key);
      let node = this.rendered.get(key);
      if (!node) {
        node = item.kind === 'span' ? this.spanRow(item) : this.detailRow(item);
        this.rendered.set(key, node);
      }
      node.style.transform = `translateY(${item.top}px)`;
      if (!node.isConnected) this.canvas.appendChild(node);
    }
    for (const [key, node] of this.rendered) {
      if (!wanted.has(key)) {
        node.remove();
        this.rendered.delete(key);
      }
    }
  }

  private spanRow(item: LayoutItem): HTMLElement {
    const row = this.model.rows[item.row];
    const total = this.model.duration || 1;
    const left = (row.startOffset / total) * 100;
    const width = Math.max((row.duration / total) * 100, 0.15);
    const color = serviceColors.get(row.serviceName);
    const collapsed = this.collapsed.has(row.index);
    const hasChildren = row.children.length > 0;
    // Duration label beside the bar; inside it when the bar spans (nearly) the whole row.
    const labelInside = left < 12 && left + width > 78;
    const labelLeft = !labelInside && left + width > 78;
    const classes = ['span-row'];
    if (this.expanded.has(row.index)) classes.push('is-expanded');
    if (this.matches.has(row.index)) classes.push('is-match');
    if (row.isError) classes.push('is-error');
    return h(
      'div',
      { class: classes.join(' '), 'data-row': row.index, 'data-testid': 'span-row', role: 'row', 'aria-expanded': hasChildren ? String(!collapsed) : undefined },
      h(
        'div',
        { class: 'span-name-col', style: `padding-left: ${6 + Math.min(row.depth, MAX_INDENT_DEPTH) * INDENT}px`, title: `${row.serviceName}: ${row.operationName}` },
        hasChildren
          ? h('button', { type: 'button', class: 'span-toggle', 'data-toggle': row.index, 'aria-label': collapsed ? 'Expand' : 'Collapse', 'data-testid': 'span-toggle' }, collapsed ? '▸' : '▾')
          : h('span', { class: 'span-toggle-spacer' }),
        h('span', { class: 'svc-stripe', style: `background: ${color}` }),
        h('span', { class: 'svc-name' }, row.serviceName),
        h('span', { class: 'op-name' }, row.operationName),
        row.isError ? h('span', { class: 'error-mark', title: 'Error', 'data-testid': 'span-error' }, '!') : null,
        collapsed ? h('span', { class: `child-count${row.subtreeHasError && !row.isError ? ' has-error' : ''}` }, `+${row.descendantCount}`) : null,
      ),
      h(
        'div',
        { class: 'span-bar-col' },
        h('div', {
          class: `span-bar${row.critical ? ' critical' : ''}${row.isError ? ' error' : ''}`,
          style: `left: ${left}%; width: ${width}%; --svc: ${color}`,
        }),
        h(
          'span',
          {
            class: `bar-label${labelLeft ? ' label-left' : ''}${labelInside ? ' label-inside' : ''}`,
            style: labelInside ? `right: ${100 - left - width}%` : labelLeft ? `right: ${100 - left}%` : `left: ${left + width}%`,
          },
          formatDuration(row.duration),
        ),
      ),
    );
  }

  private detailRow(item: LayoutItem): HTMLElement {
    const row = this.model.rows[item.row];
    return h(
      'div',
      { class: 'span-detail', 'data-testid': 'span-detail', style: `height: ${DETAIL_HEIGHT}px; --svc: ${serviceColors.get(row.serviceName)}` },
      spanDetail(row, this.model, (target) => this.scrollToRow(target, true)),
    );
  }

  private onClick(event: MouseEvent): void {
    const target = event.target as HTMLElement;
    const toggle = target.closest<HTMLElement>('[data-toggle]');
    if (toggle) {
      const index = Number(toggle.dataset.toggle);
      if (this.collapsed.has(index)) this.collapsed.delete(index);
      else this.collapsed.add(index);
      this.relayout();
      return;
    }
    const rowEl = target.closest<HTMLElement>('.span-row');
    if (!rowEl) return;
    const index = Number(rowEl.dataset.row);
    if (this.expanded.has(index)) {
      this.expanded.delete(index);
      this.rendered.get(`d${index}`)?.remove();
      this.rendered.delete(`d${index}`);
    } else {
      this.expanded.add(index);
    }
    this.relayout();
  }
}
