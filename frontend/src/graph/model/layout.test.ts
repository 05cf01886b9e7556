import { describe, expect, it } from 'vitest';
import { largeGraph } from '../../../tests/fixtures/synthetic.mjs';
import { layeredPositions, layeredPositionsFor } from './layout';

describe('layered layout for large graphs', () => {
  it('puts callers left of callees and wraps tall layers', () => {
    const ids = ['root', 'a', 'b', 'c', 'd', 'e'];
    const edges = ['a', 'b', 'c', 'd', 'e'].map((t) => ({ source: 'root', target: t }));
    const p = layeredPositions(ids, edges, { maxPerColumn: 2, columnGap: 100, layerGap: 200, rowGap: 50 });
    expect(p.get('root')).toEqual({ x: 0, y: 0 });
    const xs = ['a', 'b', 'c', 'd', 'e'].map((id) => p.get(id)!.x);
    // 5 callees in columns of at most 2 rows: 3 columns at 200, 300, 400.
    expect([...new Set(xs)].sort()).toEqual([200, 300, 400]);
  });

  it('survives cycles and self-loops', () => {
    const p = layeredPositions(['a', 'b'], [{ source: 'a', target: 'b' }, { source: 'b', target: 'a' }, { source: 'a', target: 'a' }]);
    expect(p.size).toBe(2);
    expect(p.get('a')!.x).toBeLessThan(p.get('b')!.x);
  });

  it('lays out 1,000 nodes quickly in roughly the requested shape', () => {
    const g = largeGraph(1000);
    const ids = g.elements.nodes.map((n) => n.data.id);
    const edges = g.elements.edges.map((e) => e.data);
    const started = performance.now();
    const p = layeredPositionsFor(ids, edges, 1.5);
    expect(performance.now() - started).toBeLessThan(200);
    expect(p.size).toBe(1000);
    const xs = [...p.values()].map((v) => v.x);
    const ys = [...p.values()].map((v) => v.y);
    const aspect = (Math.max(...xs) - Math.min(...xs)) / (Math.max(...ys) - Math.min(...ys));
    expect(aspect).toBeGreaterThan(0.7);
    expect(aspect).toBeLessThan(3);
    // Every called node sits right of its nearest caller.
    const callers = new Map<string, number[]>();
    for (const e of edges) callers.set(e.target, [...(callers.get(e.target) ?? []), p.get(e.source)!.x]);
    for (const [id, xs] of callers) expect(Math.min(...xs)).toBeLessThan(p.get(id)!.x);
  });
});
