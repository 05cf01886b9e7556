// The graph page: toolbar, canvas, side panel. Settings live in the URL so a view can be shared.
import CytoscapeComponent from 'react-cytoscapejs';
import type cytoscape from 'cytoscape';
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { Link, useLocation, useNavigate } from 'react-router';
import { isAbort } from '../api/http';
import { fetchNamespaces } from '../api/meshview';
import { EmptyState } from '../ui/EmptyState';
import { MultiSelect, SelectControl } from '../ui/MultiSelect';
import { downloadBlob, downloadText } from '../ui/download';
import { formatClock } from '../ui/time';
import { useTitle } from '../ui/useTitle';
import { GraphCanvas, type Selection } from './GraphCanvas';
import { Legend } from './Legend';
import { EdgePanel, NodePanel, SummaryPanel } from './Panels';
import { EDGE_LABEL_MODES, type ElementOptions } from './model/elements';
import { hiddenElements, matchElements, parseExpression, type Expression } from './model/expressions';
import { edgeTraceLinks, focusedNode, graphWindow, nodeTraceLinks, type TraceLink } from './model/links';
import { DisplayMenu, ExpressionInput, ReplayBar } from './Toolbar';
import { SeriesCharts } from './Charts';
import { seriesQuery } from './model/series';
import { edgeProtocol } from './model/health';
import { formatWindow } from './model/format';
import {
  BOX_BY,
  DURATIONS,
  GRAPH_TYPES,
  TELEMETRY_SOURCES,
  UPDATE_MODES,
  defaultNamespaces,
  graphApiUrl,
  graphQueryToSearch,
  nodeGraphOf,
  parseGraphQuery,
  type GraphQuery,
  type UpdateMode,
} from './model/params';
import { stateToGraph } from './model/store';
import { hasTraffic } from './model/traffic';
import { graphStylesheet } from './style';
import { useGraphFeed, type FeedState } from './useGraphFeed';
import { alertMarks } from '../alerts/model/firing';
import { useFiringAlerts } from '../alerts/useFiringAlerts';
import './graph.css';

const FEED_TEXT: Record<Exclude<FeedState, 'polling'>, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  stopped: 'Paused',
  manual: 'Manual',
};

const NO_ELEMENTS: cytoscape.ElementDefinition[] = [];
const BASE_STYLESHEET = graphStylesheet(false);
const CANVAS_STYLE = { width: '100%', height: '100%' };
const IDLE: Expression = { any: [[{ target: 'node', operand: 'idle', op: 'is', value: '' }]] };

function expressionOf(text: string): Expression | null {
  const parsed = parseExpression(text);
  return parsed.ok ? parsed.expression : null;
}

function TraceLinks({ links, testid }: { links: TraceLink[]; testid: string }) {
  return (
    <>
      {links.map((l) => (
        <Link key={l.href} to={l.href} data-testid={testid}>
          {l.label}
        </Link>
      ))}
    </>
  );
}

// The graph the user last looked at: the Graph tab (a link without a query) returns to it.
let lastSearch = '';

