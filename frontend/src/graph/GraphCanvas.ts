// What the graph page does with its cytoscape instance: the graph is set once per query, then
// patched by deltas so that positions, zoom and selection survive updates.
import svg from 'cytoscape-svg';
import cytoscape from '../ui/cytoscape';
import { edgeElement, nodeElement, toElements, type ElementOptions } from './model/elements';
import type { AppliedDelta, GraphState } from './model/store';
import { layeredPositionsFor } from './model/layout';
import type { Matches } from './model/expressions';
import type { EdgeData, NodeData } from './model/types';
import { graphStylesheet } from './style';

/** Above this many nodes the canvas uses the cheap rendering shortcuts. */
export const LARGE_GRAPH = 300;
/** dagre lays out graphs up to this size; its cost grows fast with the edges (seconds at 500). */
const DAGRE_NODES = 120;
const DAGRE_EDGES = 250;
/** The zoom from which a large graph's node labels (10 px) are big enough to read. */
const LABEL_ZOOM = 0.8;

// The SVG export is this page's alone: the pages that draw a DAG do not load its extension.
cytoscape.use(svg);

export type Selection = { kind: 'node'; id: string } | { kind: 'edge'; id: string } | null;

export interface CanvasEvents {
  onSelect: (selection: Selection) => void;
}

const KEEP = new Set(['id', 'source', 'target', 'parent']);

function layoutOptions(cy: cytoscape.Core): cytoscape.LayoutOptions {
  const nodes = cy.nodes();
  if (nodes.length <= DAGRE_NODES && cy.edges().length <= DAGRE_EDGES) {
    // Left to right, unless the canvas is taller than wide (phones).
    const tall = cy.height() > cy.width() * 1.1;
    return {
      name: 'dagre',
      rankDir: tall ? 'TB' : 'LR',
      // Room between ranks for the edge labels, so they do not sit on the node labels.
      nodeSep: 34,
      rankSep: tall ? 80 : 120,
      edgeSep: 10,
      fit: true,
      padding: 30,
      animate: false,
    } as cytoscape.LayoutOptions;
  }
  const leaves = nodes.filter((n) => !n.isParent());
  const positions = layeredPositionsFor(
    leaves.map((n) => n.id()),
    cy.edges().map((e) => ({ source: e.source().id(), target: e.target().id() })),
    cy.width() / Math.max(1, cy.height()),
  );
  // Fitted from the positions themselves: the bounding box of thousands of labelled elements
  // costs more than the whole layout.
  return {
    name: 'preset',
    positions: (node: cytoscape.NodeSingular) => positions.get(node.id()) ?? { x: 0, y: 0 },
    fit: true,
    padding: 20,
    animate: false,
  } as cytoscape.LayoutOptions;
}

export class GraphCanvas {
  private large = false;
  private hoverEnabled = true;
  private frame = 0;
  private labelled = false;
  private readonly resizeObserver: ResizeObserver;

  /** Takes over a cytoscape instance (the one CytoscapeComponent created) for the graph page. */
  constructor(
    readonly cy: cytoscape.Core,
    private readonly events: CanvasEvents,
  ) {
    cy.minZoom(0.05);
    cy.maxZoom(4);
    cy.boxSelectionEnabled(false);
    cy.selectionType('single');
    cy.on('tap', 'node', (e) => this.events.onSelect({ kind: 'node', id: e.target.id() }));
    cy.on('tap', 'edge', (e) => this.events.onSelect({ kind: 'edge', id: e.target.id() }));
    cy.on('tap', (e) => {
      if (e.target === cy) this.events.onSelect(null);
    });
    this.resizeObserver = new ResizeObserver(() => cy.resize());
    this.resizeObserver.observe(cy.container()!);
    cy.on('zoom', () => this.labelLargeGraph());
    cy.on('mouseover', 'node', (e) => this.highlight(e.target));
    cy.on('mouseout', 'node', () => this.unhighlight());
  }

  /**
   * Replace everything and lay it out. The time it takes is left as the User Timing measure
   * `meshview:graph-layout`, the part that adds the elements as `meshview:graph-add`, and the
   * time until it is painted as `meshview:graph-drawn` (the browser benchmark reads them).
   */
  setGraph(state: GraphState, options: ElementOptions): void {
    const started = performance.now();
    const large = state.nodes.size > LARGE_GRAPH;
    if (large !== this.large) {
      this.large = large;
      this.cy.style(graphStylesheet(large));
    }
    this.hoverEnabled = !large;
    // Cheap rendering while panning and zooming a large graph.
    const renderer = this.cy as unknown as { renderer(): { textureOnViewport: boolean; hideEdgesOnViewport: boolean } };
    renderer.renderer().textureOnViewport = large;
    renderer.renderer().hideEdgesOnViewport = large;
    this.cy.batch(() => {
      this.cy.elements().remove();
      this.cy.add(toElements(state.nodes.values(), state.edges.values(), options) as cytoscape.ElementDefinition[]);
    });
    const added = performance.now();
    this.labelled = false;
    this.relayout();
    this.labelLargeGraph();
    performance.measure('meshview:graph-add', { start: started, end: added });
    performance.measure('meshview:graph-layout', { start: started, end: performance.now() });
    // Drawn: cytoscape paints in its next animation frame.
    requestAnimationFrame(() => requestAnimationFrame(() => performance.measure('meshview:graph-drawn', { start: started, end: performance.now() })));
  }

