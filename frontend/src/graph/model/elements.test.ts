import { describe, expect, it } from 'vitest';
import bookinfo from '../__fixtures__/bookinfo-graph.json';
import { badgesOf } from './badges';
import { edgeLabel, edgeWidth, graphElements, nodeKind, nodeLabel, toElements } from './elements';
import type { EdgeData, GraphJson, NodeData } from './types';

const graph = bookinfo as unknown as GraphJson;
const node = (id: string) => graph.elements.nodes.find((n) => n.data.id === id)!.data;
const edge = (id: string) => graph.elements.edges.find((e) => e.data.id === id)!.data;

describe('Kiali graph JSON to cytoscape elements', () => {
  it('makes one element per node and edge, with shapes and labels', () => {
    const elements = graphElements(graph, { graphType: 'versionedApp', edgeLabels: 'rate' });
    expect(elements.filter((e) => e.group === 'nodes')).toHaveLength(14);
    expect(elements.filter((e) => e.group === 'edges')).toHaveLength(14);
    const unknown = elements.find((e) => e.data.id === 'unknown')!;
    expect(unknown.data).toMatchObject({ label: 'unknown', kind: 'unknown', isRoot: true });
    const reviewsV2 = elements.find((e) => e.data.id === 'app/reviews-v2')!;
    expect(reviewsV2.data).toMatchObject({ label: 'reviews\nv2', kind: 'app', borderColor: '#c9190b' });
  });

  it('labels nodes by graph type and marks outside namespaces', () => {
    expect(nodeLabel(node('app/reviews-v2'), 'app')).toBe('reviews');
    expect(nodeLabel(node('svc/ratings'), 'versionedApp')).toBe('ratings');
    expect(nodeLabel(node('istio-system/istio-ingressgateway'), 'versionedApp')).toBe('istio-ingressgateway\nlatest\n(istio-system)');
    expect(nodeKind(node('svc/ratings'))).toBe('service');
    expect(nodeKind({ id: 'x', nodeType: 'service', namespace: 'n', isServiceEntry: { hosts: ['api.example.com'] } })).toBe('serviceEntry');
  });

  it('labels the 503 UO edge by rate, share and quantile', () => {
    const failing = edge('e9');
    expect(edgeLabel(failing, 'rate')).toBe('3.01rps\n15% err');
    expect(edgeLabel(failing, 'percent')).toBe('100%');
    expect(edgeLabel(failing, 'p50')).toBe('2ms');
    expect(edgeLabel(failing, 'p99')).toBe('12ms');
    expect(edgeLabel(failing, 'none')).toBe('');
    expect(edgeLabel(edge('e12'), 'rate')).toBe('1.52kB/s');
    // The canary split: reviews' service sends 50/30/20 to v1/v2/v3.
    expect(['e6', 'e7', 'e8'].map((id) => edgeLabel(edge(id), 'percent'))).toEqual(['50%', '30%', '20%']);
  });

  it('falls back to Kiali responseTime for p95 and widens busy edges', () => {
    const plain: EdgeData = { id: 'x', source: 'a', target: 'b', traffic: { protocol: 'http', rates: { http: '1.00' } }, responseTime: '250' };
    expect(edgeLabel(plain, 'p95')).toBe('250ms');
    expect(edgeLabel(plain, 'p99')).toBe('');
    // The API sends the quantiles as strings.
    const strings: EdgeData = { ...plain, responseTimes: { avg: '9.83', p50: '8.45', p95: '23.47', p99: '33.86' } };
    expect(['p50', 'p95', 'p99'].map((q) => edgeLabel(strings, q as 'p50'))).toEqual(['8.4ms', '23ms', '34ms']);
    const idle: EdgeData = { id: 'y', source: 'a', target: 'b', traffic: { protocol: 'http', rates: { http: '0' } } };
    expect(edgeWidth(idle)).toBe(1);
    expect(edgeWidth(edge('e9'))).toBeLessThan(edgeWidth(edge('e0')));
    expect(edgeWidth({ ...plain, traffic: { protocol: 'http', rates: { http: '1000000' } } })).toBe(5);
  });

  it('gives badges to roots, gateways, circuit breakers and virtual services', () => {
    expect(badgesOf(node('istio-system/istio-ingressgateway'))).toEqual(['root', 'gateway']);
    expect(badgesOf(node('unknown'))).toEqual(['root']);
    expect(badgesOf(node('svc/reviews'))).toEqual(['virtualService']);
    expect(badgesOf(node('app/ratings-v1'))).toEqual([]);
    const elements = graphElements(graph, { graphType: 'versionedApp', edgeLabels: 'rate' });
    const gateway = elements.find((e) => e.data.id === 'istio-system/istio-ingressgateway')!.data as Record<string, unknown>;
    expect(String(gateway.badges)).toMatch(/^data:image\/svg\+xml;utf8,/);
    expect(gateway.badgeWidth).toBe(26);
  });

  it('drops dangling parents and edges', () => {
    const nodes: NodeData[] = [{ id: 'a', nodeType: 'workload', namespace: 'n', workload: 'a', parent: 'box-missing' }];
    const edges: EdgeData[] = [{ id: 'e', source: 'a', target: 'gone' }];
    const out = toElements(nodes, edges, { graphType: 'workload', edgeLabels: 'rate' });
    expect(out).toHaveLength(1);
    expect(out[0].data.parent).toBeUndefined();
  });
});
