import { describe, expect, it } from 'vitest';
import type { EdgeData, NodeData } from '../../graph/model/types';
import { alertMarks } from './firing';

const nodes: NodeData[] = [
  { id: 'n1', nodeType: 'workload', namespace: 'bookinfo', workload: 'productpage-v1', app: 'productpage' },
  { id: 'n2', nodeType: 'workload', namespace: 'bookinfo', workload: 'reviews-v1', app: 'reviews' },
  { id: 'n3', nodeType: 'service', namespace: 'bookinfo', service: 'reviews' },
  { id: 'n4', nodeType: 'unknown', namespace: 'unknown' },
  { id: 'n5', nodeType: 'app', namespace: 'bookinfo', app: 'reviews', version: 'v1' },
];
const edges: EdgeData[] = [
  { id: 'e1', source: 'n1', target: 'n3' },
  { id: 'e2', source: 'n3', target: 'n2' },
  { id: 'e3', source: 'n4', target: 'n1' },
];

describe('firing alerts on the graph', () => {
  it('marks the node of a node alert, in a workload or an app graph', () => {
    const marks = alertMarks([{ labels: { namespace: 'bookinfo', workload: 'reviews-v1', app: 'reviews' } }], nodes, edges);
    expect([...marks.nodes].sort()).toEqual(['n2', 'n5']);
    expect(marks.edges.size).toBe(0);
    expect(marks.matched).toHaveLength(1);
  });

  it('marks a service node by its service, and nothing in another namespace', () => {
    expect([...alertMarks([{ labels: { namespace: 'bookinfo', service: 'reviews' } }], nodes, edges).nodes]).toEqual(['n3']);
    const elsewhere = alertMarks([{ labels: { namespace: 'other', workload: 'reviews-v1' } }], nodes, edges);
    expect(elsewhere.nodes.size + elsewhere.matched.length).toBe(0);
  });

  it('marks the edge of an edge alert, the unknown source included', () => {
    const edge = { source_namespace: 'bookinfo', source_workload: 'productpage-v1', destination_namespace: 'bookinfo', destination_service: 'reviews' };
    expect([...alertMarks([{ labels: edge }], nodes, edges).edges]).toEqual(['e1']);
    const unknown = { source_namespace: 'unknown', source_workload: 'unknown', destination_namespace: 'bookinfo', destination_workload: 'productpage-v1' };
    expect([...alertMarks([{ labels: unknown }], nodes, edges).edges]).toEqual(['e3']);
  });
});
