// The trace search page: Jaeger's search form, a scatter plot and result rows, and a live tail
// of new traces pushed over /ws/traces/.
import { useEffect, useRef, useState } from 'react';
import { useLocation, useNavigate } from 'react-router';
import { isAbort } from '../api/http';
import { fetchOperations, fetchServices, searchTraces } from '../api/jaeger';
import { fetchRequestIdTraces } from '../api/meshview';
import { LiveSocket, type LiveState } from '../api/live';
import { EmptyState } from '../ui/EmptyState';
import { useTitle } from '../ui/useTitle';
import { LOOKBACKS, MAX_LIMIT, buildTraceQuery, formFromSearch, formToSearch, validateForm, type FormProblems, type SearchForm } from './model/search';
import { SORTS, fromSummaryV3, sortRows, summarizeTrace, type SortKey, type TraceSummaryRow } from './model/summary';
import type { TracesLiveMessage } from './model/types';
import { serviceColors } from './model/colors';
import { formatDateTime } from '../ui/time';
import { ResultRow, Scatter, traceHref } from './Results';
import './traces.css';

const LIVE_TEXT: Record<LiveState, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  stopped: '',
};

function Field({ label, hint, problem, children }: { label: string; hint?: string; problem?: string; children: React.ReactNode }) {
  return (
    <label className="field">
      <span className="field-label">{label}</span>
      {children}
      {hint ? <span className="field-hint">{hint}</span> : null}
      {problem !== undefined ? <p className="field-error">{problem}</p> : null}
    </label>
  );
}

function Options({ values, allLabel, value }: { values: string[]; allLabel: string; value: string }) {
  return (
    <>
      <option value="">{allLabel}</option>
      {values.map((v) => (
        <option key={v} value={v}>
          {v}
        </option>
      ))}
      {value && !values.includes(value) ? <option value={value}>{value}</option> : null}
    </>
  );
}

/**
 * The live tail: the search kept current. Each push of new traces from /ws/traces/ runs the
 * search again (at most once a second), so the tail keeps to every field of the form.
 */
function useLiveTail(on: boolean, search: string) {
  const [rows, setRows] = useState<TraceSummaryRow[]>([]);
  const [fresh, setFresh] = useState<Set<string>>(new Set());
  const [state, setState] = useState<LiveState>('stopped');
  useEffect(() => {
    if (!on) return;
    setRows([]);
    const form = { ...formFromSearch(search), start: null, end: null };
    const controller = new AbortController();
    let seen: Set<string> | null = null;
    let timer: number | undefined;
    let running = false;
    let again = false;
    const refresh = async () => {
      if (running) {
        again = true;
        return;
      }
      running = true;
      try {
        const found = (await searchTraces(buildTraceQuery(form, Date.now() * 1000), controller.signal)).map(summarizeTrace);
        const previous = seen;
        seen = new Set(found.map((r) => r.traceID));
        setRows(found);
        setFresh(new Set(previous ? found.filter((r) => !previous.has(r.traceID)).map((r) => r.traceID) : []));
      } catch {
        // The next push tries again; the indicator shows the socket's state.
      } finally {
        running = false;
        if (again && !controller.signal.aborted) {
          again = false;
          timer = window.setTimeout(() => void refresh(), 1000);
        }
      }
    };
    const socket = new LiveSocket<TracesLiveMessage>('/ws/traces/', {
      onState: setState,
      onMessage: (message) => {
        if (!message || !Array.isArray(message.traces)) return;
        if (message.type === 'traces.snapshot' || message.traces.length) {
          window.clearTimeout(timer);
          timer = window.setTimeout(() => void refresh(), 300);
        }
      },
    });
    socket.start();
    return () => {
      controller.abort();
      window.clearTimeout(timer);
      socket.stop();
    };
  }, [on, search]);
  return { rows, fresh, state: on ? state : ('stopped' as LiveState) };
}

/** An access log's request id: its trace, or the traces that carry it. */
function RequestIdForm({ initial }: { initial: string }) {
  const navigate = useNavigate();
  const [text, setText] = useState(initial);
  useEffect(() => setText(initial), [initial]);
  return (
    <form
      className="search-form request-id-form"
      data-testid="request-id-form"
      onSubmit={(e) => {
        e.preventDefault();
        if (text.trim()) navigate(`/traces?requestId=${encodeURIComponent(text.trim())}`);
      }}
    >
      <Field label="Request ID" hint="an access log's x-request-id">
        <input name="requestId" type="search" placeholder="e.g. 9f0c8f9e-7f5c-4b3a-9d1e-0d6a4e1f2b3c" data-testid="search-request-id" value={text} onChange={(e) => setText(e.target.value)} />
      </Field>
      <button type="submit" className="button" data-testid="request-id-submit">
        Find its trace
      </button>
    </form>
  );
}