export function GraphPage() {
  useTitle('Graph');
  const location = useLocation();
  const navigate = useNavigate();
  // While the router loads the next page, this one still renders with the next page's location:
  // it keeps to its own.
  const own = /^\/graph\/?$/.test(location.pathname);
  const search = own ? location.search : lastSearch;
  const query = useMemo(() => parseGraphQuery(search || lastSearch), [search]);
  const [available, setAvailable] = useState<string[]>([]);
  // Without the namespace list, the graph is asked for every namespace the user may read, and
  // the picker offers the namespaces seen in it.
  const [listUnavailable, setListUnavailable] = useState(false);
  const [listLoaded, setListLoaded] = useState(false);
  const [notice, setNotice] = useState('');
  const [selection, setSelection] = useState<Selection>(null);
  const [dismissedWarnings, setDismissedWarnings] = useState('');
  const [legendOpen, setLegendOpen] = useState(false);
  const [exportOpen, setExportOpen] = useState(false);
  const canvasRef = useRef<GraphCanvas | null>(null);
  const fitFound = useRef(false);
  const focused = useRef('');

  const change = useCallback(
    (patch: Partial<GraphQuery>) => {
      navigate({ search: graphQueryToSearch({ ...query, ...patch }) }, { replace: true });
    },
    [navigate, query],
  );

  useEffect(() => {
    if (!own) return;
    if (!location.search && lastSearch) navigate({ search: lastSearch }, { replace: true });
    else lastSearch = location.search;
  }, [own, location.search, navigate]);

  // The namespace list decides the default selection.
  useEffect(() => {
    const controller = new AbortController();
    fetchNamespaces(controller.signal)
      .then((list) => setAvailable(list))
      .catch((err) => {
        if (isAbort(err)) return;
        setListUnavailable(true);
        setNotice(`The namespace list could not be loaded (${(err as Error).message}): the graph shows every namespace you may read.`);
      })
      .finally(() => {
        if (!controller.signal.aborted) setListLoaded(true);
      });
    return () => controller.abort();
  }, []);
  useEffect(() => {
    if (own && listLoaded && !query.namespaces.length && available.length) change({ namespaces: defaultNamespaces(available) });
  }, [own, listLoaded, available, query.namespaces.length, change]);

  const options = useRef<ElementOptions>({ graphType: query.graphType, edgeLabels: query.edgeLabels });
  const enabled = listLoaded && (query.namespaces.length > 0 || listUnavailable);
  // A past window (replay) does not change: no socket. A node graph is polled.
  const feedQuery: GraphQuery =
    query.queryTime !== null ? { ...query, update: 'manual' } : query.node && query.update === 'live' ? { ...query, update: '15s' } : query;
  const layoutKey = [query.namespaces, query.graphType, query.injectServiceNodes, query.boxBy, query.node, query.sources].join('|');
  const graph = useGraphFeed(feedQuery, enabled, layoutKey, {
    onReplace(state) {
      options.current = { graphType: state.graphType || query.graphType, edgeLabels: query.edgeLabels };
      canvasRef.current?.setGraph(state, options.current);
    },
    onDelta(applied, state) {
      const canvas = canvasRef.current;
      if (!canvas) return;
      const wasEmpty = canvas.cy.nodes().length === 0;
      canvas.applyDelta(applied, state, options.current);
      if (wasEmpty) canvas.relayout();
    },
  });
  const state = graph.state;

  useEffect(() => {
    if (!state) canvasRef.current?.cy.elements().remove();
  }, [state]);

  useEffect(() => {
    options.current = { ...options.current, edgeLabels: query.edgeLabels };
    if (state) canvasRef.current?.refreshLabels(state, options.current);
  }, [query.edgeLabels, state]);

  // A selection that left the graph falls back to the summary.
  const shownSelection =
    selection && state && (selection.kind === 'node' ? state.nodes.has(selection.id) : state.edges.has(selection.id)) ? selection : null;
  useEffect(() => {
    canvasRef.current?.select(shownSelection);
  }, [shownSelection, graph.version]);

  const pick = useCallback((s: Selection) => {
    setSelection(s);
    canvasRef.current?.select(s, true);
  }, []);

  const bindCanvas = useCallback((cy: cytoscape.Core) => {
    if (canvasRef.current?.cy === cy) return;
    canvasRef.current?.destroy();
    canvasRef.current = new GraphCanvas(cy, { onSelect: setSelection });
  }, []);
  // Before CytoscapeComponent destroys the instance (layout cleanups run first): stop animations.
  useLayoutEffect(() => () => canvasRef.current?.destroy(), []);

  // Graph namespaces seen, when the list could not be loaded.
  const namespaceOptions = useMemo(() => {
    const seen = new Set([...available, ...query.namespaces]);
    if (listUnavailable && state) {
      for (const node of state.nodes.values()) if (node.namespace && node.nodeType !== 'unknown') seen.add(node.namespace);
    }
    return [...seen].sort().map((n) => ({ value: n, label: n }));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [available, query.namespaces, listUnavailable, state, graph.version]);

  // Find and hide: the canvas marks what the expressions select, after every change.
  useEffect(() => {
    const canvas = canvasRef.current;
    if (!state || !canvas) return;
    const hide = expressionOf(query.hide);
    const hidden = hiddenElements(state, { any: [...(hide?.any ?? []), ...(query.idleNodes ? [] : IDLE.any)] });
    const found = matchElements(state, expressionOf(query.find));
    canvas.setDisplay({ hidden, found, security: query.security, animation: query.animation }, fitFound.current);
    fitFound.current = false;
  }, [state, graph.version, query.find, query.hide, query.idleNodes, query.security, query.animation]);

  // Nodes and edges with a firing alert are marked, and the alerts named above the graph.
  const firing = useFiringAlerts();
  const marks = useMemo(
    () => (state ? alertMarks(firing, state.nodes.values(), state.edges.values()) : null),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [firing, state, graph.version],
  );
  const marked = marks?.matched ?? [];
  useEffect(() => {
    if (marks) canvasRef.current?.markAlerts(marks);
  }, [marks]);

  // A link from a trace names the node to select.
  useEffect(() => {
    if (!state || !query.focus || focused.current === query.focus) return;
    const node = focusedNode(state.nodes.values(), query.focus);
    if (!node) return;
    focused.current = query.focus;
    pick({ kind: 'node', id: node.id });
  }, [state, graph.version, query.focus, pick]);

  const fileBase = `meshview-graph-${query.namespaces.join('_') || 'all'}-${query.graphType}`;
  const warnings = state?.warnings ?? [];
  const warningsKey = warnings.join('\n');

  let overlay: React.ReactNode = null;
  if (listLoaded && !query.namespaces.length && !listUnavailable) {
    overlay = available.length ? (
      <EmptyState testid="graph-empty" title="Select a namespace" text="Choose one or more namespaces in the toolbar to see their service graph." />
    ) : (
      <EmptyState
        testid="graph-empty"
        title="No namespaces yet"
        text="meshview has not seen any traffic yet. Send Envoy access logs or OTLP spans to meshview, and the namespaces they come from show up here."
      />
    );
  } else if (state && state.nodes.size === 0) {
    overlay = (
      <EmptyState
        testid="graph-empty"
        title="No traffic"
        text={`No requests in ${query.namespaces.join(', ') || 'any namespace'} in the last ${formatWindow(query.duration)}. Send traffic through the mesh, pick a longer window or more namespaces.`}
      />
    );
  } else if (!state && !graph.error) {
    overlay = (
      <div className="loading" data-testid="graph-loading">
        Loading the graph…
      </div>
    );
  }

  let panel: React.ReactNode = null;
  if (state) {
    const window = graphWindow(query.queryTime ?? (state.timestamp || Math.floor(Date.now() / 1000)), query.duration);
    // The charts follow the live graph every 30 s.
    const chartsRefresh = Math.floor((state.timestamp || 0) / 30);
    if (shownSelection?.kind === 'node') {
      const node = state.nodes.get(shownSelection.id)!;
      const kind = node.nodeType === 'app' || node.nodeType === 'workload' || node.nodeType === 'service' ? node.nodeType : null;
      const name = kind ? node[kind] : null;
      panel = (
        <NodePanel node={node} state={state} pick={pick}>
          <div className="panel-links">
            <TraceLinks links={nodeTraceLinks(node, window)} testid="node-traces-link" />
            {kind && name && query.node !== `${node.namespace}/${kind}/${name}` ? (
              <button type="button" className="link-button" data-testid="node-graph-link" onClick={() => change({ node: `${node.namespace}/${kind}/${name}` })}>
                Node graph
              </button>
            ) : null}
          </div>
          <SeriesCharts query={seriesQuery({ node }, state.graphType, query.duration, query.queryTime)} tcp={false} refresh={chartsRefresh} />
        </NodePanel>
      );
    } else if (shownSelection?.kind === 'edge') {
      const edge = state.edges.get(shownSelection.id)!;
      panel = (
        <EdgePanel edge={edge} state={state} pick={pick}>
          <div className="panel-links">
            <TraceLinks links={edgeTraceLinks(edge, state.nodes.get(edge.source), state.nodes.get(edge.target), window)} testid="edge-traces-link" />
          </div>
          <SeriesCharts
            query={seriesQuery({ edge, source: state.nodes.get(edge.source), target: state.nodes.get(edge.target) }, state.graphType, query.duration, query.queryTime)}
            tcp={edgeProtocol(edge) === 'tcp'}
            refresh={chartsRefresh}
          />
        </EdgePanel>
      );
    } else {
      panel = <SummaryPanel state={state} namespaces={query.namespaces} pick={pick} />;
    }
  }

  return (
    <section className={`page page-graph${graph.loading ? ' is-loading' : ''}`} data-testid="page-graph">
      <div className="toolbar" data-testid="graph-toolbar">
        <MultiSelect
          label="Namespaces"
          testid="namespace-select"
          options={namespaceOptions}
          selected={query.namespaces}
          placeholder="Select namespaces"
          onChange={(namespaces) => change({ namespaces })}
        />
        <SelectControl label="Graph" testid="graph-type" options={GRAPH_TYPES} value={query.graphType} onChange={(graphType) => change({ graphType })} />
        <SelectControl
          label="Window"
          testid="graph-duration"
          options={DURATIONS.map((d) => ({ value: String(d.seconds), label: d.label }))}
          value={String(query.duration)}
          onChange={(v) => change({ duration: Number(v) })}
        />
        <SelectControl
          label="Edge labels"
          testid="edge-labels"
          options={EDGE_LABEL_MODES}
          value={query.edgeLabels}
          onChange={(v) => change({ edgeLabels: v as GraphQuery['edgeLabels'] })}
        />
        <MultiSelect
          label="Telemetry"
          testid="sources-select"
          options={TELEMETRY_SOURCES.map((s) => ({ value: s.value, label: s.label }))}
          selected={query.sources}
          placeholder="All sources"
          onChange={(sources) => change({ sources: sources.length ? sources : TELEMETRY_SOURCES.map((s) => s.value) })}
        />
        <MultiSelect
          label="Boxes"
          testid="box-by"
          options={BOX_BY.map((b) => ({ value: b.value, label: b.label }))}
          selected={query.boxBy}
          placeholder="No boxes"
          onChange={(boxBy) => change({ boxBy: BOX_BY.map((b) => b.value).filter((b) => boxBy.includes(b)) })}
        />
        <DisplayMenu query={query} change={change} />
        <span className="toolbar-spacer" />
        {query.queryTime === null ? (
          <>
            <SelectControl label="Update" testid="graph-update" options={UPDATE_MODES} value={query.update} onChange={(v) => change({ update: v as UpdateMode })} />
            <button type="button" className="button" data-testid="replay-start" onClick={() => change({ queryTime: Math.floor(Date.now() / 1000) })}>
              Replay
            </button>
          </>
        ) : null}
        <button type="button" className="button" data-testid="graph-refresh" disabled={graph.loading} onClick={() => graph.refresh()}>
          Refresh
        </button>
        <div className="status-group">
          <span className="live-indicator" data-testid="live-indicator" data-state={graph.feed} role="status">
            {query.queryTime !== null ? 'Replay' : graph.feed === 'polling' ? `Every ${feedQuery.update}` : FEED_TEXT[graph.feed]}
          </span>
          <span className="updated muted" data-testid="graph-updated">
            {state?.timestamp ? `Updated ${formatClock(state.timestamp * 1000)}` : ''}
          </span>
        </div>
      </div>
      {query.queryTime !== null ? <ReplayBar query={query} change={change} /> : null}
      <div className="banners">
        {query.node ? (
          <div className="banner banner-info node-graph-banner" data-testid="node-graph-banner">
            <span>
              Node graph of <strong>{nodeGraphOf(query.node)?.name}</strong> ({nodeGraphOf(query.node)?.kind} in {nodeGraphOf(query.node)?.namespace}): its callers and
              callees.
            </span>
            <button type="button" className="link-button" onClick={() => change({ node: '' })}>
              Back to the full graph
            </button>
          </div>
        ) : null}
        {marked.length ? (
          <div className="banner banner-error" role="status" data-testid="graph-alerts">
            <Link to="/alerts">
              {marked.length} firing alert{marked.length > 1 ? 's' : ''}
            </Link>
            : {[...new Set(marked.map((a) => a.rule_name))].join(', ')}
          </div>
        ) : null}
        {graph.error ? (
          <div className="banner banner-error" role="alert" data-testid="graph-error">
            {graph.error}
          </div>
        ) : null}
        {notice ? (
          <div className="banner banner-info" data-testid="graph-notice">
            {notice}
          </div>
        ) : null}
        {warnings.length && warningsKey !== dismissedWarnings ? (
          <div className="banner banner-warning" role="status" data-testid="graph-warnings">
            <ul>
              {warnings.map((w) => (
                <li key={w}>{w}</li>
              ))}
            </ul>
            <button type="button" className="banner-close" aria-label="Dismiss" onClick={() => setDismissedWarnings(warningsKey)}>
              ×
            </button>
          </div>
        ) : null}
        {state && state.nodes.size > 0 && !hasTraffic(state) ? (
          <div className="banner banner-info">No requests in the last {formatWindow(query.duration)}: the nodes shown are idle.</div>
        ) : null}
      </div>
      <div className="graph-layout">
        <div className="graph-stage">
          <div className="graph-canvas" data-testid="graph-canvas">
            <CytoscapeComponent elements={NO_ELEMENTS} stylesheet={BASE_STYLESHEET} style={CANVAS_STYLE} cy={bindCanvas} />
          </div>
          <div className="canvas-tools">
            <ExpressionInput
              label="Find"
              testid="graph-find"
              value={query.find}
              onApply={(find) => {
                fitFound.current = true;
                change({ find });
              }}
            />
            <ExpressionInput label="Hide" testid="graph-hide" value={query.hide} onApply={(hide) => change({ hide })} />
            <button type="button" className="tool-button" title="Fit the graph to the view" onClick={() => canvasRef.current?.fit()}>
              Fit
            </button>
            <button type="button" className="tool-button" title="Lay the graph out again" onClick={() => canvasRef.current?.relayout()}>
              Layout
            </button>
            <button type="button" className="tool-button" data-testid="legend-toggle" onClick={() => setLegendOpen(!legendOpen)}>
              Legend
            </button>
            <div className="dropdown">
              <button type="button" className="tool-button" data-testid="graph-export" aria-haspopup="menu" onClick={() => setExportOpen(!exportOpen)}>
                Export
              </button>
              {exportOpen ? (
                <div className="dropdown-menu menu-right" onClick={() => setExportOpen(false)}>
                  <button type="button" className="dropdown-item" data-testid="export-png" onClick={() => canvasRef.current && downloadBlob(canvasRef.current.png(), `${fileBase}.png`)}>
                    PNG image
                  </button>
                  <button
                    type="button"
                    className="dropdown-item"
                    data-testid="export-svg"
                    onClick={() => canvasRef.current && downloadText(canvasRef.current.svg(), `${fileBase}.svg`, 'image/svg+xml')}
                  >
                    SVG image
                  </button>
                  <button
                    type="button"
                    className="dropdown-item"
                    data-testid="export-json"
                    onClick={() => state && downloadText(JSON.stringify(stateToGraph(state), null, 2), `${fileBase}.json`)}
                  >
                    Graph JSON
                  </button>
                  <a className="dropdown-item" data-testid="export-dot" href={graphApiUrl(query, 'dot')} download={`${fileBase}.dot`}>
                    Graphviz DOT
                  </a>
                </div>
              ) : null}
            </div>
          </div>
          {legendOpen ? (
            <div className="legend-box">
              <Legend />
            </div>
          ) : null}
          {overlay ? <div className="graph-overlay">{overlay}</div> : null}
        </div>
        <aside className="side-panel" data-testid="graph-side-panel" aria-label="Details">
          {panel}
        </aside>
      </div>
    </section>
  );
}
