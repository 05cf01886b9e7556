// The side panel, one kind per selection as Kiali has: the whole graph, a node, an edge.
import type { ReactNode } from 'react';
import { BADGES, badgeIcon, badgesOf } from './model/badges';
import { nodeName, responseTimeMs } from './model/elements';
import { formatBytesRate, formatMs, formatPercent, formatRps, formatWindow, parseRate } from './model/format';
import { edgeErrorPercent, edgeHealth, edgeProtocol, edgeRate, healthColor } from './model/health';
import type { GraphState } from './model/store';
import { edgeRateRows, graphTotals, nodeTraffic, responseRows, unknownReasonRows, type DirectionTraffic } from './model/traffic';
import type { EdgeData, NodeData } from './model/types';
import type { Selection } from './GraphCanvas';

export type Pick = (selection: Selection) => void;

const KIND_LABELS: Record<string, string> = {
  app: 'App',
  workload: 'Workload',
  service: 'Service',
  unknown: 'Unknown source',
  box: 'Group',
  aggregate: 'Aggregate',
};

function HealthPill({ status }: { status: string | undefined }) {
  const s = status || 'NA';
  return (
    <span className={`pill health-${s.toLowerCase()}`} style={{ '--pill': healthColor(s) } as React.CSSProperties}>
      {s === 'NA' ? 'No health data' : s}
    </span>
  );
}

function Dot({ color }: { color: string }) {
  return <span className="dot" style={{ '--dot': color } as React.CSSProperties} />;
}

