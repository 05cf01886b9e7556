// The graph page: toolbar, canvas, side panel. Data comes from GET /api/v1/graph and, when live,
// from /ws/graph/ (a snapshot, then deltas applied in place).
import { isAbort } from '../api/http';
import { LiveSocket, type LiveState } from '../api/live';
import { fetchGraph, fetchNamespaces } from '../api/meshview';
import type { PageFactory } from '../shell/page';
import { clear, downloadBlob, downloadText, emptyState, h } from '../ui/dom';
import { multiSelect, selectControl } from '../ui/multiSelect';
import { formatClock } from '../ui/time';
import { GraphCanvas, type Selection } from './canvas';
import { legend } from './legend';
import { EDGE_LABEL_MODES, nodeLabel, type ElementOptions } from './model/elements';
import { formatWindow } from './model/format';
import {
  DURATIONS,
  GRAPH_TYPES,
  TELEMETRY_SOURCES,
  UPDATE_MODES,
  defaultNamespaces,
  graphApiUrl,
  graphQueryToSearch,
  graphSocketPath,
  parseGraphQuery,
  type GraphQuery,
  type UpdateMode,
} from './model/params';
import { applyDelta, diffGraph, isEmptyDelta, stateFromGraph, stateToGraph, type GraphState } from './model/store';
import { hasTraffic } from './model/traffic';
import type { GraphJson, GraphLiveMessage } from './model/types';
import { edgePanel, nodePanel, summaryPanel } from './panels';

const POLL_MS: Partial<Record<UpdateMode, number>> = { '15s': 15_000, '1m': 60_000 };

const LIVE_TEXT: Record<LiveState, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  stopped: 'Paused',
};