  relayout(): void {
    this.cy.resize();
    if (this.cy.nodes().length === 0) return;
    this.cy.layout(layoutOptions(this.cy)).run();
    // A small graph should not be blown up past a readable size.
    if (this.cy.zoom() > 1.6) {
      this.cy.zoom(1.6);
      this.cy.center();
    }
  }

  fit(): void {
    this.cy.fit(undefined, 30);
  }

  /** Apply what a delta did, element by element; new nodes are placed beside their neighbours. */
  applyDelta(applied: AppliedDelta, state: GraphState, options: ElementOptions): void {
    const cy = this.cy;
    cy.batch(() => {
      for (const id of applied.removedEdges) cy.getElementById(id).remove();
      for (const id of applied.removedNodes) cy.getElementById(id).remove();

      const extent = cy.nodes().length ? cy.nodes().boundingBox({}) : { x1: 0, y1: 0, x2: 0, y2: 0 };
      // Nodes next to a node already drawn first, so that a chain of new nodes grows from it.
      const pending = [...applied.addedNodes];
      let spare = 0;
      while (pending.length) {
        const index = Math.max(0, pending.findIndex((n) => this.anchorFor(n, state) !== null));
        const node = pending.splice(index, 1)[0];
        const element = nodeElement(node, options) as cytoscape.ElementDefinition;
        if (element.data.parent && cy.getElementById(element.data.parent).empty() && !state.nodes.has(element.data.parent)) {
          delete element.data.parent;
        }
        element.position = this.freeSpotNear(this.anchorFor(node, state) ?? { x: extent.x2 + 120, y: extent.y1 + spare++ * 70 });
        cy.add(element);
      }
      for (const node of applied.changedNodes) this.replaceData(node, nodeElement(node, options).data);
      for (const edge of applied.addedEdges) {
        if (cy.getElementById(edge.id).nonempty()) cy.getElementById(edge.id).remove();
        cy.add(edgeElement(edge, options) as cytoscape.ElementDefinition);
      }
      for (const edge of applied.changedEdges) this.replaceData(edge, edgeElement(edge, options).data);
    });
  }

  /** Re-render every element's computed fields (edge labels after the label mode changed). */
  refreshLabels(state: GraphState, options: ElementOptions): void {
    this.cy.batch(() => {
      for (const edge of state.edges.values()) {
        const ele = this.cy.getElementById(edge.id);
        if (ele.nonempty()) ele.data('label', edgeElement(edge, options).data.label);
      }
      for (const node of state.nodes.values()) {
        const ele = this.cy.getElementById(node.id);
        if (ele.nonempty()) ele.data('label', nodeElement(node, options).data.label);
      }
    });
  }

  select(selection: Selection, center = false): void {
    this.cy.elements(':selected').unselect();
    if (!selection) return;
    const ele = this.cy.getElementById(selection.id);
    if (ele.empty()) return;
    ele.select();
    if (center) {
      this.cy.animate({ center: { eles: ele }, zoom: Math.max(this.cy.zoom(), 1.1) } as cytoscape.AnimationOptions, { duration: 250 });
    }
  }

  png(): Blob {
    return this.cy.png({ output: 'blob', full: true, scale: 2, bg: '#ffffff', maxWidth: 8000, maxHeight: 8000 });
  }

  /** The whole graph as SVG, drawn by cytoscape-svg from the canvas renderer's own drawing. */
  svg(): string {
    return (this.cy as cytoscape.Core & { svg(options: object): string }).svg({ full: true, scale: 1, bg: '#ffffff' });
  }

  /**
   * What the display options hide and show: hidden elements, the find matches (the view fits
   * them when `fit`), the mTLS badges, and the traffic animation.
   */
  setDisplay(display: { hidden: Matches; found: Matches; security: boolean; animation: boolean }, fit = false): void {
    const cy = this.cy;
    cy.batch(() => {
      cy.elements().removeClass('hidden found');
      for (const id of display.hidden.nodes) cy.getElementById(id).addClass('hidden');
      for (const id of display.hidden.edges) cy.getElementById(id).addClass('hidden');
      for (const id of display.found.nodes) cy.getElementById(id).addClass('found');
      for (const id of display.found.edges) cy.getElementById(id).addClass('found');
      cy.edges().toggleClass('security', display.security);
      cy.edges().toggleClass('animated', display.animation && !this.large);
    });
    const found = cy.elements('.found');
    if (fit && found.nonempty()) cy.animate({ fit: { eles: found.union(found.connectedNodes()), padding: 60 } } as cytoscape.AnimationOptions, { duration: 300 });
    this.animate(display.animation && !this.large);
  }

