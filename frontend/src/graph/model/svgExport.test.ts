import { describe, expect, it } from 'vitest';
import { escapeXml, graphToSvg, nodeShape } from './svgExport';

describe('SVG export', () => {
  it('draws shapes, edges with arrowheads and escaped labels', () => {
    const svg = graphToSvg(
      [
        { id: 'a', x: 0, y: 0, width: 26, height: 26, shape: 'round-rectangle', fill: '#fff', stroke: '#3e8635', dashed: false, label: 'reviews\nv2' },
        { id: 'b', x: 200, y: 0, width: 30, height: 26, shape: 'triangle', fill: '#fff', stroke: '#c9190b', dashed: false, label: 'a<b' },
      ],
      [{ id: 'e', x1: 0, y1: 0, x2: 200, y2: 0, color: '#c9190b', width: 2, dashed: false, label: '3.01rps' }],
    );
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain('<polygon points="200,-13 215,13 185,13"');
    expect(svg).toContain('marker-end="url(#arrow-0)"');
    expect(svg).toContain('<tspan x="0" dy="11">v2</tspan>');
    expect(svg).toContain('a&lt;b');
    expect(svg).toContain('x2="184"');
  });

  it('escapes XML and picks shapes', () => {
    expect(escapeXml(`"<&>'`)).toBe('&quot;&lt;&amp;&gt;&apos;');
    expect(nodeShape({ id: 'u', x: 0, y: 0, width: 34, height: 34, shape: 'diamond', fill: '#efe4f8', stroke: '#6a2e9c', dashed: true, label: '' })).toBe(
      '<polygon points="0,-17 17,0 0,17 -17,0" fill="#efe4f8" stroke="#6a2e9c" stroke-width="2" stroke-dasharray="4 2"/>',
    );
  });
});
