// The canvas stylesheet: shapes by node kind, borders by health, edges by health and rate.
import type cytoscape from 'cytoscape';
import { HEALTH_COLORS } from './model/health';

export const UNKNOWN_COLOR = '#6a2e9c';
export const SELECT_COLOR = '#0066cc';
/** Nodes and edges with a firing alert. */
export const ALERT_COLOR = '#c9190b';

export function graphStylesheet(large: boolean): cytoscape.StylesheetJson {
  return [
    {
      selector: 'node',
      style: {
        'background-color': '#ffffff',
        'border-width': 2.5,
        'border-color': 'data(borderColor)',
        shape: 'round-rectangle',
        width: 26,
        height: 26,
        // A large graph names its nodes once the view is zoomed in enough to read them
        // (GraphCanvas adds `labelled`): measuring thousands of labels slows its first paint.
        label: large ? '' : 'data(label)',
        'font-family': 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif',
        'font-size': 10,
        color: '#151515',
        'text-valign': 'bottom',
        'text-halign': 'center',
        'text-margin-y': 4,
        // Wrapping measures every label's words: a large graph keeps each line whole.
        'text-wrap': large ? 'none' : 'wrap',
        'text-max-width': '140px',
        'text-background-color': '#ffffff',
        'text-background-opacity': 0.85,
        'text-background-padding': '1px',
        'text-background-shape': 'roundrectangle',
        'min-zoomed-font-size': large ? 9 : 6,
      },
    },
    { selector: 'node[kind = "workload"]', style: { shape: 'round-rectangle' } },
    { selector: 'node[kind = "app"]', style: { shape: 'rectangle', width: 28, height: 24 } },
    { selector: 'node[kind = "service"]', style: { shape: 'triangle', width: 30, height: 26 } },
    { selector: 'node[kind = "serviceEntry"]', style: { shape: 'tag', width: 30, height: 24 } },
    { selector: 'node[kind = "aggregate"]', style: { shape: 'round-pentagon' } },
    {
      selector: 'node[kind = "unknown"]',
      style: {
        shape: 'diamond',
        width: 34,
        height: 34,
        'background-color': '#efe4f8',
        'border-color': UNKNOWN_COLOR,
        'border-style': 'dashed',
        color: UNKNOWN_COLOR,
        'font-weight': 'bold',
      },
    },
    {
      selector: 'node[badges]',
      style: {
        'background-image': 'data(badges)',
        'background-width': 'data(badgeWidth)',
        'background-height': 13,
        'background-position-x': '-14px',
        'background-position-y': '-14px',
        'background-clip': 'none',
        'background-image-containment': 'over',
        'bounds-expansion': 16,
        'background-image-opacity': 1,
      },
    },
    { selector: 'node[?isOutside]', style: { 'background-color': '#f0f0f0', color: '#4f5255' } },
    { selector: 'node[?isIdle], node[?isDead]', style: { 'border-style': 'dotted', opacity: 0.7 } },
    {
      selector: ':parent',
      style: {
        shape: 'round-rectangle',
        'background-color': '#f7f8fa',
        'background-opacity': 0.7,
        'border-color': '#b8bbbe',
        'border-width': 1,
        'border-style': 'dashed',
        'text-valign': 'top',
        'text-margin-y': -3,
        padding: '12px',
        'font-size': 10,
        color: '#4f5255',
      },
    },
    {
      selector: 'node:selected',
      style: {
        'overlay-color': SELECT_COLOR,
        'overlay-opacity': 0.18,
        'overlay-padding': 6,
        'border-width': 3.5,
        'font-weight': 'bold',
      },
    },
    {
      selector: 'edge',
      style: {
        width: 'data(width)',
        'line-color': 'data(color)',
        'target-arrow-color': 'data(color)',
        'target-arrow-shape': 'triangle',
        'arrow-scale': 0.75,
        'curve-style': large ? 'straight' : 'bezier',
        // A large graph's edge labels would be too small to read at the zoom that shows it
        // whole, and measuring thousands of them slows the layout: only a selected edge has one.
        label: large ? '' : 'data(label)',
        'font-family': 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif',
        'font-size': 8,
        color: '#3c3f42',
        'text-wrap': 'wrap',
        'text-background-color': '#ffffff',
        'text-background-opacity': 0.9,
        'text-background-padding': '1px',
        'text-background-shape': 'roundrectangle',
        'min-zoomed-font-size': large ? 10 : 7,
      },
    },
    { selector: 'edge[protocol = "tcp"]', style: { 'line-style': 'dashed', 'line-dash-pattern': [6, 3] } },
    {
      selector: `edge[health = "Failure"]`,
      style: { color: HEALTH_COLORS.Failure, 'font-weight': 'bold' },
    },
    {
      selector: 'edge:selected',
      style: { 'overlay-color': SELECT_COLOR, 'overlay-opacity': 0.2, 'overlay-padding': 5, 'z-index': 10, label: 'data(label)' },
    },
    { selector: 'node.labelled, node:selected, node.found', style: { label: 'data(label)' } },
    { selector: '.faded', style: { opacity: 0.18, 'text-opacity': 0.1 } },
    { selector: '.hidden', style: { display: 'none' } },
    {
      selector: 'node.found',
      style: { 'underlay-color': '#f0ab00', 'underlay-opacity': 0.45, 'underlay-padding': 8, 'underlay-shape': 'ellipse' },
    },
    { selector: 'edge.found', style: { 'underlay-color': '#f0ab00', 'underlay-opacity': 0.45, 'underlay-padding': 5 } },
    {
      selector: 'node.alert-firing',
      style: { 'border-color': ALERT_COLOR, 'border-width': 4, 'underlay-color': ALERT_COLOR, 'underlay-opacity': 0.25, 'underlay-padding': 6 },
    },
    { selector: 'edge.alert-firing', style: { 'underlay-color': ALERT_COLOR, 'underlay-opacity': 0.35, 'underlay-padding': 4 } },
    {
      selector: 'edge.security[?mtls]',
      style: {
        'source-label': 'mTLS',
        'source-text-offset': 22,
        'source-text-margin-y': -6,
        'font-size': 7,
        'text-background-color': '#e7f1fa',
        'text-background-opacity': 1,
      },
    },
    { selector: 'edge.animated[rate > 0]', style: { 'line-style': 'dashed', 'line-dash-pattern': [7, 5] } },
  ] as cytoscape.StylesheetJson;
}
