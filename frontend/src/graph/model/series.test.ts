import { describe, expect, it } from 'vitest';
import bookinfo from '../__fixtures__/bookinfo-graph.json';
import { seriesQuery } from './series';
import { stateFromGraph } from './store';
import type { GraphJson } from './types';

const state = stateFromGraph(structuredClone(bookinfo) as unknown as GraphJson);

describe('side panel series', () => {
  it('asks for a node inbound, a root outbound and an edge by its ends', () => {
    expect(seriesQuery({ node: state.nodes.get('app/reviews-v2')! }, 'versionedApp', 300, null)?.toString()).toBe(
      'namespace=bookinfo&app=reviews&version=v2&duration=300s',
    );
    expect(seriesQuery({ node: state.nodes.get('app/reviews-v2')! }, 'app', 600, 1764120000)?.toString()).toBe(
      'namespace=bookinfo&app=reviews&duration=600s&queryTime=1764120000',
    );
    expect(seriesQuery({ node: state.nodes.get('istio-system/istio-ingressgateway')! }, 'app', 60, null)?.get('direction')).toBe('outbound');
    const edge = state.edges.get('e9')!;
    expect(
      seriesQuery({ edge, source: state.nodes.get(edge.source), target: state.nodes.get(edge.target) }, 'versionedApp', 300, null)?.toString(),
    ).toBe('sourceNamespace=bookinfo&sourceApp=reviews&sourceVersion=v2&destinationNamespace=bookinfo&destinationService=ratings&duration=300s');
    expect(seriesQuery({ node: { id: 'b', nodeType: 'box', namespace: 'bookinfo', isBox: 'namespace' } }, 'app', 60, null)).toBeNull();
  });
});