export function SearchPage() {
  useTitle('Traces');
  const location = useLocation();
  const navigate = useNavigate();
  const [form, setForm] = useState<SearchForm>(() => formFromSearch(location.search));
  const [problems, setProblems] = useState<FormProblems>({});
  const [services, setServices] = useState<string[] | null>(null);
  const [operations, setOperations] = useState<string[]>([]);
  const [results, setResults] = useState<TraceSummaryRow[]>([]);
  const [searched, setSearched] = useState(false);
  const [searching, setSearching] = useState(false);
  const [errorText, setErrorText] = useState('');
  const [sort, setSort] = useState<SortKey>('recent');
  const [tailOn, setTailOn] = useState(false);
  const [picked, setPicked] = useState<string[]>([]);
  const tail = useLiveTail(tailOn, location.search);
  const requestId = new URLSearchParams(location.search).get('requestId') ?? '';
  const resultsColumn = useRef<HTMLDivElement>(null);
  const [plotWidth, setPlotWidth] = useState(640);

  useEffect(() => {
    const el = resultsColumn.current;
    if (!el) return;
    const observer = new ResizeObserver(() => setPlotWidth(Math.max(320, Math.floor(el.clientWidth) - 2)));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  useEffect(() => {
    const controller = new AbortController();
    // The service list gives each service its colour before any result is drawn.
    fetchServices(controller.signal)
      .then((list) => {
        serviceColors.seed(list);
        setServices(list);
      })
      .catch((err) => {
        if (isAbort(err)) return;
        setServices([]);
        setErrorText(`The service list could not be loaded: ${(err as Error).message}`);
      });
    return () => controller.abort();
  }, []);

  useEffect(() => {
    setOperations([]);
    if (!form.service) return;
    const controller = new AbortController();
    // The operation stays free to leave at "all"; the search itself reports server errors.
    fetchOperations(form.service, controller.signal).then(setOperations, () => {});
    return () => controller.abort();
  }, [form.service]);

  // The URL is the search: run it whenever it changes.
  const ready = services !== null;
  useEffect(() => {
    if (!ready) return;
    const next = formFromSearch(location.search);
    setForm(next);
    setProblems(validateForm(next));
    const controller = new AbortController();
    setSearching(true);
    setErrorText('');
    const byRequestId = new URLSearchParams(location.search).get('requestId');
    const found = byRequestId
      ? fetchRequestIdTraces(byRequestId, controller.signal).then((traces) => {
          // One trace carries it: open that trace, as the request's own page.
          if (traces.length === 1) navigate(traceHref(traces[0].traceId), { replace: true });
          return traces.map(fromSummaryV3);
        })
      : searchTraces(buildTraceQuery(next, Date.now() * 1000), controller.signal).then((traces) => traces.map(summarizeTrace));
    found
      .then(setResults)
      .catch((err) => {
        if (isAbort(err)) return;
        setResults([]);
        setErrorText(`The search failed: ${(err as Error).message}`);
      })
      .finally(() => {
        if (controller.signal.aborted) return;
        setSearching(false);
        setSearched(true);
      });
    return () => controller.abort();
  }, [location.search, location.key, ready, navigate]);

  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    const found = validateForm(form);
    setProblems(found);
    if (Object.keys(found).length) return;
    navigate(`/traces${formToSearch(form)}`);
  };
  const set = (patch: Partial<SearchForm>) => setForm({ ...form, ...patch });

  const rows = sortRows(tailOn ? tail.rows : results, sort);
  const title = tailOn
    ? `${rows.length} live trace${rows.length === 1 ? '' : 's'}`
    : searching && !results.length
      ? 'Searching…'
      : searched
        ? `${rows.length} trace${rows.length === 1 ? '' : 's'}${requestId ? ` with request id ${requestId}` : ''}`
        : 'Traces';
  const maxDuration = rows.length ? Math.max(...rows.map((r) => r.duration)) : 0;
  const now = Date.now();

  return (
    <section className="page page-traces" data-testid="page-traces">
      <div className="traces-layout" data-testid="trace-search">
        <aside className="search-panel">
          <form className="search-form" data-testid="trace-search-form" noValidate onSubmit={submit}>
            <h2>Search</h2>
            <Field label="Service">
              <select name="service" data-testid="search-service" value={form.service} onChange={(e) => set({ service: e.target.value, operation: '' })}>
                <Options values={services ?? []} allLabel="All services" value={form.service} />
              </select>
            </Field>
            <Field label="Operation">
              <select name="operation" data-testid="search-operation" value={form.operation} onChange={(e) => set({ operation: e.target.value })}>
                <Options values={operations} allLabel="All operations" value={form.operation} />
              </select>
            </Field>
            <Field label="Tags" hint="logfmt: key=value pairs, quote values with spaces" problem={problems.tags ?? ''}>
              <input
                name="tags"
                type="text"
                placeholder="http.status_code=503 error=true"
                data-testid="search-tags"
                autoComplete="off"
                value={form.tags}
                onChange={(e) => set({ tags: e.target.value })}
              />
            </Field>
            <Field label="Lookback">
              <select
                name="lookback"
                data-testid="search-lookback"
                value={form.start !== null ? 'custom' : form.lookback}
                onChange={(e) => set({ lookback: e.target.value, start: null, end: null })}
              >
                {form.start !== null && form.end !== null ? (
                  <option value="custom">
                    {formatDateTime(form.start / 1000).slice(11, 19)} to {formatDateTime(form.end / 1000).slice(11, 19)}
                  </option>
                ) : null}
                {LOOKBACKS.map((l) => (
                  <option key={l.value} value={l.value}>
                    {l.label}
                  </option>
                ))}
              </select>
            </Field>
            <div className="field-pair">
              <Field label="Min duration" problem={problems.minDuration ?? ''}>
                <input
                  name="minDuration"
                  type="text"
                  placeholder="e.g. 1.2s, 100ms, 500us"
                  data-testid="search-min-duration"
                  value={form.minDuration}
                  onChange={(e) => set({ minDuration: e.target.value })}
                />
              </Field>
              <Field label="Max duration" problem={problems.maxDuration ?? ''}>
                <input
                  name="maxDuration"
                  type="text"
                  placeholder="e.g. 1.1s"
                  data-testid="search-max-duration"
                  value={form.maxDuration}
                  onChange={(e) => set({ maxDuration: e.target.value })}
                />
              </Field>
            </div>
            <Field label="Limit results" problem={problems.limit ?? ''}>
              <input
                name="limit"
                type="number"
                min={1}
                max={MAX_LIMIT}
                data-testid="search-limit"
                value={Number.isNaN(form.limit) ? '' : form.limit}
                onChange={(e) => set({ limit: Number.parseInt(e.target.value, 10) })}
              />
            </Field>
            <button type="submit" className="button button-primary" data-testid="search-submit" disabled={searching}>
              Find traces
            </button>
          </form>
          <RequestIdForm initial={requestId} />
        </aside>
        <div className="results" ref={resultsColumn}>
          <div className="results-header">
            <h2 data-testid="results-title">{title}</h2>
            <span className="toolbar-spacer" />
            <button
              type="button"
              className="button"
              data-testid="compare-selected"
              disabled={picked.length !== 2}
              title="Tick two traces to compare them"
              onClick={() => navigate(`/traces/compare?a=${encodeURIComponent(picked[0])}&b=${encodeURIComponent(picked[1])}`)}
            >
              Compare {picked.length}/2
            </button>
            <label className="control control-check live-toggle">
              <input type="checkbox" role="switch" data-testid="live-tail-toggle" checked={tailOn} onChange={(e) => setTailOn(e.target.checked)} />
              <span>Live tail</span>
            </label>
            <span className="live-indicator" data-state={tail.state} data-testid="traces-live-indicator">
              {LIVE_TEXT[tail.state]}
            </span>
            <label className="control">
              <span className="control-label">Sort</span>
              <select data-testid="results-sort" aria-label="Sort" value={sort} onChange={(e) => setSort(e.target.value as SortKey)}>
                {SORTS.map((s) => (
                  <option key={s.value} value={s.value}>
                    {s.label}
                  </option>
                ))}
              </select>
            </label>
          </div>
          <div className="banners">
            {errorText ? (
              <div className="banner banner-error" role="alert" data-testid="traces-error">
                {errorText}
              </div>
            ) : null}
          </div>
          <div className="scatter-box">{rows.length ? <Scatter rows={rows} width={plotWidth} onPick={(id) => navigate(traceHref(id))} /> : null}</div>
          <div className="result-list" data-testid={tailOn ? 'live-tail' : 'trace-results'}>
            {rows.length ? (
              rows.map((row) => (
                <ResultRow
                  key={row.traceID}
                  row={row}
                  maxDuration={maxDuration}
                  nowMs={now}
                  fresh={tailOn && tail.fresh.has(row.traceID)}
                  picked={picked.includes(row.traceID)}
                  onPick={(on) => setPicked(on ? [...picked.filter((id) => id !== row.traceID), row.traceID].slice(-2) : picked.filter((id) => id !== row.traceID))}
                />
              ))
            ) : tailOn ? (
              <EmptyState testid="traces-empty" title="Waiting for traces" text="New traces show up here as meshview receives their spans." />
            ) : searched && !errorText ? (
              <EmptyState
                testid="traces-empty"
                title="No traces found"
                text={
                  requestId
                    ? `No trace carries the request id ${requestId}: its spans may not have been sent, or the request was not sampled.`
                    : 'Nothing matches this search. Try a longer lookback, fewer tags or another service.'
                }
              />
            ) : null}
          </div>
        </div>
      </div>
    </section>
  );
}
