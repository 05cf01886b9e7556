import { describe, expect, it } from 'vitest';
import bookinfo from '../__fixtures__/bookinfo-graph.json';
import { stateFromGraph } from './store';
import { edgeRateRows, graphTotals, hasTraffic, nodeTraffic, responseRows, unknownReasonRows } from './traffic';
import type { GraphJson } from './types';

const state = stateFromGraph(structuredClone(bookinfo) as unknown as GraphJson);

describe('side panel figures', () => {
  it('explains the unknown node by reason, most requests first', () => {
    const rows = unknownReasonRows(state.nodes.get('unknown')!);
    expect(rows.map((r) => [r.reason, r.rate, r.percent])).toEqual([
      ['nodeport', 12, 80],
      ['probe', 3, 20],
    ]);
    expect(rows[0].description).toMatch(/NodePort/);
    expect(unknownReasonRows(state.nodes.get('svc/ratings')!)).toEqual([]);
  });

  it('lists the 503 UO responses before the 200s', () => {
    const rows = responseRows(state.edges.get('e9')!);
    expect(rows.map((r) => r.code)).toEqual(['503', '200']);
    expect(rows[0]).toMatchObject({ percent: 15, flags: [{ flag: 'UO', percent: 15 }], hosts: [{ host: 'ratings.bookinfo.svc.cluster.local', percent: 15 }] });
  });

  it('splits an edge rate by class', () => {
    const rows = edgeRateRows(state.edges.get('e9')!);
    const byLabel = Object.fromEntries(rows.map((r) => [r.label, r]));
    expect(byLabel['2xx'].rate).toBeCloseTo(2.56);
    expect(byLabel['5xx'].rate).toBeCloseTo(0.45);
    expect(byLabel['5xx'].percent).toBeCloseTo(14.95, 1);
  });

  it('sums node traffic in and out per protocol', () => {
    const ratings = nodeTraffic('app/ratings-v1', state);
    expect(ratings.inbound).toHaveLength(1);
    expect(ratings.inbound[0]).toMatchObject({ protocol: 'http', edges: 1 });
    expect(ratings.inbound[0].rate).toBeCloseTo(4.57);
    expect(ratings.outbound[0]).toMatchObject({ protocol: 'tcp', rate: 1520.5 });
    const service = nodeTraffic('svc/ratings', state);
    expect(service.inbound[0].rate).toBeCloseTo(5.02);
    expect(service.inbound[0].errorRate).toBeCloseTo(0.45);
  });

  it('totals the graph', () => {
    const totals = graphTotals(state);
    expect(totals).toMatchObject({ nodes: 14, edges: 14, unhealthyEdges: 3, namespaces: ['bookinfo', 'istio-system'] });
    expect(totals.nodesByType).toEqual({ unknown: 1, app: 8, service: 5 });
    expect(totals.tcpRate).toBeCloseTo(3041);
    expect(hasTraffic(state)).toBe(true);
  });
});
