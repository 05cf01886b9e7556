// One trace: header with its figures, the service legend, and the timeline.
import { useEffect, useMemo, useRef, useState } from 'react';
import { Link, useParams } from 'react-router';
import { isAbort } from '../api/http';
import { fetchServices, fetchTrace } from '../api/jaeger';
import { serviceColors } from './model/colors';
import { EmptyState } from '../ui/EmptyState';
import { downloadText } from '../ui/download';
import { formatDateTime } from '../ui/time';
import { useTitle } from '../ui/useTitle';
import { formatDuration } from './model/duration';
import { buildTraceModel, findRows, type TraceModel } from './model/tree';
import type { JaegerTrace } from './model/types';
import { ServiceChip } from './Results';
import { Timeline, type TimelineHandle } from './Timeline';
import { Minimap } from './Minimap';
import { DagView } from '../ui/DagView';
import { graphLinkForService } from '../graph/model/links';
import { compareTraces } from './model/compare';
import { traceStatistics } from './model/stats';
import { tagValue, type SpanRow } from './model/tree';
import './traces.css';

function Fact({ label, value, testid }: { label: string; value: string; testid?: string }) {
  return (
    <div className="fact">
      <span className="fact-label">{label}</span>
      <span className="fact-value" data-testid={testid}>
        {value}
      </span>
    </div>
  );
}

type View = 'timeline' | 'graph' | 'statistics';

/** The graph at the trace's end with the span's service selected. */
function spanGraphLink(row: SpanRow, model: TraceModel): string {
  const tags = model.processes[row.span.processID]?.tags;
  const namespace = tagValue(tags, 'k8s.namespace.name');
  const version = tagValue(tags, 'service.version');
  return graphLinkForService(row.serviceName, typeof namespace === 'string' ? namespace : null, model.endTime, typeof version === 'string' ? version : null);
}

/** Jaeger's trace graph: the spans folded by call path, with their counts and time. */
function TraceGraph({ model }: { model: TraceModel }) {
  const dag = useMemo(() => {
    const diff = compareTraces(model, null);
    return {
      nodes: diff.map((n) => ({
        id: n.id,
        label: `${n.service}\n${n.operation}\n${n.countA} span${n.countA === 1 ? '' : 's'} · ${formatDuration(n.durationA)}`,
        border: serviceColors.get(n.service),
      })),
      edges: diff.filter((n) => n.parentId !== null).map((n) => ({ id: `e:${n.id}`, source: n.parentId!, target: n.id })),
    };
  }, [model]);
  return (
    <div className="dag-stage">
      <DagView nodes={dag.nodes} edges={dag.edges} testid="trace-graph" />
    </div>
  );
}