export const createGraphPage: PageFactory = (route, ctx) => {
  let query: GraphQuery = parseGraphQuery(route.search);
  let available: string[] = [];
  // Without the namespace list, the graph is asked for every namespace the user may read, and
  // the picker offers the namespaces seen in it.
  let listUnavailable = false;
  let notice = '';
  let state: GraphState | null = null;
  let canvasKey = '';
  let selection: Selection = null;
  let socket: LiveSocket<GraphLiveMessage> | null = null;
  let pollTimer: number | undefined;
  let inflight: AbortController | null = null;
  let errorText = '';
  let dismissedWarnings = '';
  let destroyed = false;

  // Toolbar
  const namespaceSelect = multiSelect({
    label: 'Namespaces',
    testid: 'namespace-select',
    options: [],
    selected: query.namespaces,
    placeholder: 'Select namespaces',
    onChange: (namespaces) => change({ namespaces }),
  });
  const sourcesSelect = multiSelect({
    label: 'Telemetry',
    testid: 'sources-select',
    options: TELEMETRY_SOURCES.map((s) => ({ value: s.value, label: s.label })),
    selected: query.sources,
    placeholder: 'All sources',
    onChange: (sources) => change({ sources: sources.length ? sources : TELEMETRY_SOURCES.map((s) => s.value) }),
  });
  const liveIndicator = h('span', { class: 'live-indicator', 'data-testid': 'live-indicator', 'data-state': 'stopped', role: 'status' });
  const updated = h('span', { class: 'updated muted', 'data-testid': 'graph-updated' });
  const refreshButton = h('button', { type: 'button', class: 'button', 'data-testid': 'graph-refresh', onclick: () => void loadOnce() }, 'Refresh');
  const serviceNodes = h('input', {
    type: 'checkbox',
    checked: query.injectServiceNodes,
    'data-testid': 'service-nodes',
    onchange: (e: Event) => change({ injectServiceNodes: (e.target as HTMLInputElement).checked }),
  });
  const findInput = h('input', { type: 'search', class: 'find-input', placeholder: 'Find a node', 'aria-label': 'Find a node', 'data-testid': 'graph-find' });
  findInput.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') find(findInput.value);
  });

  const toolbar = h(
    'div',
    { class: 'toolbar', 'data-testid': 'graph-toolbar' },
    namespaceSelect.el,
    selectControl('Graph', 'graph-type', GRAPH_TYPES, query.graphType, (v) => change({ graphType: v })),
    selectControl(
      'Window',
      'graph-duration',
      DURATIONS.map((d) => ({ value: String(d.seconds), label: d.label })),
      String(query.duration),
      (v) => change({ duration: Number(v) }),
    ),
    selectControl('Edge labels', 'edge-labels', EDGE_LABEL_MODES, query.edgeLabels, (v) => {
      query = { ...query, edgeLabels: v as GraphQuery['edgeLabels'] };
      ctx.setQuery(graphQueryToSearch(query));
      if (state) canvas().refreshLabels(state, elementOptions());
    }),
    sourcesSelect.el,
    h('label', { class: 'control control-check' }, serviceNodes, h('span', null, 'Service nodes')),
    h('span', { class: 'toolbar-spacer' }),
    selectControl('Update', 'graph-update', UPDATE_MODES, query.update, (v) => change({ update: v as UpdateMode })),
    refreshButton,
    h('div', { class: 'status-group' }, liveIndicator, updated),
  );

  // Stage
  const banners = h('div', { class: 'banners' });
  const canvasEl = h('div', { class: 'graph-canvas', 'data-testid': 'graph-canvas' });
  const overlay = h('div', { class: 'graph-overlay', hidden: true });
  const legendBox = h('div', { class: 'legend-box', hidden: true }, legend());
  const exportMenu = h('div', { class: 'dropdown-menu menu-right', hidden: true });
  const exportButton = h('button', { type: 'button', class: 'tool-button', 'data-testid': 'graph-export', 'aria-haspopup': 'menu' }, 'Export');
  exportButton.addEventListener('click', () => {
    exportMenu.hidden = !exportMenu.hidden;
  });
  const tools = h(
    'div',
    { class: 'canvas-tools' },
    findInput,
    h('button', { type: 'button', class: 'tool-button', title: 'Fit the graph to the view', onclick: () => canvas().fit() }, 'Fit'),
    h('button', { type: 'button', class: 'tool-button', title: 'Lay the graph out again', onclick: () => canvas().relayout() }, 'Layout'),
    h(
      'button',
      {
        type: 'button',
        class: 'tool-button',
        'data-testid': 'legend-toggle',
        onclick: () => {
          legendBox.hidden = !legendBox.hidden;
        },
      },
      'Legend',
    ),
    h('div', { class: 'dropdown' }, exportButton, exportMenu),
  );
  const side = h('aside', { class: 'side-panel', 'data-testid': 'graph-side-panel', 'aria-label': 'Details' });
  const stage = h('div', { class: 'graph-stage' }, canvasEl, tools, legendBox, overlay);
  const el = h(
    'section',
    { class: 'page page-graph', 'data-testid': 'page-graph' },
    toolbar,
    banners,
    h('div', { class: 'graph-layout' }, stage, side),
  );

  // Cytoscape measures its container when it starts: create it once the page is in the document.
  let canvasRef: GraphCanvas | null = null;
  function canvas(): GraphCanvas {
    canvasRef ??= new GraphCanvas(canvasEl, {
      onSelect: (s) => {
        selection = s;
        renderPanel();
      },
    });
    return canvasRef;
  }

  const fileBase = () => `meshview-graph-${query.namespaces.join('_') || 'all'}-${query.graphType}`;
  const renderExportMenu = () => {
    exportMenu.replaceChildren(
      h('button', { type: 'button', class: 'dropdown-item', 'data-testid': 'export-png', onclick: () => { exportMenu.hidden = true; downloadBlob(canvas().png(), `${fileBase()}.png`); } }, 'PNG image'),
      h('button', { type: 'button', class: 'dropdown-item', 'data-testid': 'export-svg', onclick: () => { exportMenu.hidden = true; downloadText(canvas().svg(), `${fileBase()}.svg`, 'image/svg+xml'); } }, 'SVG image'),
      h('button', { type: 'button', class: 'dropdown-item', 'data-testid': 'export-json', onclick: () => { exportMenu.hidden = true; if (state) downloadText(JSON.stringify(stateToGraph(state), null, 2), `${fileBase()}.json`); } }, 'Graph JSON'),
      h('a', { class: 'dropdown-item', 'data-testid': 'export-dot', href: graphApiUrl(query, 'dot'), download: `${fileBase()}.dot`, onclick: () => { exportMenu.hidden = true; } }, 'Graphviz DOT'),
    );
  };
  renderExportMenu();

  function elementOptions(): ElementOptions {
    return { graphType: state?.graphType || query.graphType, edgeLabels: query.edgeLabels };
  }

  function keyOf(q: GraphQuery): string {
    return `${q.namespaces.join(',')}|${q.graphType}|${q.injectServiceNodes}`;
  }

  function change(patch: Partial<GraphQuery>) {
    query = { ...query, ...patch };
    ctx.setQuery(graphQueryToSearch(query));
    renderExportMenu();
    start();
  }

  function setLive(stateName: LiveState | 'polling' | 'manual') {
    liveIndicator.dataset.state = stateName;
    liveIndicator.textContent =
      stateName === 'polling' ? `Every ${query.update}` : stateName === 'manual' ? 'Manual' : LIVE_TEXT[stateName];
  }

  function stopFlow() {
    inflight?.abort();
    inflight = null;
    socket?.stop();
    socket = null;
    window.clearInterval(pollTimer);
    pollTimer = undefined;
  }

  function start() {
    stopFlow();
    errorText = '';
    if (!query.namespaces.length && !listUnavailable) {
      state = null;
      canvasKey = '';
      canvas().cy.elements().remove();
      setLive(query.update === 'live' ? 'stopped' : query.update === 'manual' ? 'manual' : 'polling');
      render();
      return;
    }
    void loadOnce();
    if (query.update === 'live') {
      socket = new LiveSocket<GraphLiveMessage>(graphSocketPath(query), {
        onState: (s) => setLive(s),
        onMessage: (message) => {
          if (message.type === 'graph.snapshot' && message.graph) receiveGraph(message.graph);
          else if (message.type === 'graph.delta') receiveDelta(message);
        },
      });
      socket.start();
    } else if (POLL_MS[query.update]) {
      setLive('polling');
      pollTimer = window.setInterval(() => void loadOnce(), POLL_MS[query.update]);
    } else {
      setLive('manual');
    }
  }

  async function loadOnce() {
    if (!query.namespaces.length && !listUnavailable) return;
    inflight?.abort();
    const controller = new AbortController();
    inflight = controller;
    el.classList.add('is-loading');
    refreshButton.disabled = true;
    try {
      const graph = await fetchGraph(graphApiUrl(query), controller.signal);
      if (controller.signal.aborted || destroyed) return;
      errorText = '';
      receiveGraph(graph);
    } catch (err) {
      if (isAbort(err) || destroyed) return;
      errorText = `The graph could not be loaded: ${(err as Error).message}`;
      render();
    } finally {
      if (inflight === controller) {
        inflight = null;
        el.classList.remove('is-loading');
        refreshButton.disabled = false;
      }
    }
  }

  function receiveGraph(graph: GraphJson) {
    if (listUnavailable) {
      const seen = new Set(query.namespaces);
      for (const { data } of graph.elements?.nodes ?? []) if (data.namespace && data.nodeType !== 'unknown') seen.add(data.namespace);
      if (seen.size !== available.length) {
        available = [...seen].sort();
        namespaceSelect.setOptions(available.map((n) => ({ value: n, label: n })), query.namespaces);
      }
    }
    const key = keyOf(query);
    if (!state || key !== canvasKey || state.graphType !== graph.graphType) {
      state = stateFromGraph(graph);
      canvasKey = key;
      if (selection && !state.nodes.has(selection.id) && !state.edges.has(selection.id)) selection = null;
      canvas().setGraph(state, elementOptions());
      canvas().select(selection);
    } else {
      const delta = diffGraph(state, graph);
      state.duration = graph.duration;
      state.warnings = graph.warnings ?? [];
      const applied = applyDelta(state, delta);
      if (!isEmptyDelta(applied)) canvas().applyDelta(applied, state, elementOptions());
    }
    render();
  }

  function receiveDelta(message: GraphLiveMessage & { type: 'graph.delta' }) {
    if (!state) return;
    const applied = applyDelta(state, message);
    if (isEmptyDelta(applied)) {
      renderUpdated();
      return;
    }
    const wasEmpty = canvas().cy.nodes().length === 0;
    canvas().applyDelta(applied, state, elementOptions());
    if (wasEmpty) canvas().relayout();
    render();
  }

  function find(text: string) {
    if (!state || !text.trim()) return;
    const q = text.trim().toLowerCase();
    for (const node of state.nodes.values()) {
      if (nodeLabel(node, state.graphType).toLowerCase().includes(q) || node.id.toLowerCase() === q) {
        selection = { kind: 'node', id: node.id };
        canvas().select(selection, true);
        findInput.classList.remove('no-match');
        renderPanel();
        return;
      }
    }
    findInput.classList.add('no-match');
  }

  function pick(s: Selection) {
    selection = s;
    canvas().select(s, true);
    renderPanel();
  }

  function renderUpdated() {
    updated.textContent = state?.timestamp ? `Updated ${formatClock(state.timestamp * 1000)}` : '';
  }

  function renderBanners() {
    clear(banners);
    if (errorText) banners.appendChild(h('div', { class: 'banner banner-error', role: 'alert', 'data-testid': 'graph-error' }, errorText));
    if (notice) banners.appendChild(h('div', { class: 'banner banner-info', 'data-testid': 'graph-notice' }, notice));
    const warnings = state?.warnings ?? [];
    const key = warnings.join('\n');
    if (warnings.length && key !== dismissedWarnings) {
      banners.appendChild(
        h(
          'div',
          { class: 'banner banner-warning', role: 'status', 'data-testid': 'graph-warnings' },
          h('ul', null, ...warnings.map((w) => h('li', null, w))),
          h('button', { type: 'button', class: 'banner-close', 'aria-label': 'Dismiss', onclick: () => { dismissedWarnings = key; renderBanners(); } }, '×'),
        ),
      );
    }
    if (state && state.nodes.size && !hasTraffic(state)) {
      banners.appendChild(h('div', { class: 'banner banner-info' }, `No requests in the last ${formatWindow(query.duration)}: the nodes shown are idle.`));
    }
  }

  function renderOverlay() {
    clear(overlay);
    let content: HTMLElement | null = null;
    if (!query.namespaces.length && !listUnavailable) {
      content = available.length
        ? emptyState('graph-empty', 'Select a namespace', 'Choose one or more namespaces in the toolbar to see their service graph.')
        : emptyState('graph-empty', 'No namespaces yet', 'meshview has not seen any traffic yet. Send Envoy access logs or OTLP spans to meshview, and the namespaces they come from show up here.');
    } else if (state && state.nodes.size === 0) {
      content = emptyState(
        'graph-empty',
        'No traffic',
        `No requests in ${query.namespaces.join(', ') || 'any namespace'} in the last ${formatWindow(query.duration)}. Send traffic through the mesh, pick a longer window or more namespaces.`,
      );
    } else if (!state && !errorText) {
      content = h('div', { class: 'loading', 'data-testid': 'graph-loading' }, 'Loading the graph…');
    }
    overlay.hidden = !content;
    if (content) overlay.appendChild(content);
  }

  function renderPanel() {
    const scroll = side.scrollTop;
    clear(side);
    if (!state) return;
    if (selection?.kind === 'node' && state.nodes.has(selection.id)) {
      side.appendChild(nodePanel(state.nodes.get(selection.id)!, state, pick));
    } else if (selection?.kind === 'edge' && state.edges.has(selection.id)) {
      side.appendChild(edgePanel(state.edges.get(selection.id)!, state, pick));
    } else {
      selection = null;
      side.appendChild(summaryPanel(state, query.namespaces, pick));
    }
    side.scrollTop = scroll;
  }

  function render() {
    renderBanners();
    renderOverlay();
    renderPanel();
    renderUpdated();
  }

  // First load: the namespace list decides the default selection.
  const namespacesRequest = new AbortController();
  render();
  void (async () => {
    try {
      available = await fetchNamespaces(namespacesRequest.signal);
    } catch (err) {
      if (isAbort(err)) return;
      listUnavailable = true;
      notice = `The namespace list could not be loaded (${(err as Error).message}): the graph shows every namespace you may read.`;
    }
    if (destroyed) return;
    const known = new Set([...available, ...query.namespaces]);
    if (!query.namespaces.length && available.length) {
      query = { ...query, namespaces: defaultNamespaces(available) };
      ctx.setQuery(graphQueryToSearch(query));
      renderExportMenu();
    }
    namespaceSelect.setOptions(
      [...known].sort().map((n) => ({ value: n, label: n })),
      query.namespaces,
    );
    start();
  })();

  return {
    el,
    title: 'Graph',
    update(next) {
      if (next.name !== 'graph') return false;
      // The nav link carries no query: stay on the graph as it is.
      if (!next.search) {
        ctx.setQuery(graphQueryToSearch(query));
        return true;
      }
      return graphQueryToSearch(parseGraphQuery(next.search)) === graphQueryToSearch(query);
    },
    destroy() {
      destroyed = true;
      namespacesRequest.abort();
      stopFlow();
      canvasRef?.destroy();
    },
  };
};
