// The legend: what the canvas's shapes, colours and badges mean.
import { h } from '../ui/dom';
import { BADGES, badgeIcon, type BadgeKind } from './model/badges';
import { HEALTH_COLORS, IDLE_COLOR, TCP_COLOR } from './model/health';
import { UNKNOWN_COLOR } from './style';

function icon(markup: string): HTMLElement {
  const span = h('span', { class: 'legend-icon' });
  span.innerHTML = markup;
  return span;
}

const shape = (inner: string) => `<svg width="26" height="22" viewBox="0 0 26 22" aria-hidden="true">${inner}</svg>`;
const line = (color: string, dashed = false) =>
  `<svg width="34" height="12" viewBox="0 0 34 12" aria-hidden="true"><line x1="2" y1="6" x2="26" y2="6" stroke="${color}" stroke-width="3"${dashed ? ' stroke-dasharray="5 3"' : ''}/><path d="M26 2 L33 6 L26 10z" fill="${color}"/></svg>`;

export function legend(): HTMLElement {
  const row = (markup: string, text: string) => h('li', null, icon(markup), h('span', null, text));
  return h(
    'div',
    { class: 'legend', 'data-testid': 'graph-legend' },
    h('h3', null, 'Nodes'),
    h(
      'ul',
      null,
      row(shape('<rect x="4" y="3" width="18" height="16" rx="4" fill="#fff" stroke="#3e8635" stroke-width="2.5"/>'), 'Workload'),
      row(shape('<rect x="4" y="4" width="18" height="14" fill="#fff" stroke="#3e8635" stroke-width="2.5"/>'), 'App'),
      row(shape('<polygon points="13,2 23,20 3,20" fill="#fff" stroke="#3e8635" stroke-width="2.5"/>'), 'Service'),
      row(shape(`<polygon points="13,1 24,11 13,21 2,11" fill="#efe4f8" stroke="${UNKNOWN_COLOR}" stroke-width="2" stroke-dasharray="3 2"/>`), 'Unknown source'),
      row(shape('<rect x="4" y="3" width="18" height="16" rx="4" fill="#f0f0f0" stroke="#8a8d90" stroke-width="2.5"/>'), 'Outside the selected namespaces'),
    ),
    h('h3', null, 'Node border: health'),
    h(
      'ul',
      { class: 'legend-inline' },
      ...(['Healthy', 'Degraded', 'Failure', 'NA'] as const).map((s) =>
        row(shape(`<rect x="4" y="3" width="18" height="16" rx="4" fill="#fff" stroke="${HEALTH_COLORS[s]}" stroke-width="3"/>`), s === 'NA' ? 'No data' : s),
      ),
    ),
    h('h3', null, 'Edges'),
    h(
      'ul',
      null,
      row(line(HEALTH_COLORS.Healthy), 'Healthy'),
      row(line(HEALTH_COLORS.Degraded), 'Degraded: some errors'),
      row(line(HEALTH_COLORS.Failure), 'Failure: many errors'),
      row(line(IDLE_COLOR), 'No traffic'),
      row(line(TCP_COLOR, true), 'TCP'),
    ),
    h('p', { class: 'muted small' }, 'Thicker edges carry more requests.'),
    h('h3', null, 'Badges'),
    h('ul', null, ...(Object.keys(BADGES) as BadgeKind[]).map((k) => row(badgeIcon(k, 18), BADGES[k].label))),
  );
}
