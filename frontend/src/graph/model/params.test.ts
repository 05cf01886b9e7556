import { describe, expect, it } from 'vitest';
import { DEFAULT_QUERY, defaultNamespaces, graphApiUrl, graphQueryToSearch, graphSocketPath, parseGraphQuery } from './params';

describe('graph page settings', () => {
  it('reads the URL and falls back to defaults on bad values', () => {
    const q = parseGraphQuery('?namespaces=bookinfo,istio-system,bookinfo&graphType=workload&duration=600s&edges=p99&update=15s&sources=accesslogs,bogus');
    expect(q).toEqual({
      ...DEFAULT_QUERY,
      namespaces: ['bookinfo', 'istio-system'],
      graphType: 'workload',
      duration: 600,
      edgeLabels: 'p99',
      update: '15s',
      sources: ['accesslogs'],
    });
    const bad = parseGraphQuery('?graphType=galaxy&duration=7s&edges=colour&update=never');
    expect(bad.graphType).toBe('versionedApp');
    expect(bad.duration).toBe(300);
    expect(bad.edgeLabels).toBe('rate');
    expect(bad.update).toBe('live');
  });

  it('writes only what differs from the defaults and reads it back', () => {
    expect(graphQueryToSearch(DEFAULT_QUERY)).toBe('');
    const q = { ...DEFAULT_QUERY, namespaces: ['bookinfo'], duration: 3600, injectServiceNodes: false };
    const search = graphQueryToSearch(q);
    expect(search).toBe('?namespaces=bookinfo&duration=3600s&injectServiceNodes=false');
    expect(parseGraphQuery(search)).toEqual(q);
  });

  it('builds the API, DOT and websocket addresses', () => {
    const q = { ...DEFAULT_QUERY, namespaces: ['bookinfo', 'shop'], graphType: 'app', duration: 60 };
    expect(graphApiUrl(q)).toBe('/api/v1/graph?namespaces=bookinfo%2Cshop&graphType=app&duration=60s&injectServiceNodes=true');
    expect(graphApiUrl(q, 'dot')).toMatch(/&format=dot$/);
    expect(graphSocketPath({ ...q, sources: ['spans'] })).toBe(
      '/ws/graph/?namespaces=bookinfo%2Cshop&graphType=app&duration=60s&injectServiceNodes=true&sources=spans',
    );
  });

  it('keeps the replay time, boxes, display options and expressions in the URL', () => {
    const q = {
      ...DEFAULT_QUERY,
      namespaces: ['bookinfo'],
      duration: 86400,
      queryTime: 1796280000,
      boxBy: ['namespace', 'app'],
      idleEdges: true,
      security: true,
      animation: true,
      find: 'rt > 1000',
      hide: 'node = unknown',
      focus: 'bookinfo/reviews',
    };
    const search = graphQueryToSearch(q);
    expect(parseGraphQuery(search)).toEqual(q);
    expect(graphApiUrl(q)).toBe(
      '/api/v1/graph?namespaces=bookinfo&graphType=versionedApp&duration=86400s&injectServiceNodes=true&boxBy=namespace%2Capp&includeIdleEdges=true&queryTime=1796280000',
    );
    expect(parseGraphQuery('?boxBy=app,bogus,cluster&queryTime=-4').boxBy).toEqual(['cluster', 'app']);
    expect(parseGraphQuery('?queryTime=-4').queryTime).toBeNull();
    const node = { ...DEFAULT_QUERY, namespaces: ['bookinfo'], node: 'bookinfo/app/reviews' };
    expect(parseGraphQuery(graphQueryToSearch(node))).toEqual(node);
    expect(graphApiUrl(node)).toBe('/api/v1/graph/node?namespaces=bookinfo&graphType=versionedApp&duration=300s&injectServiceNodes=true&namespace=bookinfo&app=reviews');
    expect(parseGraphQuery('?node=bookinfo/pod/x').node).toBe('');
  });

  it('picks the application namespaces by default', () => {
    expect(defaultNamespaces(['kube-system', 'istio-system', 'shop', 'bookinfo'])).toEqual(['bookinfo', 'shop']);
    expect(defaultNamespaces(['istio-system'])).toEqual(['istio-system']);
    expect(defaultNamespaces([])).toEqual([]);
  });
});
