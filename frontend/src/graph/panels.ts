// The side panel, one kind per selection: the whole graph, a node, an edge.
import { h, type Child } from '../ui/dom';
import { BADGES, badgeIcon, badgesOf } from './model/badges';
import { nodeName } from './model/elements';
import { formatBytesRate, formatMs, formatPercent, formatRps, formatWindow, parseRate } from './model/format';
import { edgeErrorPercent, edgeHealth, edgeProtocol, edgeRate, healthColor } from './model/health';
import type { GraphState } from './model/store';
import { edgeRateRows, graphTotals, nodeTraffic, responseRows, unknownReasonRows, type DirectionTraffic } from './model/traffic';
import type { EdgeData, NodeData } from './model/types';
import type { Selection } from './canvas';

export type Pick = (selection: Selection) => void;

const KIND_LABELS: Record<string, string> = {
  app: 'App',
  workload: 'Workload',
  service: 'Service',
  unknown: 'Unknown source',
  box: 'Group',
  aggregate: 'Aggregate',
};

function rawHtml(markup: string): HTMLElement {
  const span = h('span', { class: 'icon' });
  span.innerHTML = markup;
  return span;
}

function healthPill(status: string | undefined): HTMLElement {
  const s = status || 'NA';
  return h('span', { class: `pill health-${s.toLowerCase()}`, style: `--pill: ${healthColor(s)}` }, s === 'NA' ? 'No health data' : s);
}

function table(head: string[], rows: Child[][], testid?: string): HTMLElement {
  return h(
    'table',
    { class: 'data-table', 'data-testid': testid },
    h('thead', null, h('tr', null, ...head.map((c) => h('th', null, c)))),
    h('tbody', null, ...rows.map((r) => h('tr', null, ...r.map((c) => h('td', null, c))))),
  );
}

function section(title: string, ...children: Child[]): HTMLElement {
  return h('section', { class: 'panel-section' }, h('h3', null, title), ...children);
}

