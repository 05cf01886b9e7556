// A small directed graph laid out left to right by dagre: the service dependencies, a trace's
// call graph and the compare of two traces. It is drawn once per set of elements.
import { useLayoutEffect, useMemo, useRef } from 'react';
import cytoscape from './cytoscape';

export interface DagNode {
  id: string;
  label: string;
  fill?: string;
  border?: string;
}

export interface DagEdge {
  id: string;
  source: string;
  target: string;
  label?: string;
  color?: string;
  width?: number;
}

const STYLE: cytoscape.StylesheetJson = [
  {
    selector: 'node',
    style: {
      shape: 'round-rectangle',
      width: 'label',
      height: 'label',
      padding: '8px',
      label: 'data(label)',
      'text-wrap': 'wrap',
      'text-valign': 'center',
      'text-halign': 'center',
      'font-family': 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif',
      'font-size': 11,
      'background-color': 'data(fill)',
      'border-color': 'data(border)',
      'border-width': 1.5,
      color: '#151515',
    },
  },
  {
    selector: 'edge',
    style: {
      width: 'data(width)',
      'line-color': 'data(color)',
      'target-arrow-color': 'data(color)',
      'target-arrow-shape': 'triangle',
      'curve-style': 'bezier',
      label: 'data(label)',
      'font-size': 10,
      color: '#3c3f42',
      'text-background-color': '#ffffff',
      'text-background-opacity': 0.9,
      'text-background-padding': '2px',
    },
  },
];

const LAYOUT = { name: 'dagre', rankDir: 'LR', nodeSep: 18, rankSep: 70, fit: true, padding: 24 } as cytoscape.LayoutOptions;

/** Draws the graph once per set of elements; `data-drawn` is set on the view once the laid-out
 * graph has been painted. */
export function DagView({ nodes, edges, testid }: { nodes: DagNode[]; edges: DagEdge[]; testid: string }) {
  const elements = useMemo(
    () => [
      ...nodes.map((n) => ({ data: { fill: '#ffffff', border: '#8a8d90', ...n } })),
      ...edges.map((e) => ({ data: { color: '#8a8d90', width: 1.5, label: '', ...e } })),
    ],
    [nodes, edges],
  );
  const key = useMemo(() => elements.map((e) => JSON.stringify(e.data)).join('|'), [elements]);
  const view = useRef<HTMLDivElement>(null);
  const canvas = useRef<HTMLDivElement>(null);
  useLayoutEffect(() => {
    view.current?.removeAttribute('data-drawn');
    // One instance with its style and layout from the start: nothing is styled or laid out twice.
    const cy = cytoscape({ container: canvas.current, elements, style: STYLE, layout: LAYOUT, minZoom: 0.1, maxZoom: 3 });
    cy.one('render', () => view.current?.setAttribute('data-drawn', ''));
    return () => cy.destroy();
    // `key` stands for the elements' content: a new array of the same elements draws nothing new.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);
  return (
    <div className="dag-view" ref={view} data-testid={testid} data-nodes={nodes.length} data-edges={edges.length}>
      <div ref={canvas} style={{ width: '100%', height: '100%' }} />
    </div>
  );
}
