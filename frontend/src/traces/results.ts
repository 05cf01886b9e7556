// Trace result rows and the scatter plot above them (search results and the live tail share both).
import { h, svg } from '../ui/dom';
import { formatAgo, formatDateTime } from '../ui/time';
import { serviceColors } from './model/colors';
import { formatDuration } from './model/duration';
import { scatterPlot } from './model/scatter';
import type { TraceSummaryRow } from './model/summary';

export function traceHref(traceID: string): string {
  return `/traces/${encodeURIComponent(traceID)}`;
}

export function resultRow(row: TraceSummaryRow, maxDuration: number, nowMs: number, fresh = false): HTMLElement {
  const width = maxDuration > 0 ? Math.max(0.5, (row.duration / maxDuration) * 100) : 0;
  return h(
    'a',
    { class: `result-row${fresh ? ' fresh' : ''}${row.errorCount ? ' has-errors' : ''}`, href: traceHref(row.traceID), 'data-testid': 'trace-row', 'data-trace-id': row.traceID },
    h(
      'div',
      { class: 'result-head' },
      h('span', { class: 'result-title' }, h('strong', null, row.rootServiceName || 'unknown'), `: ${row.rootOperationName || '(no root span)'}`, h('span', { class: 'trace-id' }, row.traceID.slice(0, 7))),
      h('span', { class: 'result-bar' }, h('span', { style: `width: ${width.toFixed(2)}%` })),
      h('span', { class: 'result-duration' }, formatDuration(row.duration)),
    ),
    h(
      'div',
      { class: 'result-body' },
      h('span', { class: 'result-counts' }, `${row.spanCount} span${row.spanCount === 1 ? '' : 's'}`, row.errorCount ? h('span', { class: 'error-count' }, `${row.errorCount} error${row.errorCount === 1 ? '' : 's'}`) : null),
      h(
        'span',
        { class: 'service-chips' },
        ...row.services.map((s) =>
          h(
            'span',
            { class: `service-chip${s.errorCount ? ' chip-error' : ''}`, style: `--svc: ${serviceColors.get(s.name)}` },
            `${s.name} (${s.spanCount})`,
          ),
        ),
      ),
      h('span', { class: 'result-time' }, h('span', null, formatDateTime(row.startTime / 1000)), h('span', { class: 'muted' }, formatAgo(row.startTime / 1000, nowMs))),
    ),
  );
}

export function scatterSvg(rows: TraceSummaryRow[], width: number, onPick: (traceID: string) => void): SVGSVGElement {
  const height = 170;
  const box = { width, height, left: 64, right: 36, top: 12, bottom: 26 };
  const plot = scatterPlot(rows, box);
  return svg(
    'svg',
    { class: 'scatter', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': 'Trace durations over time', 'data-testid': 'scatter-plot' },
    ...plot.yTicks.map((t) =>
      svg('g', null, svg('line', { x1: box.left, x2: width - box.right, y1: t.position, y2: t.position, class: 'grid' }), svg('text', { x: box.left - 6, y: t.position + 3, 'text-anchor': 'end', class: 'axis' }, t.label)),
    ),
    ...plot.xTicks.map((t) => svg('text', { x: t.position, y: height - 8, 'text-anchor': 'middle', class: 'axis' }, t.label)),
    ...plot.points.map((p) =>
      svg(
        'circle',
        {
          cx: p.x.toFixed(1),
          cy: p.y.toFixed(1),
          r: p.r.toFixed(1),
          class: p.error ? 'point point-error' : 'point',
          'data-trace-id': p.traceID,
          onclick: () => onPick(p.traceID),
        },
        svg('title', null, p.title),
      ),
    ),
  );
}
