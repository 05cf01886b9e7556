// The trace search page: Jaeger's search form, a scatter plot and result rows, and a live tail
// of new traces pushed over /ws/traces/.
import { isAbort } from '../api/http';
import { fetchOperations, fetchServices, searchTraces } from '../api/jaeger';
import { LiveSocket, type LiveState } from '../api/live';
import type { PageFactory } from '../shell/page';
import { clear, emptyState, h } from '../ui/dom';
import {
  LOOKBACKS,
  MAX_LIMIT,
  buildTraceQuery,
  formFromSearch,
  formToSearch,
  validateForm,
  type FormProblems,
  type SearchForm,
} from './model/search';
import { SORTS, fromSummaryV3, mergeLive, sortRows, summarizeTrace, type SortKey, type TraceSummaryRow } from './model/summary';
import type { TracesLiveMessage } from './model/types';
import { resultRow, scatterSvg, traceHref } from './results';

const LIVE_TEXT: Record<LiveState, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  stopped: 'Off',
};

export const createSearchPage: PageFactory = (route, ctx) => {
  let form: SearchForm = formFromSearch(route.search);
  let results: TraceSummaryRow[] = [];
  let searched = false;
  let searching = false;
  let errorText = '';
  let sort: SortKey = 'recent';
  let live: TraceSummaryRow[] = [];
  let fresh = new Set<string>();
  let tail: LiveSocket<TracesLiveMessage> | null = null;
  let inflight: AbortController | null = null;
  let destroyed = false;

  // Form
  const serviceSelect = h('select', { name: 'service', 'data-testid': 'search-service' });
  const operationSelect = h('select', { name: 'operation', 'data-testid': 'search-operation' });
  const tagsInput = h('input', { name: 'tags', type: 'text', placeholder: 'http.status_code=503 error=true', 'data-testid': 'search-tags', autocomplete: 'off' });
  const lookbackSelect = h('select', { name: 'lookback', 'data-testid': 'search-lookback' }, ...LOOKBACKS.map((l) => h('option', { value: l.value }, l.label)));
  const minInput = h('input', { name: 'minDuration', type: 'text', placeholder: 'e.g. 1.2s, 100ms, 500us', 'data-testid': 'search-min-duration' });
  const maxInput = h('input', { name: 'maxDuration', type: 'text', placeholder: 'e.g. 1.1s', 'data-testid': 'search-max-duration' });
  const limitInput = h('input', { name: 'limit', type: 'number', min: 1, max: MAX_LIMIT, 'data-testid': 'search-limit' });
  const problemsEl: Record<keyof FormProblems, HTMLElement> = {
    tags: h('p', { class: 'field-error' }),
    minDuration: h('p', { class: 'field-error' }),
    maxDuration: h('p', { class: 'field-error' }),
    limit: h('p', { class: 'field-error' }),
  };
  const field = (label: string, control: HTMLElement, hint?: string, problem?: HTMLElement) =>
    h('label', { class: 'field' }, h('span', { class: 'field-label' }, label), control, hint ? h('span', { class: 'field-hint' }, hint) : null, problem ?? null);
  const submit = h('button', { type: 'submit', class: 'button button-primary', 'data-testid': 'search-submit' }, 'Find traces');
  const formEl = h(
    'form',
    { class: 'search-form', 'data-testid': 'trace-search-form', novalidate: true },
    h('h2', null, 'Search'),
    field('Service', serviceSelect),
    field('Operation', operationSelect),
    field('Tags', tagsInput, 'logfmt: key=value pairs, quote values with spaces', problemsEl.tags),
    field('Lookback', lookbackSelect),
    h('div', { class: 'field-pair' }, field('Min duration', minInput, undefined, problemsEl.minDuration), field('Max duration', maxInput, undefined, problemsEl.maxDuration)),
    field('Limit results', limitInput, undefined, problemsEl.limit),
    submit,
  );
  formEl.addEventListener('submit', (e) => {
    e.preventDefault();
    const next = readForm();
    if (!showProblems(next)) return;
    const search = formToSearch(next);
    if (search === window.location.search) void runSearch(next);
    else ctx.navigate(`/traces${search}`);
  });
  serviceSelect.addEventListener('change', () => {
    form = { ...readForm(), operation: '' };
    void loadOperations(form.service, '');
    if (tail) renderResults();
  });

  const liveToggle = h('input', { type: 'checkbox', role: 'switch', 'data-testid': 'live-tail-toggle' });
  const liveIndicator = h('span', { class: 'live-indicator', 'data-state': 'stopped', 'data-testid': 'traces-live-indicator' });
  liveToggle.addEventListener('change', () => (liveToggle.checked ? startTail() : stopTail()));

  // Results
  const sortSelect = h(
    'select',
    { 'data-testid': 'results-sort', 'aria-label': 'Sort', onchange: (e: Event) => { sort = (e.target as HTMLSelectElement).value as SortKey; renderResults(); } },
    ...SORTS.map((s) => h('option', { value: s.value }, s.label)),
  );
  const resultsTitle = h('h2', { 'data-testid': 'results-title' });
  const plotBox = h('div', { class: 'scatter-box' });
  const list = h('div', { class: 'result-list' });
  const banner = h('div', { class: 'banners' });
  const resultsColumn = h(
    'div',
    { class: 'results' },
    h(
      'div',
      { class: 'results-header' },
      resultsTitle,
      h('span', { class: 'toolbar-spacer' }),
      h('label', { class: 'control control-check live-toggle' }, liveToggle, h('span', null, 'Live tail')),
      liveIndicator,
      h('label', { class: 'control' }, h('span', { class: 'control-label' }, 'Sort'), sortSelect),
    ),
    banner,
    plotBox,
    list,
  );
  const el = h(
    'section',
    { class: 'page page-traces', 'data-testid': 'page-traces' },
    h('div', { class: 'traces-layout', 'data-testid': 'trace-search' }, h('aside', { class: 'search-panel' }, formEl), resultsColumn),
  );

  const resizeObserver = new ResizeObserver(() => renderPlot());
  resizeObserver.observe(resultsColumn);

  function readForm(): SearchForm {
    return {
      service: serviceSelect.value,
      operation: operationSelect.value,
      tags: tagsInput.value,
      lookback: lookbackSelect.value,
      minDuration: minInput.value,
      maxDuration: maxInput.value,
      limit: Number.parseInt(limitInput.value, 10),
    };
  }

  function writeForm(f: SearchForm) {
    serviceSelect.value = f.service;
    operationSelect.value = f.operation;
    tagsInput.value = f.tags;
    lookbackSelect.value = f.lookback;
    minInput.value = f.minDuration;
    maxInput.value = f.maxDuration;
    limitInput.value = String(f.limit);
  }

  function showProblems(f: SearchForm): boolean {
    const problems = validateForm(f);
    for (const key of Object.keys(problemsEl) as (keyof FormProblems)[]) problemsEl[key].textContent = problems[key] ?? '';
    return Object.keys(problems).length === 0;
  }

  function fillSelect(select: HTMLSelectElement, values: string[], allLabel: string, value: string) {
    const known = new Set(values);
    const options = [h('option', { value: '' }, allLabel), ...values.map((v) => h('option', { value: v }, v))];
    if (value && !known.has(value)) options.push(h('option', { value }, value));
    select.replaceChildren(...options);
    select.value = value;
  }

  async function loadServices() {
    fillSelect(serviceSelect, [], 'All services', form.service);
    try {
      const services = await fetchServices();
      if (destroyed) return;
      fillSelect(serviceSelect, services, 'All services', serviceSelect.value || form.service);
    } catch (err) {
      errorText = `The service list could not be loaded: ${(err as Error).message}`;
      renderResults();
    }
  }

  async function loadOperations(service: string, value: string) {
    fillSelect(operationSelect, [], 'All operations', value);
    if (!service) return;
    try {
      const operations = await fetchOperations(service);
      if (destroyed || serviceSelect.value !== service) return;
      fillSelect(operationSelect, operations, 'All operations', value);
    } catch {
      // The operation stays free to leave at "all"; the search itself reports server errors.
    }
  }

  async function runSearch(f: SearchForm) {
    form = f;
    inflight?.abort();
    const controller = new AbortController();
    inflight = controller;
    searching = true;
    errorText = '';
    submit.disabled = true;
    renderResults();
    try {
      const traces = await searchTraces(buildTraceQuery(f, Date.now() * 1000), controller.signal);
      if (controller.signal.aborted || destroyed) return;
      results = traces.map(summarizeTrace);
    } catch (err) {
      if (isAbort(err) || destroyed) return;
      results = [];
      errorText = `The search failed: ${(err as Error).message}`;
    } finally {
      if (inflight === controller) {
        inflight = null;
        searching = false;
        searched = true;
        submit.disabled = false;
        renderResults();
      }
    }
  }

  function startTail() {
    liveToggle.checked = true;
    live = [];
    tail = new LiveSocket<TracesLiveMessage>('/ws/traces/', {
      onState: (s) => {
        liveIndicator.dataset.state = s;
        liveIndicator.textContent = LIVE_TEXT[s];
      },
      onMessage: (message) => {
        if (!message || !Array.isArray(message.traces)) return;
        const rows = message.traces.map(fromSummaryV3);
        if (message.type === 'traces.snapshot') {
          live = mergeLive([], rows);
          fresh = new Set();
        } else {
          live = mergeLive(live, rows);
          fresh = new Set(rows.map((r) => r.traceID));
        }
        renderResults();
      },
    });
    tail.start();
    renderResults();
  }

  function stopTail() {
    liveToggle.checked = false;
    tail?.stop();
    tail = null;
    liveIndicator.dataset.state = 'stopped';
    liveIndicator.textContent = '';
    renderResults();
  }

  function shownRows(): TraceSummaryRow[] {
    if (!tail) return sortRows(results, sort);
    const service = serviceSelect.value;
    const rows = service ? live.filter((r) => r.services.some((s) => s.name === service)) : live;
    return sortRows(rows, sort);
  }

  function renderPlot() {
    clear(plotBox);
    const rows = shownRows();
    // The plot box is hidden while empty: size the plot from the results column.
    const width = Math.max(320, Math.floor(resultsColumn.clientWidth) - 2);
    if (rows.length) plotBox.appendChild(scatterSvg(rows, width, (id) => ctx.navigate(traceHref(id))));
  }

  function renderResults() {
    const rows = shownRows();
    clear(banner);
    if (errorText) banner.appendChild(h('div', { class: 'banner banner-error', role: 'alert', 'data-testid': 'traces-error' }, errorText));
    if (tail) {
      resultsTitle.textContent = `${rows.length} live trace${rows.length === 1 ? '' : 's'}`;
    } else if (searching && !results.length) {
      resultsTitle.textContent = 'Searching…';
    } else {
      resultsTitle.textContent = searched ? `${rows.length} trace${rows.length === 1 ? '' : 's'}` : 'Traces';
    }
    renderPlot();
    clear(list);
    list.dataset.testid = tail ? 'live-tail' : 'trace-results';
    if (!rows.length) {
      if (tail) {
        list.appendChild(emptyState('traces-empty', 'Waiting for traces', 'New traces show up here as meshview receives their spans.'));
      } else if (searched && !errorText) {
        list.appendChild(emptyState('traces-empty', 'No traces found', 'Nothing matches this search. Try a longer lookback, fewer tags or another service.'));
      }
      return;
    }
    const maxDuration = Math.max(...rows.map((r) => r.duration));
    const now = Date.now();
    for (const row of rows) list.appendChild(resultRow(row, maxDuration, now, tail !== null && fresh.has(row.traceID)));
  }

  writeForm(form);
  void loadServices();
  void loadOperations(form.service, form.operation);
  void runSearch(form);

  return {
    el,
    title: 'Traces',
    update(next) {
      if (next.name !== 'traces') return false;
      const nextForm = formFromSearch(next.search);
      const serviceChanged = nextForm.service !== serviceSelect.value;
      writeForm(nextForm);
      if (serviceChanged || operationSelect.value !== nextForm.operation) void loadOperations(nextForm.service, nextForm.operation);
      showProblems(nextForm);
      void runSearch(nextForm);
      return true;
    },
    destroy() {
      destroyed = true;
      inflight?.abort();
      tail?.stop();
      resizeObserver.disconnect();
    },
  };
};
