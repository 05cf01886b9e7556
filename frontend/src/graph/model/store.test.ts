import { describe, expect, it } from 'vitest';
import { largeGraph } from '../../../tests/fixtures/synthetic.mjs';
import bookinfo from '../__fixtures__/bookinfo-graph.json';
import { applyDelta, diffGraph, isEmptyDelta, stateFromGraph, stateToGraph } from './store';
import type { GraphDeltaMessage, GraphJson } from './types';

const graph = () => structuredClone(bookinfo) as unknown as GraphJson;

describe('graph deltas', () => {
  it('adds, changes and removes elements in place', () => {
    const state = stateFromGraph(graph());
    const delta: GraphDeltaMessage = {
      type: 'graph.delta',
      timestamp: 1764120010,
      nodes: {
        added: [{ data: { id: 'app/reviews-v4', nodeType: 'app', namespace: 'bookinfo', app: 'reviews', version: 'v4' } }],
        changed: [{ data: { id: 'app/reviews-v2', nodeType: 'app', namespace: 'bookinfo', app: 'reviews', version: 'v2', healthStatus: 'Healthy' } }],
      },
      edges: {
        added: [{ data: { id: 'e-v4', source: 'svc/reviews', target: 'app/reviews-v4', traffic: { protocol: 'http', rates: { http: '1.20' } } } }],
        changed: [{ data: { id: 'e9', source: 'app/reviews-v2', target: 'svc/ratings', traffic: { protocol: 'http', rates: { http: '3.00' } } } }],
        removed: ['e1'],
      },
    };
    const applied = applyDelta(state, delta);
    expect(state.timestamp).toBe(1764120010);
    expect(state.nodes.size).toBe(15);
    expect(state.edges.size).toBe(14);
    expect(applied.addedNodes.map((n) => n.id)).toEqual(['app/reviews-v4']);
    expect(applied.changedNodes.map((n) => n.id)).toEqual(['app/reviews-v2']);
    expect(applied.addedEdges.map((e) => e.id)).toEqual(['e-v4']);
    expect(applied.changedEdges.map((e) => e.id)).toEqual(['e9']);
    expect(applied.removedEdges).toEqual(['e1']);
    // `changed` replaces: the old responses are gone, the new rate is there.
    expect(state.edges.get('e9')!.traffic).toEqual({ protocol: 'http', rates: { http: '3.00' } });
    expect(state.nodes.get('app/reviews-v2')!.healthStatus).toBe('Healthy');
    expect(state.nodes.get('app/reviews-v2')!.isInjected).toBeUndefined();
  });

  it('removing a node removes its edges', () => {
    const state = stateFromGraph(graph());
    const applied = applyDelta(state, { type: 'graph.delta', timestamp: 1, nodes: { removed: ['svc/ratings'] } });
    expect(applied.removedNodes).toEqual(['svc/ratings']);
    expect(applied.removedEdges.sort()).toEqual(['e10', 'e11', 'e9']);
    expect([...state.edges.values()].some((e) => e.source === 'svc/ratings' || e.target === 'svc/ratings')).toBe(false);
  });

  it('drops edges whose ends are unknown and keeps the ends of a partial change', () => {
    const state = stateFromGraph(graph());
    const applied = applyDelta(state, {
      type: 'graph.delta',
      timestamp: 2,
      edges: {
        added: [{ data: { id: 'orphan', source: 'nowhere', target: 'svc/ratings' } }],
        changed: [{ data: { id: 'e0', traffic: { protocol: 'http', rates: { http: '20.00' } } } as never }],
      },
    });
    expect(applied.droppedEdges).toEqual(['orphan']);
    expect(state.edges.has('orphan')).toBe(false);
    expect(state.edges.get('e0')).toMatchObject({ source: 'istio-system/istio-ingressgateway', target: 'svc/productpage' });
  });

  it('treats a known id in added as a change and an edge that moved as remove plus add', () => {
    const state = stateFromGraph(graph());
    const e0 = state.edges.get('e0')!;
    const applied = applyDelta(state, {
      type: 'graph.delta',
      timestamp: 3,
      edges: { added: [{ data: { ...e0 } }], changed: [{ data: { ...state.edges.get('e1')!, source: 'app/productpage-v1' } }] },
    });
    expect(applied.changedEdges.map((e) => e.id)).toEqual(['e0']);
    expect(applied.removedEdges).toEqual(['e1']);
    expect(applied.addedEdges.map((e) => e.id)).toEqual(['e1']);
  });

  it('diffs a refreshed graph into a delta that reproduces it', () => {
    const before = stateFromGraph(graph());
    const next = graph();
    next.elements.nodes = next.elements.nodes.filter((n) => n.data.id !== 'unknown');
    next.elements.edges = next.elements.edges.filter((e) => e.data.source !== 'unknown');
    next.elements.edges[0].data.traffic!.rates!.http = '12.00';
    next.timestamp += 15;
    const delta = diffGraph(before, next);
    expect(delta.nodes!.removed).toEqual(['unknown']);
    expect(delta.edges!.removed).toEqual(['e1']);
    expect(delta.edges!.changed!.map((e) => e.data.id)).toEqual(['e0']);
    expect(delta.nodes!.added).toEqual([]);
    applyDelta(before, delta);
    const round = stateToGraph(before);
    expect(round.elements.nodes.map((n) => n.data.id).sort()).toEqual(next.elements.nodes.map((n) => n.data.id).sort());
    expect(round.elements.edges.find((e) => e.data.id === 'e0')!.data.traffic!.rates!.http).toBe('12.00');
    expect(isEmptyDelta(applyDelta(before, diffGraph(before, next)))).toBe(true);
  });

  it('applies a delta to a 1,000-node graph quickly', () => {
    const big = largeGraph(1000);
    const state = stateFromGraph(big);
    expect(state.nodes.size).toBe(1000);
    const changed = big.elements.edges.slice(0, 300).map((e) => ({ data: { ...e.data, traffic: { protocol: 'http', rates: { http: '1.00' } } } }));
    const started = performance.now();
    const applied = applyDelta(state, { type: 'graph.delta', timestamp: 9, nodes: { removed: ['wl-10', 'wl-20'] }, edges: { changed } });
    const elapsed = performance.now() - started;
    expect(applied.removedNodes).toEqual(['wl-10', 'wl-20']);
    expect(applied.changedEdges.length + applied.droppedEdges.length).toBe(300);
    expect(elapsed).toBeLessThan(100);
  });
});