function definitionList(entries: [string, Child][]): HTMLElement {
  return h('dl', { class: 'facts' }, ...entries.filter(([, v]) => v !== undefined && v !== null && v !== '').flatMap(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
}

function rateText(protocol: string, rate: number): string {
  return protocol === 'tcp' ? formatBytesRate(rate) : formatRps(rate);
}

export function displayName(node: NodeData | undefined, graphType: string): string {
  return node ? nodeName(node, graphType) : '?';
}

function nodeLink(node: NodeData | undefined, graphType: string, pick: Pick): HTMLElement {
  if (!node) return h('span', null, '?');
  return h(
    'button',
    { type: 'button', class: 'link-button', onclick: () => pick({ kind: 'node', id: node.id }) },
    displayName(node, graphType),
  );
}

function edgeTitle(edge: EdgeData, state: GraphState): string {
  return `${displayName(state.nodes.get(edge.source), state.graphType)} → ${displayName(state.nodes.get(edge.target), state.graphType)}`;
}

function trafficTable(rows: DirectionTraffic[], direction: string): Child {
  if (!rows.length) return h('p', { class: 'muted' }, `No ${direction} traffic`);
  return table(
    ['Protocol', 'Rate', 'Errors', 'Edges'],
    rows.map((r) => [r.protocol.toUpperCase(), rateText(r.protocol, r.rate), r.protocol === 'tcp' ? '-' : formatPercent(r.errorPercent), String(r.edges)]),
  );
}

/** The whole graph: totals and what needs attention. */
export function summaryPanel(state: GraphState, namespaces: string[], pick: Pick): HTMLElement {
  const totals = graphTotals(state);
  const unhealthy = [...state.edges.values()]
    .map((edge) => ({ edge, health: edgeHealth(edge), err: edgeErrorPercent(edge) }))
    .filter((e) => e.health === 'Failure' || e.health === 'Degraded')
    .sort((a, b) => Number(b.health === 'Failure') - Number(a.health === 'Failure') || b.err - a.err)
    .slice(0, 12);
  const unknown = [...state.nodes.values()].filter((n) => n.nodeType === 'unknown');
  const typeCounts = Object.entries(totals.nodesByType)
    .sort((a, b) => b[1] - a[1])
    .map(([type, count]) => `${count} ${(KIND_LABELS[type] ?? type).toLowerCase()}`)
    .join(', ');
  return h(
    'div',
    { class: 'panel-body', 'data-testid': 'panel-summary' },
    h('header', { class: 'panel-header' }, h('h2', null, namespaces.length ? namespaces.join(', ') : 'All namespaces'), h('p', { class: 'muted' }, `Last ${formatWindow(state.duration || 0)}`)),
    definitionList([
      ['Nodes', `${totals.nodes}${typeCounts ? ` (${typeCounts})` : ''}`],
      ['Edges', String(totals.edges)],
      ['HTTP', totals.httpRate > 0 ? `${formatRps(totals.httpRate)}, ${formatPercent(totals.httpErrorPercent)} errors` : ''],
      ['gRPC', totals.grpcRate > 0 ? formatRps(totals.grpcRate) : ''],
      ['TCP', totals.tcpRate > 0 ? formatBytesRate(totals.tcpRate) : ''],
    ]),
    section(
      'Needs attention',
      unhealthy.length || unknown.length
        ? h(
            'ul',
            { class: 'attention-list' },
            ...unknown.map((n) => {
              const total = unknownReasonRows(n).reduce((s, r) => s + r.requests, 0);
              return h(
                'li',
                null,
                h('span', { class: 'dot', style: '--dot: #6a2e9c' }),
                h('button', { type: 'button', class: 'link-button', 'data-testid': 'attention-unknown', onclick: () => pick({ kind: 'node', id: n.id }) }, 'Traffic from unknown sources'),
                total ? h('span', { class: 'muted' }, ` ${total} requests`) : null,
              );
            }),
            ...unhealthy.map(({ edge, health, err }) =>
              h(
                'li',
                null,
                h('span', { class: 'dot', style: `--dot: ${healthColor(health)}` }),
                h('button', { type: 'button', class: 'link-button', 'data-testid': 'attention-edge', onclick: () => pick({ kind: 'edge', id: edge.id }) }, edgeTitle(edge, state)),
                h('span', { class: 'muted' }, ` ${formatPercent(err)} errors`),
              ),
            ),
          )
        : h('p', { class: 'muted' }, 'All edges are healthy.'),
    ),
    h('p', { class: 'muted hint' }, 'Click a node or an edge for its details.'),
  );
}

export function nodePanel(node: NodeData, state: GraphState, pick: Pick): HTMLElement {
  const graphType = state.graphType;
  const traffic = nodeTraffic(node.id, state);
  const badges = badgesOf(node);
  const reasons = unknownReasonRows(node);
  const inEdges = [...state.edges.values()].filter((e) => e.target === node.id);
  const outEdges = [...state.edges.values()].filter((e) => e.source === node.id);
  const gateway = node.isGateway as { ingressInfo?: { hostnames?: string[] }; egressInfo?: { hostnames?: string[] } } | undefined;
  const hostnames = [...(gateway?.ingressInfo?.hostnames ?? []), ...(gateway?.egressInfo?.hostnames ?? [])];
  const edgeList = (edges: EdgeData[], end: 'source' | 'target') =>
    edges.length
      ? h(
          'ul',
          { class: 'edge-list' },
          ...edges.map((e) =>
            h(
              'li',
              null,
              h('span', { class: 'dot', style: `--dot: ${healthColor(edgeHealth(e))}` }),
              nodeLink(state.nodes.get(e[end]), graphType, pick),
              h('button', { type: 'button', class: 'link-button muted', onclick: () => pick({ kind: 'edge', id: e.id }) }, rateText(edgeProtocol(e), edgeRate(e))),
            ),
          ),
        )
      : h('p', { class: 'muted' }, 'None');

  return h(
    'div',
    { class: 'panel-body', 'data-testid': 'panel-node' },
    h(
      'header',
      { class: 'panel-header' },
      h('p', { class: 'eyebrow' }, KIND_LABELS[node.nodeType] ?? node.nodeType),
      h('h2', { 'data-testid': 'panel-title' }, displayName(node, graphType)),
      h('div', { class: 'pill-row' }, healthPill(node.healthStatus), ...badges.map((b) => h('span', { class: 'badge-chip' }, rawHtml(badgeIcon(b, 14)), BADGES[b].label))),
    ),
    node.nodeType === 'unknown'
      ? h(
          'p',
          { class: 'callout' },
          'Requests that came from no mesh proxy: neither a sidecar nor the ingress gateway sent them, so their caller is unknown.',
        )
      : null,
    reasons.length
      ? section(
          'Why the source is unknown',
          table(
            ['Reason', 'Requests', 'Share'],
            reasons.map((r) => [h('span', { title: r.description }, h('strong', null, r.reason), r.description ? h('div', { class: 'muted small' }, r.description) : null), String(r.requests), formatPercent(r.percent)]),
            'unknown-reasons',
          ),
        )
      : null,
    node.nodeType !== 'unknown'
      ? section(
          'Identity',
          definitionList([
            ['Namespace', node.namespace],
            ['App', node.app],
            ['Version', node.version],
            ['Workload', node.workload],
            ['Service', node.service],
            ['Cluster', node.cluster],
            ['Hosts', node.isServiceEntry?.hosts?.join(', ')],
            ['Gateway hosts', hostnames.join(', ')],
            ['Outside the selected namespaces', node.isOutside ? 'yes' : ''],
          ]),
        )
      : null,
    section('Inbound traffic', trafficTable(traffic.inbound, 'inbound')),
    section('Outbound traffic', trafficTable(traffic.outbound, 'outbound')),
    section(`From (${inEdges.length})`, edgeList(inEdges, 'source')),
    section(`To (${outEdges.length})`, edgeList(outEdges, 'target')),
  );
}

export function edgePanel(edge: EdgeData, state: GraphState, pick: Pick): HTMLElement {
  const graphType = state.graphType;
  const protocol = edgeProtocol(edge);
  const rate = edgeRate(edge);
  const health = edgeHealth(edge);
  const responses = responseRows(edge);
  const times = edge.responseTimes ?? {};
  const mtls = edge.isMTLS === undefined || edge.isMTLS === '' ? null : parseRate(edge.isMTLS);
  const telemetry = Array.isArray(edge.telemetry) ? edge.telemetry : [];
  const hasTimes = ['avg', 'p50', 'p95', 'p99'].some((k) => typeof (times as Record<string, unknown>)[k] === 'number') || edge.responseTime !== undefined;

  return h(
    'div',
    { class: 'panel-body', 'data-testid': 'panel-edge' },
    h(
      'header',
      { class: 'panel-header' },
      h('p', { class: 'eyebrow' }, `${protocol.toUpperCase()} edge`),
      h(
        'h2',
        { class: 'edge-title', 'data-testid': 'panel-title' },
        nodeLink(state.nodes.get(edge.source), graphType, pick),
        h('span', { class: 'arrow' }, ' → '),
        nodeLink(state.nodes.get(edge.target), graphType, pick),
      ),
      h('div', { class: 'pill-row' }, healthPill(rate > 0 ? health : 'NA'), h('span', { class: 'pill' }, rateText(protocol, rate))),
    ),
    section(
      protocol === 'tcp' ? 'Traffic' : 'Requests',
      table(
        ['', 'Rate', 'Share'],
        edgeRateRows(edge)
          .filter((r) => r.rate > 0 || r.label === '2xx' || r.label === 'OK')
          .map((r) => [r.label, rateText(protocol, r.rate), formatPercent(r.percent)]),
        'edge-rates',
      ),
    ),
    responses.length
      ? section(
          'Responses',
          table(
            ['Code', 'Share', 'Flags', 'Hosts'],
            responses.map((r) => [
              h('span', { class: r.code === '-' || Number(r.code) >= 400 ? 'code-error' : '' }, r.code),
              formatPercent(r.percent),
              h('span', null, ...r.flags.map((f) => h('span', { class: `flag${f.flag === '-' ? ' flag-none' : ''}`, title: `${f.percent}%` }, f.flag === '-' ? 'none' : f.flag))),
              h('span', { class: 'small' }, r.hosts.map((x) => `${x.host} ${formatPercent(x.percent)}`).join(', ')),
            ]),
            'edge-responses',
          ),
        )
      : null,
    hasTimes
      ? section(
          'Response time',
          definitionList([
            ['Average', typeof times.avg === 'number' ? formatMs(times.avg) : ''],
            ['p50', typeof times.p50 === 'number' ? formatMs(times.p50) : ''],
            ['p95', typeof times.p95 === 'number' ? formatMs(times.p95) : edge.responseTime !== undefined ? formatMs(parseRate(edge.responseTime)) : ''],
            ['p99', typeof times.p99 === 'number' ? formatMs(times.p99) : ''],
          ]),
        )
      : null,
    section(
      'Security',
      definitionList([
        ['mTLS', mtls === null ? 'unknown' : `${formatPercent(mtls)} of requests`],
        ['Source principal', edge.sourcePrincipal],
        ['Destination principal', edge.destPrincipal],
      ]),
    ),
    section(
      'Seen by',
      telemetry.length ? h('div', { class: 'pill-row', 'data-testid': 'edge-telemetry' }, ...telemetry.map((t) => h('span', { class: 'pill pill-outline' }, t))) : h('p', { class: 'muted' }, 'No telemetry sources listed'),
      edge.throughput !== undefined && edge.throughput !== '' ? definitionList([['Throughput', formatBytesRate(parseRate(edge.throughput))]]) : null,
    ),
  );
}
