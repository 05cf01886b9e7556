// One trace: header with its figures, the service legend, and the timeline.
import { isAbort } from '../api/http';
import { fetchTrace } from '../api/jaeger';
import type { Route } from '../shell/routes';
import type { PageFactory } from '../shell/page';
import { downloadText, emptyState, h } from '../ui/dom';
import { formatDateTime } from '../ui/time';
import { serviceColors } from './model/colors';
import { formatDuration } from './model/duration';
import { buildTraceModel, findRows, type TraceModel } from './model/tree';
import type { JaegerTrace } from './model/types';
import { TraceTimeline } from './timeline';

function fact(label: string, value: string, testid?: string): HTMLElement {
  return h('div', { class: 'fact' }, h('span', { class: 'fact-label' }, label), h('span', { class: 'fact-value', 'data-testid': testid }, value));
}

function traceView(trace: JaegerTrace, model: TraceModel, onDestroy: (fn: () => void) => void): HTMLElement {
  const timeline = new TraceTimeline(model);
  onDestroy(() => timeline.destroy());

  const findInput = h('input', { type: 'search', class: 'find-input', placeholder: 'Find in trace', 'aria-label': 'Find in trace', 'data-testid': 'trace-find' });
  const findCount = h('span', { class: 'muted small', 'data-testid': 'trace-find-count' });
  let matches: number[] = [];
  let cursor = -1;
  let debounce: number | undefined;
  findInput.addEventListener('input', () => {
    window.clearTimeout(debounce);
    debounce = window.setTimeout(() => {
      const found = findRows(model, findInput.value);
      matches = [...found].sort((a, b) => a - b);
      cursor = -1;
      timeline.setMatches(found);
      findCount.textContent = findInput.value.trim() ? `${matches.length} match${matches.length === 1 ? '' : 'es'}` : '';
    }, 150);
  });
  findInput.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && matches.length) {
      cursor = (cursor + (e.shiftKey ? -1 : 1) + matches.length) % matches.length;
      timeline.scrollToRow(matches[cursor]);
    }
  });

  const title = `${model.rootServiceName}: ${model.rootOperationName}`;
  const header = h(
    'header',
    { class: 'trace-header', 'data-testid': 'trace-header' },
    h('a', { href: '/traces', class: 'back-link' }, '← Search'),
    h('h1', { 'data-testid': 'trace-title' }, title, h('span', { class: 'trace-id mono' }, model.traceID)),
    h(
      'div',
      { class: 'facts-row' },
      fact('Trace start', formatDateTime(model.startTime / 1000)),
      fact('Duration', formatDuration(model.duration), 'trace-duration'),
      fact('Services', String(model.services.length), 'trace-services'),
      fact('Depth', String(model.depth), 'trace-depth'),
      fact('Total spans', String(model.spanCount), 'trace-span-count'),
      fact('Errors', String(model.errorCount), 'trace-errors'),
    ),
    h(
      'div',
      { class: 'service-legend' },
      ...model.services.map((s) =>
        h('span', { class: `service-chip${s.errorCount ? ' chip-error' : ''}`, style: `--svc: ${serviceColors.get(s.name)}` }, `${s.name} (${s.spanCount}${s.errorCount ? `, ${s.errorCount} errors` : ''})`),
      ),
    ),
    model.warnings.length ? h('div', { class: 'banner banner-warning' }, ...model.warnings.map((w) => h('div', null, w))) : null,
  );
  const controls = h(
    'div',
    { class: 'timeline-controls' },
    h('button', { type: 'button', class: 'tool-button', 'data-testid': 'expand-all', onclick: () => timeline.expandAll() }, 'Expand all'),
    h('button', { type: 'button', class: 'tool-button', 'data-testid': 'collapse-all', onclick: () => timeline.collapseAll() }, 'Collapse all'),
    h('button', { type: 'button', class: 'tool-button', onclick: () => timeline.expandOne() }, 'Expand +1'),
    h('button', { type: 'button', class: 'tool-button', onclick: () => timeline.collapseOne() }, 'Collapse −1'),
    h('span', { class: 'toolbar-spacer' }),
    h('span', { class: 'critical-key', title: 'Spans the end of the trace waited for' }, 'Critical path'),
    findInput,
    findCount,
    h(
      'button',
      { type: 'button', class: 'tool-button', 'data-testid': 'trace-json', onclick: () => downloadText(JSON.stringify({ data: [trace] }, null, 2), `trace-${model.traceID}.json`) },
      'Trace JSON',
    ),
  );
  return h('div', { class: 'trace-view', 'data-testid': 'trace-view' }, header, controls, timeline.el);
}

export const createTracePage: PageFactory = (route, _ctx) => {
  const traceID = (route as Route & { name: 'trace' }).traceID;
  const body = h('div', { class: 'loading', 'data-testid': 'trace-loading' }, 'Loading the trace…');
  const el = h('section', { class: 'page page-traces page-trace', 'data-testid': 'page-traces' }, body);
  const cleanups: (() => void)[] = [];
  const controller = new AbortController();

  void (async () => {
    try {
      const trace = await fetchTrace(traceID, controller.signal);
      if (controller.signal.aborted) return;
      if (!trace || !trace.spans?.length) {
        body.replaceWith(
          emptyState('trace-not-found', 'Trace not found', `meshview has no spans for trace ${traceID}. It may have expired, or its spans have not arrived yet.`, h('a', { href: '/traces' }, 'Search traces')),
        );
        return;
      }
      const model = buildTraceModel(trace);
      document.title = `${model.rootServiceName}: ${model.rootOperationName} · meshview`;
      body.replaceWith(traceView(trace, model, (fn) => cleanups.push(fn)));
    } catch (err) {
      if (isAbort(err)) return;
      body.replaceWith(h('div', { class: 'banner banner-error', role: 'alert', 'data-testid': 'trace-error' }, `The trace could not be loaded: ${(err as Error).message}`));
    }
  })();

  return {
    el,
    title: `Trace ${traceID.slice(0, 7)}`,
    destroy() {
      controller.abort();
      for (const fn of cleanups) fn();
    },
  };
};
