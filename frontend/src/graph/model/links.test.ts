import { describe, expect, it } from 'vitest';
import bookinfo from '../__fixtures__/bookinfo-graph.json';
import { edgeTraceLinks, focusedNode, graphLinkForService, graphWindow, nodeTraceLinks } from './links';
import { parseGraphQuery } from './params';
import { stateFromGraph } from './store';
import type { GraphJson } from './types';

const state = stateFromGraph(structuredClone(bookinfo) as unknown as GraphJson);
const window = graphWindow(1_764_120_000, 300);

describe('links between the graph and the traces', () => {
  it('searches a node and an edge over the graph window', () => {
    expect(window).toEqual({ start: 1_764_119_700_000_000, end: 1_764_120_000_000_000 });
    const links = nodeTraceLinks(state.nodes.get('app/reviews-v2')!, window);
    expect(links.map((l) => l.href)).toEqual([
      '/traces?service=reviews&start=1764119700000000&end=1764120000000000',
      '/traces?service=reviews&tags=error%3Dtrue&start=1764119700000000&end=1764120000000000',
    ]);
    expect(nodeTraceLinks(state.nodes.get('unknown')!, window)).toEqual([]);
    const failing = state.edges.get('e9')!;
    const edgeLinks = edgeTraceLinks(failing, state.nodes.get(failing.source), state.nodes.get(failing.target), window);
    expect(edgeLinks.map((l) => l.label)).toEqual(['Traces through ratings', 'Failed traces']);
    const healthy = state.edges.get('e1')!;
    expect(edgeTraceLinks(healthy, state.nodes.get(healthy.source), state.nodes.get(healthy.target), window)).toHaveLength(1);
  });

  it('leads from a span to its node at the trace time', () => {
    const href = graphLinkForService('reviews', 'bookinfo', 1_764_120_000_250_000);
    const q = parseGraphQuery(href.slice(href.indexOf('?')));
    expect(q).toMatchObject({ namespaces: ['bookinfo'], queryTime: 1_764_120_006, focus: 'bookinfo/reviews', update: 'manual' });
    expect(focusedNode(state.nodes.values(), 'bookinfo/reviews')?.id).toBe('app/reviews-v1');
    expect(focusedNode(state.nodes.values(), 'bookinfo/mongodb')?.id).toBe('app/mongodb-v1');
    expect(focusedNode(state.nodes.values(), 'shop/reviews')).toBeNull();
    expect(focusedNode(state.nodes.values(), 'bookinfo/reviews/v3')?.id).toBe('app/reviews-v3');
    const v2 = graphLinkForService('reviews', 'bookinfo', 1_764_120_000_250_000, 'v2');
    expect(focusedNode(state.nodes.values(), parseGraphQuery(v2.slice(v2.indexOf('?'))).focus)?.id).toBe('app/reviews-v2');
  });
});