function Table({ head, rows, testid }: { head: string[]; rows: ReactNode[][]; testid?: string }) {
  return (
    <table className="data-table" data-testid={testid}>
      <thead>
        <tr>
          {head.map((c, i) => (
            <th key={i}>{c}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((r, i) => (
          <tr key={i}>
            {r.map((c, j) => (
              <td key={j}>{c}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function Section({ title, children }: { title: string; children: ReactNode }) {
  return (
    <section className="panel-section">
      <h3>{title}</h3>
      {children}
    </section>
  );
}

function Facts({ entries }: { entries: [string, ReactNode][] }) {
  return (
    <dl className="facts">
      {entries
        .filter(([, v]) => v !== undefined && v !== null && v !== '')
        .map(([k, v]) => [<dt key={`t${k}`}>{k}</dt>, <dd key={`d${k}`}>{v}</dd>])}
    </dl>
  );
}

function rateText(protocol: string, rate: number): string {
  return protocol === 'tcp' ? formatBytesRate(rate) : formatRps(rate);
}

export function displayName(node: NodeData | undefined, graphType: string): string {
  return node ? nodeName(node, graphType) : '?';
}

function NodeLink({ node, graphType, pick }: { node: NodeData | undefined; graphType: string; pick: Pick }) {
  if (!node) return <span>?</span>;
  return (
    <button type="button" className="link-button" onClick={() => pick({ kind: 'node', id: node.id })}>
      {displayName(node, graphType)}
    </button>
  );
}

function edgeTitle(edge: EdgeData, state: GraphState): string {
  return `${displayName(state.nodes.get(edge.source), state.graphType)} → ${displayName(state.nodes.get(edge.target), state.graphType)}`;
}

function TrafficTable({ rows, direction }: { rows: DirectionTraffic[]; direction: string }) {
  if (!rows.length) return <p className="muted">No {direction} traffic</p>;
  return (
    <Table
      head={['Protocol', 'Rate', 'Errors', 'Edges']}
      rows={rows.map((r) => [r.protocol.toUpperCase(), rateText(r.protocol, r.rate), r.protocol === 'tcp' ? '-' : formatPercent(r.errorPercent), String(r.edges)])}
    />
  );
}

/** The whole graph: totals and what needs attention. */
export function SummaryPanel({ state, namespaces, pick }: { state: GraphState; namespaces: string[]; pick: Pick }) {
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
  return (
    <div className="panel-body" data-testid="panel-summary">
      <header className="panel-header">
        <h2>{namespaces.length ? namespaces.join(', ') : 'All namespaces'}</h2>
        <p className="muted">Last {formatWindow(state.duration || 0)}</p>
      </header>
      <Facts
        entries={[
          ['Nodes', `${totals.nodes}${typeCounts ? ` (${typeCounts})` : ''}`],
          ['Edges', String(totals.edges)],
          ['HTTP', totals.httpRate > 0 ? `${formatRps(totals.httpRate)}, ${formatPercent(totals.httpErrorPercent)} errors` : ''],
          ['gRPC', totals.grpcRate > 0 ? formatRps(totals.grpcRate) : ''],
          ['TCP', totals.tcpRate > 0 ? formatBytesRate(totals.tcpRate) : ''],
        ]}
      />
      <Section title="Needs attention">
        {unhealthy.length || unknown.length ? (
          <ul className="attention-list">
            {unknown.map((n) => {
              const total = unknownReasonRows(n).reduce((s, r) => s + r.rate, 0);
              return (
                <li key={n.id}>
                  <Dot color="#6a2e9c" />
                  <button type="button" className="link-button" data-testid="attention-unknown" onClick={() => pick({ kind: 'node', id: n.id })}>
                    Traffic from unknown sources
                  </button>
                  {total ? <span className="muted"> {formatRps(total)}</span> : null}
                </li>
              );
            })}
            {unhealthy.map(({ edge, health, err }) => (
              <li key={edge.id}>
                <Dot color={healthColor(health)} />
                <button type="button" className="link-button" data-testid="attention-edge" onClick={() => pick({ kind: 'edge', id: edge.id })}>
                  {edgeTitle(edge, state)}
                </button>
                <span className="muted"> {formatPercent(err)} errors</span>
              </li>
            ))}
          </ul>
        ) : (
          <p className="muted">All edges are healthy.</p>
        )}
      </Section>
      <p className="muted hint">Click a node or an edge for its details.</p>
    </div>
  );
}

export function NodePanel({ node, state, pick, children }: { node: NodeData; state: GraphState; pick: Pick; children?: ReactNode }) {
  const graphType = state.graphType;
  const traffic = nodeTraffic(node.id, state);
  const badges = badgesOf(node);
  const reasons = unknownReasonRows(node);
  const inEdges = [...state.edges.values()].filter((e) => e.target === node.id);
  const outEdges = [...state.edges.values()].filter((e) => e.source === node.id);
  const gateway = node.isGateway as { ingressInfo?: { hostnames?: string[] }; egressInfo?: { hostnames?: string[] } } | undefined;
  const hostnames = [...(gateway?.ingressInfo?.hostnames ?? []), ...(gateway?.egressInfo?.hostnames ?? [])];
  const edgeList = (edges: EdgeData[], end: 'source' | 'target') =>
    edges.length ? (
      <ul className="edge-list">
        {edges.map((e) => (
          <li key={e.id}>
            <Dot color={healthColor(edgeHealth(e))} />
            <NodeLink node={state.nodes.get(e[end])} graphType={graphType} pick={pick} />
            <button type="button" className="link-button muted" onClick={() => pick({ kind: 'edge', id: e.id })}>
              {rateText(edgeProtocol(e), edgeRate(e))}
            </button>
          </li>
        ))}
      </ul>
    ) : (
      <p className="muted">None</p>
    );

  return (
    <div className="panel-body" data-testid="panel-node">
      <header className="panel-header">
        <p className="eyebrow">{KIND_LABELS[node.nodeType] ?? node.nodeType}</p>
        <h2 data-testid="panel-title">{displayName(node, graphType)}</h2>
        <div className="pill-row">
          <HealthPill status={node.healthStatus} />
          {badges.map((b) => (
            <span className="badge-chip" key={b}>
              <span className="icon" dangerouslySetInnerHTML={{ __html: badgeIcon(b, 14) }} />
              {BADGES[b].label}
            </span>
          ))}
        </div>
      </header>
      {children}
      {node.nodeType === 'unknown' ? (
        <p className="callout">Requests that came from no mesh proxy: neither a sidecar nor the ingress gateway sent them, so their caller is unknown.</p>
      ) : null}
      {reasons.length ? (
        <Section title="Why the source is unknown">
          <Table
            head={['Reason', 'Rate', 'Share']}
            testid="unknown-reasons"
            rows={reasons.map((r) => [
              <span title={r.description}>
                <strong>{r.reason}</strong>
                {r.description ? <div className="muted small">{r.description}</div> : null}
              </span>,
              formatRps(r.rate),
              formatPercent(r.percent),
            ])}
          />
        </Section>
      ) : null}
      {node.nodeType !== 'unknown' ? (
        <Section title="Identity">
          <Facts
            entries={[
              ['Namespace', node.namespace],
              ['App', node.app],
              ['Version', node.version],
              ['Workload', node.workload],
              ['Service', node.service],
              ['Cluster', node.cluster],
              ['Hosts', node.isServiceEntry?.hosts?.join(', ')],
              ['Gateway hosts', hostnames.join(', ')],
              ['Outside the selected namespaces', node.isOutside ? 'yes' : ''],
            ]}
          />
        </Section>
      ) : null}
      <Section title="Inbound traffic">
        <TrafficTable rows={traffic.inbound} direction="inbound" />
      </Section>
      <Section title="Outbound traffic">
        <TrafficTable rows={traffic.outbound} direction="outbound" />
      </Section>
      <Section title={`From (${inEdges.length})`}>{edgeList(inEdges, 'source')}</Section>
      <Section title={`To (${outEdges.length})`}>{edgeList(outEdges, 'target')}</Section>
    </div>
  );
}

export function EdgePanel({ edge, state, pick, children }: { edge: EdgeData; state: GraphState; pick: Pick; children?: ReactNode }) {
  const graphType = state.graphType;
  const protocol = edgeProtocol(edge);
  const rate = edgeRate(edge);
  const health = edgeHealth(edge);
  const responses = responseRows(edge);
  const mtls = edge.isMTLS === undefined || edge.isMTLS === '' ? null : parseRate(edge.isMTLS);
  const telemetry = Array.isArray(edge.telemetry) ? edge.telemetry : [];
  const times = (['avg', 'p50', 'p95', 'p99'] as const).map((q) => [q, responseTimeMs(edge, q)] as const);

  return (
    <div className="panel-body" data-testid="panel-edge">
      <header className="panel-header">
        <p className="eyebrow">{protocol.toUpperCase()} edge</p>
        <h2 className="edge-title" data-testid="panel-title">
          <NodeLink node={state.nodes.get(edge.source)} graphType={graphType} pick={pick} />
          <span className="arrow"> → </span>
          <NodeLink node={state.nodes.get(edge.target)} graphType={graphType} pick={pick} />
        </h2>
        <div className="pill-row">
          <HealthPill status={rate > 0 ? health : 'NA'} />
          <span className="pill">{rateText(protocol, rate)}</span>
        </div>
      </header>
      {children}
      <Section title={protocol === 'tcp' ? 'Traffic' : 'Requests'}>
        <Table
          head={['', 'Rate', 'Share']}
          testid="edge-rates"
          rows={edgeRateRows(edge)
            .filter((r) => r.rate > 0 || r.label === '2xx' || r.label === 'OK')
            .map((r) => [r.label, rateText(protocol, r.rate), formatPercent(r.percent)])}
        />
      </Section>
      {responses.length ? (
        <Section title="Responses">
          <Table
            head={['Code', 'Share', 'Flags', 'Hosts']}
            testid="edge-responses"
            rows={responses.map((r) => [
              <span className={r.code === '-' || Number(r.code) >= 400 ? 'code-error' : ''}>{r.code}</span>,
              formatPercent(r.percent),
              <span>
                {r.flags.map((f) => (
                  <span key={f.flag} className={`flag${f.flag === '-' ? ' flag-none' : ''}`} title={`${f.percent}%`}>
                    {f.flag === '-' ? 'none' : f.flag}
                  </span>
                ))}
              </span>,
              <span className="small">{r.hosts.map((x) => `${x.host} ${formatPercent(x.percent)}`).join(', ')}</span>,
            ])}
          />
        </Section>
      ) : null}
      {times.some(([, ms]) => ms !== null) ? (
        <Section title="Response time">
          <Facts entries={times.map(([q, ms]) => [q === 'avg' ? 'Average' : q, ms === null ? '' : formatMs(ms)])} />
        </Section>
      ) : null}
      <Section title="Security">
        <Facts
          entries={[
            ['mTLS', mtls === null ? 'unknown' : `${formatPercent(mtls)} of requests`],
            ['Source principal', edge.sourcePrincipal],
            ['Destination principal', edge.destPrincipal],
          ]}
        />
      </Section>
      <Section title="Seen by">
        {telemetry.length ? (
          <div className="pill-row" data-testid="edge-telemetry">
            {telemetry.map((t) => (
              <span className="pill pill-outline" key={t}>
                {t}
              </span>
            ))}
          </div>
        ) : (
          <p className="muted">No telemetry sources listed</p>
        )}
        {edge.throughput !== undefined && edge.throughput !== '' ? <Facts entries={[['Throughput', formatBytesRate(parseRate(edge.throughput))]]} /> : null}
      </Section>
    </div>
  );
}