  /** Mark the nodes and edges a firing alert is about. */
  markAlerts(marks: { nodes: Set<string>; edges: Set<string> }): void {
    const cy = this.cy;
    cy.batch(() => {
      cy.elements('.alert-firing').removeClass('alert-firing');
      for (const id of [...marks.nodes, ...marks.edges]) cy.getElementById(id).addClass('alert-firing');
    });
  }

  /** Dashes that run along each edge, faster on busier edges (Kiali's traffic animation). */
  private animate(on: boolean): void {
    cancelAnimationFrame(this.frame);
    this.frame = 0;
    if (!on) return;
    const started = performance.now();
    let last = 0;
    const tick = (now: number) => {
      if (this.cy.destroyed()) return;
      this.frame = requestAnimationFrame(tick);
      if (now - last < 40) return;
      last = now;
      const seconds = (now - started) / 1000;
      this.cy.batch(() => {
        this.cy.edges('.animated').forEach((edge) => {
          const speed = 10 + Math.min(60, 12 * Math.log10(1 + Number(edge.data('rate')) || 0));
          edge.style('line-dash-offset', -seconds * speed);
        });
      });
    };
    this.frame = requestAnimationFrame(tick);
  }

  /** Let go of the instance (CytoscapeComponent destroys it). */
  destroy(): void {
    cancelAnimationFrame(this.frame);
    this.resizeObserver.disconnect();
    if (!this.cy.destroyed()) {
      this.cy.stop(true, false);
      this.cy.elements().stop(true, false);
    }
  }

  /** Where a new node goes: beside the first neighbour already drawn (callers left, callees right). */
  private anchorFor(node: NodeData, state: GraphState): { x: number; y: number } | null {
    for (const edge of state.edges.values()) {
      const other = edge.source === node.id ? edge.target : edge.target === node.id ? edge.source : null;
      if (!other) continue;
      const neighbour = this.cy.getElementById(other);
      if (neighbour.empty() || neighbour.isParent()) continue;
      const p = neighbour.position();
      return { x: p.x + (edge.source === node.id ? -140 : 140), y: p.y };
    }
    return null;
  }

  /** The spot nearest `wanted` (stepping down and up by a row) that no node occupies. */
  private freeSpotNear(wanted: { x: number; y: number }): { x: number; y: number } {
    const taken = this.cy.nodes().filter((n) => !n.isParent()).map((n) => (n as cytoscape.NodeSingular).position());
    for (let step = 0; step < 200; step += 1) {
      const y = wanted.y + (step % 2 ? 1 : -1) * Math.ceil(step / 2) * 60;
      if (taken.every((p) => Math.abs(p.x - wanted.x) > 70 || Math.abs(p.y - y) > 50)) return { x: wanted.x, y };
    }
    return wanted;
  }

  private replaceData(incoming: NodeData | EdgeData, data: Record<string, unknown>): void {
    const ele = this.cy.getElementById(incoming.id);
    if (ele.empty()) return;
    const stale = Object.keys(ele.data()).filter((k) => !KEEP.has(k) && !(k in data));
    if (stale.length) ele.removeData(stale.join(' '));
    const { id: _id, source: _s, target: _t, parent, ...rest } = data;
    ele.data(rest);
    if (ele.isNode() && (parent ?? null) !== (ele.data('parent') ?? null)) {
      const target = typeof parent === 'string' && this.cy.getElementById(parent).nonempty() ? parent : null;
      ele.move({ parent: target });
    }
  }

  /** A large graph's node labels show from the zoom at which they can be read. */
  private labelLargeGraph(): void {
    const wanted = this.large && this.cy.zoom() >= LABEL_ZOOM;
    if (wanted === this.labelled) return;
    this.labelled = wanted;
    this.cy.batch(() => this.cy.nodes().toggleClass('labelled', wanted));
  }

  private highlight(node: cytoscape.NodeSingular): void {
    if (!this.hoverEnabled) return;
    const keep = node.closedNeighborhood();
    this.cy.batch(() => {
      this.cy.elements().not(keep).addClass('faded');
    });
  }

  private unhighlight(): void {
    if (!this.hoverEnabled) return;
    this.cy.batch(() => this.cy.elements('.faded').removeClass('faded'));
  }
}
