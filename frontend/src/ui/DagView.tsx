// A small directed graph laid out left to right by dagre: the service dependencies, a trace's
// call graph and the compare of two traces. It is drawn once per set of elements.
import type cytoscape from 'cytoscape';
import { useMemo } from 'react';
import CytoscapeComponent from 'react-cytoscapejs';
import './cytoscape';

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

export function DagView({ nodes, edges, testid, onNode }: { nodes: DagNode[]; edges: DagEdge[]; testid: string; onNode?: (id: string) => void }) {
  const elements = useMemo(
    () => [
      ...nodes.map((n) => ({ data: { fill: '#ffffff', border: '#8a8d90', ...n } })),
      ...edges.map((e) => ({ data: { color: '#8a8d90', width: 1.5, label: '', ...e } })),
    ],
    [nodes, edges],
  );
  const key = useMemo(() => elements.map((e) => JSON.stringify(e.data)).join('|'), [elements]);
  return (
    <div className="dag-view" data-testid={testid} data-nodes={nodes.length} data-edges={edges.length}>
      <CytoscapeComponent
        key={key}
        elements={elements}
        stylesheet={STYLE}
        layout={LAYOUT}
        style={{ width: '100%', height: '100%' }}
        minZoom={0.1}
        maxZoom={3}
        cy={(cy) => {
          if (onNode) {
            cy.off('tap', 'node');
            cy.on('tap', 'node', (e) => onNode(e.target.id()));
          }
        }}
      />
    </div>
  );
}
