// The graph as a standalone SVG document: straight edges with arrowheads, node shapes, labels.

export interface SvgNode {
  id: string;
  x: number;
  y: number;
  width: number;
  height: number;
  shape: string;
  fill: string;
  stroke: string;
  dashed: boolean;
  label: string;
  isParent?: boolean;
}

export interface SvgEdge {
  id: string;
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  color: string;
  width: number;
  dashed: boolean;
  label: string;
}

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] as string);
}

const r = (n: number) => Math.round(n * 10) / 10;

function polygon(points: [number, number][], x: number, y: number, w: number, h: number): string {
  return points.map(([px, py]) => `${r(x + (px * w) / 2)},${r(y + (py * h) / 2)}`).join(' ');
}

/** The SVG element for one node's outline. */
export function nodeShape(node: SvgNode): string {
  const { x, y, width: w, height: h } = node;
  const paint = `fill="${escapeXml(node.fill)}" stroke="${escapeXml(node.stroke)}" stroke-width="2"${node.dashed ? ' stroke-dasharray="4 2"' : ''}`;
  switch (node.shape) {
    case 'triangle':
      return `<polygon points="${polygon([[0, -1], [1, 1], [-1, 1]], x, y, w, h)}" ${paint}/>`;
    case 'diamond':
      return `<polygon points="${polygon([[0, -1], [1, 0], [0, 1], [-1, 0]], x, y, w, h)}" ${paint}/>`;
    case 'ellipse':
      return `<ellipse cx="${r(x)}" cy="${r(y)}" rx="${r(w / 2)}" ry="${r(h / 2)}" ${paint}/>`;
    case 'rectangle':
      return `<rect x="${r(x - w / 2)}" y="${r(y - h / 2)}" width="${r(w)}" height="${r(h)}" ${paint}/>`;
    default:
      return `<rect x="${r(x - w / 2)}" y="${r(y - h / 2)}" width="${r(w)}" height="${r(h)}" rx="5" ${paint}/>`;
  }
}

function textLines(text: string, x: number, y: number, size: number, color: string): string {
  const lines = text.split('\n').filter(Boolean);
  if (!lines.length) return '';
  const spans = lines
    .map((line, i) => `<tspan x="${r(x)}" dy="${i === 0 ? 0 : size + 1}">${escapeXml(line)}</tspan>`)
    .join('');
  return `<text x="${r(x)}" y="${r(y)}" font-size="${size}" fill="${color}" text-anchor="middle">${spans}</text>`;
}

export function graphToSvg(nodes: SvgNode[], edges: SvgEdge[], padding = 40): string {
  let x1 = Infinity;
  let y1 = Infinity;
  let x2 = -Infinity;
  let y2 = -Infinity;
  for (const n of nodes) {
    x1 = Math.min(x1, n.x - n.width / 2);
    y1 = Math.min(y1, n.y - n.height / 2);
    x2 = Math.max(x2, n.x + n.width / 2);
    y2 = Math.max(y2, n.y + n.height / 2 + 30);
  }
  if (!nodes.length) {
    x1 = 0;
    y1 = 0;
    x2 = 100;
    y2 = 100;
  }
  const vx = r(x1 - padding);
  const vy = r(y1 - padding);
  const vw = r(x2 - x1 + 2 * padding);
  const vh = r(y2 - y1 + 2 * padding);
  const colors = [...new Set(edges.map((e) => e.color))];
  const markerId = (color: string) => `arrow-${colors.indexOf(color)}`;
  const markers = colors
    .map(
      (c) =>
        `<marker id="${markerId(c)}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="${escapeXml(c)}"/></marker>`,
    )
    .join('');
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="${vx} ${vy} ${vw} ${vh}" width="${vw}" height="${vh}" font-family="system-ui, sans-serif">`,
    `<defs>${markers}</defs>`,
    `<rect x="${vx}" y="${vy}" width="${vw}" height="${vh}" fill="#ffffff"/>`,
  ];
  for (const n of nodes.filter((n) => n.isParent)) {
    out.push(`<g data-id="${escapeXml(n.id)}">${nodeShape(n)}${textLines(n.label, n.x, n.y - n.height / 2 - 4, 10, '#4f5255')}</g>`);
  }
  for (const e of edges) {
    // Stop the line at the target's edge, roughly, so the arrowhead shows.
    const dx = e.x2 - e.x1;
    const dy = e.y2 - e.y1;
    const length = Math.hypot(dx, dy) || 1;
    const target = 16;
    const ex = e.x2 - (dx / length) * target;
    const ey = e.y2 - (dy / length) * target;
    out.push(
      `<g data-id="${escapeXml(e.id)}"><line x1="${r(e.x1)}" y1="${r(e.y1)}" x2="${r(ex)}" y2="${r(ey)}" stroke="${escapeXml(e.color)}" stroke-width="${r(e.width)}"${e.dashed ? ' stroke-dasharray="6 3"' : ''} marker-end="url(#${markerId(e.color)})"/>` +
        `${textLines(e.label, (e.x1 + e.x2) / 2, (e.y1 + e.y2) / 2 - 3, 8, '#3c3f42')}</g>`,
    );
  }
  for (const n of nodes.filter((n) => !n.isParent)) {
    out.push(`<g data-id="${escapeXml(n.id)}">${nodeShape(n)}${textLines(n.label, n.x, n.y + n.height / 2 + 12, 10, '#151515')}</g>`);
  }
  out.push('</svg>');
  return out.join('\n');
}
