// Node badges (root, gateway, circuit breaker, virtual service) drawn as small SVG icons; the
// canvas shows a node's badges as one strip image above its top-left corner.
import type { NodeData } from './types';

export type BadgeKind = 'root' | 'gateway' | 'circuitBreaker' | 'virtualService';

export const BADGES: Record<BadgeKind, { label: string; fill: string; icon: string }> = {
  root: {
    label: 'Root: only sends traffic',
    fill: '#4f5255',
    icon: '<path d="M6 12h10M12 8l4 4-4 4" stroke="#fff" stroke-width="2.2" fill="none" stroke-linecap="round" stroke-linejoin="round"/>',
  },
  gateway: {
    label: 'Gateway',
    fill: '#0066cc',
    icon: '<path d="M6 18v-7l6-4 6 4v7M10 18v-4h4v4" stroke="#fff" stroke-width="2" fill="none" stroke-linejoin="round"/>',
  },
  circuitBreaker: {
    label: 'Circuit breaker configured',
    fill: '#7d1007',
    icon: '<path d="M13 4 7 13h4.5L10 20l7-9.5h-4.6z" fill="#fff"/>',
  },
  virtualService: {
    label: 'Virtual service routing',
    fill: '#5752d1',
    icon: '<path d="M8 6v12M8 12h3l5-5M11 12l5 5" stroke="#fff" stroke-width="2" fill="none" stroke-linecap="round" stroke-linejoin="round"/>',
  },
};

const SIZE = 24;

/** The badges a node wears, in a fixed order. */
export function badgesOf(node: NodeData): BadgeKind[] {
  const out: BadgeKind[] = [];
  if (node.isRoot) out.push('root');
  if (node.isGateway) out.push('gateway');
  if (node.hasCB) out.push('circuitBreaker');
  if (node.hasVS) out.push('virtualService');
  return out;
}

export function badgeSvg(kind: BadgeKind, x = 0): string {
  const b = BADGES[kind];
  return `<g transform="translate(${x} 0)"><circle cx="12" cy="12" r="11" fill="${b.fill}" stroke="#fff" stroke-width="1.5"/>${b.icon}</g>`;
}

/** One SVG holding the badges side by side, as a data URI; '' without badges. */
export function badgeStrip(kinds: BadgeKind[]): string {
  if (!kinds.length) return '';
  const width = SIZE * kinds.length;
  const body = kinds.map((k, i) => badgeSvg(k, i * SIZE)).join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${SIZE}" viewBox="0 0 ${width} ${SIZE}">${body}</svg>`;
  return `data:image/svg+xml;utf8,${encodeURIComponent(svg)}`;
}

/** A single badge as an inline SVG element's markup (for the legend and panels). */
export function badgeIcon(kind: BadgeKind, size = 16): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 24 24" role="img" aria-label="${BADGES[kind].label}">${badgeSvg(kind)}</svg>`;
}