function TraceStatistics({ model }: { model: TraceModel }) {
  const rows = useMemo(() => traceStatistics(model), [model]);
  return (
    <div className="trace-stats">
      <table className="data-table stats-table" data-testid="trace-statistics">
        <thead>
          <tr>
            <th>Service</th>
            <th>Operation</th>
            <th className="num">Spans</th>
            <th className="num">Errors</th>
            <th className="num">Total</th>
            <th className="num">Avg</th>
            <th className="num">Min</th>
            <th className="num">Max</th>
            <th className="num">Self time</th>
            <th className="num">Self %</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={`${r.service}\n${r.operation}`}>
              <td>
                <ServiceChip name={r.service} text={r.service} />
              </td>
              <td>{r.operation}</td>
              <td className="num">{r.count}</td>
              <td className="num">{r.errors || ''}</td>
              <td className="num">{formatDuration(r.total)}</td>
              <td className="num">{formatDuration(r.avg)}</td>
              <td className="num">{formatDuration(r.min)}</td>
              <td className="num">{formatDuration(r.max)}</td>
              <td className="num">{formatDuration(r.selfTotal)}</td>
              <td className="num">{r.selfPercent.toFixed(1)}%</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function TraceView({ trace, model }: { trace: JaegerTrace; model: TraceModel }) {
  const timeline = useRef<TimelineHandle>(null);
  const [view, setView] = useState<View>('timeline');
  const [range, setRange] = useState<readonly [number, number]>([0, 1]);
  const root = model.rows[0];
  const [findText, setFindText] = useState('');
  const [query, setQuery] = useState('');
  const [cursor, setCursor] = useState(-1);
  useEffect(() => {
    const timer = window.setTimeout(() => setQuery(findText), 150);
    return () => window.clearTimeout(timer);
  }, [findText]);
  const found = useMemo(() => findRows(model, query), [model, query]);
  const matches = useMemo(() => [...found].sort((a, b) => a - b), [found]);
  useEffect(() => setCursor(-1), [matches]);

  return (
    <div className="trace-view" data-testid="trace-view">
      <header className="trace-header" data-testid="trace-header">
        <Link to="/traces" className="back-link">
          ← Search
        </Link>
        <h1 data-testid="trace-title">
          {model.rootServiceName}: {model.rootOperationName}
          <span className="trace-id mono">{model.traceID}</span>
        </h1>
        {root ? (
          <Link to={spanGraphLink(root, model)} data-testid="trace-graph-link">
            Show {root.serviceName} on the graph at the trace's time
          </Link>
        ) : null}
        <div className="facts-row">
          <Fact label="Trace start" value={formatDateTime(model.startTime / 1000)} />
          <Fact label="Duration" value={formatDuration(model.duration)} testid="trace-duration" />
          <Fact label="Services" value={String(model.services.length)} testid="trace-services" />
          <Fact label="Depth" value={String(model.depth)} testid="trace-depth" />
          <Fact label="Total spans" value={String(model.spanCount)} testid="trace-span-count" />
          <Fact label="Errors" value={String(model.errorCount)} testid="trace-errors" />
        </div>
        <div className="service-legend">
          {model.services.map((s) => (
            <ServiceChip key={s.name} name={s.name} error={s.errorCount > 0} text={`${s.name} (${s.spanCount}${s.errorCount ? `, ${s.errorCount} error${s.errorCount === 1 ? '' : 's'}` : ''})`} />
          ))}
        </div>
        {model.warnings.length ? (
          <div className="banner banner-warning">
            {model.warnings.map((w) => (
              <div key={w}>{w}</div>
            ))}
          </div>
        ) : null}
      </header>
      <div className="timeline-controls">
        <div className="view-tabs" role="tablist">
          {(['timeline', 'graph', 'statistics'] as const).map((v) => (
            <button key={v} type="button" role="tab" aria-selected={view === v} data-testid={`view-${v}`} onClick={() => setView(v)}>
              {v === 'timeline' ? 'Timeline' : v === 'graph' ? 'Trace graph' : 'Statistics'}
            </button>
          ))}
        </div>
        <button type="button" className="tool-button" data-testid="expand-all" onClick={() => timeline.current?.expandAll()}>
          Expand all
        </button>
        <button type="button" className="tool-button" data-testid="collapse-all" onClick={() => timeline.current?.collapseAll()}>
          Collapse all
        </button>
        <button type="button" className="tool-button" onClick={() => timeline.current?.expandOne()}>
          Expand +1
        </button>
        <button type="button" className="tool-button" onClick={() => timeline.current?.collapseOne()}>
          Collapse −1
        </button>
        <span className="toolbar-spacer" />
        <span className="critical-key" title="Spans the end of the trace waited for">
          Critical path
        </span>
        <input
          type="search"
          className="find-input"
          placeholder="Find in trace"
          aria-label="Find in trace"
          data-testid="trace-find"
          value={findText}
          onChange={(e) => setFindText(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && matches.length) {
              const next = (cursor + (e.shiftKey ? -1 : 1) + matches.length) % matches.length;
              setCursor(next);
              timeline.current?.scrollToRow(matches[next]);
            }
          }}
        />
        <span className="muted small" data-testid="trace-find-count">
          {query.trim() ? `${matches.length} match${matches.length === 1 ? '' : 'es'}` : ''}
        </span>
        <button
          type="button"
          className="tool-button"
          data-testid="trace-json"
          onClick={() => downloadText(JSON.stringify({ data: [trace] }, null, 2), `trace-${model.traceID}.json`)}
        >
          Trace JSON
        </button>
      </div>
      {view === 'timeline' ? (
        <>
          <div className="minimap-row">
            <Minimap model={model} range={range} onRange={setRange} />
            {range[0] > 0 || range[1] < 1 ? (
              <button type="button" className="tool-button" data-testid="reset-zoom" onClick={() => setRange([0, 1])}>
                Reset zoom
              </button>
            ) : null}
          </div>
          <Timeline
            model={model}
            matches={found}
            range={range}
            handle={timeline}
            detailActions={(row) => (
              <Link to={spanGraphLink(row, model)} data-testid="span-graph-link">
                Show {row.serviceName} on the graph
              </Link>
            )}
          />
        </>
      ) : view === 'graph' ? (
        <TraceGraph model={model} />
      ) : (
        <TraceStatistics model={model} />
      )}
    </div>
  );
}

type Loaded = { status: 'loading' } | { status: 'missing' } | { status: 'error'; message: string } | { status: 'ok'; trace: JaegerTrace; model: TraceModel };

export function TracePage() {
  const { traceID = '' } = useParams();
  const [loaded, setLoaded] = useState<Loaded>({ status: 'loading' });
  useTitle(loaded.status === 'ok' ? `${loaded.model.rootServiceName}: ${loaded.model.rootOperationName}` : `Trace ${traceID.slice(0, 7)}`);

  useEffect(() => {
    const controller = new AbortController();
    setLoaded({ status: 'loading' });
    // The service list gives each service the colour it has in the search results.
    const services = fetchServices(controller.signal).catch(() => [] as string[]);
    Promise.all([fetchTrace(traceID, controller.signal), services])
      .then(([trace, list]) => {
        if (controller.signal.aborted) return;
        serviceColors.seed(list);
        if (!trace || !trace.spans?.length) setLoaded({ status: 'missing' });
        else setLoaded({ status: 'ok', trace, model: buildTraceModel(trace) });
      })
      .catch((err) => {
        if (!isAbort(err)) setLoaded({ status: 'error', message: (err as Error).message });
      });
    return () => controller.abort();
  }, [traceID]);

  return (
    <section className="page page-traces page-trace" data-testid="page-traces">
      {loaded.status === 'loading' ? (
        <div className="loading" data-testid="trace-loading">
          Loading the trace…
        </div>
      ) : loaded.status === 'missing' ? (
        <EmptyState testid="trace-not-found" title="Trace not found" text={`meshview has no spans for trace ${traceID}. It may have expired, or its spans have not arrived yet.`}>
          <Link to="/traces">Search traces</Link>
        </EmptyState>
      ) : loaded.status === 'error' ? (
        <div className="banner banner-error" role="alert" data-testid="trace-error">
          The trace could not be loaded: {loaded.message}
        </div>
      ) : (
        <TraceView trace={loaded.trace} model={loaded.model} />
      )}
    </section>
  );
}
