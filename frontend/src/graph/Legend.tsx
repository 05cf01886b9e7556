// The legend: what the canvas's shapes, colours and badges mean.
import { BADGES, badgeIcon, type BadgeKind } from './model/badges';
import { HEALTH_COLORS, IDLE_COLOR, TCP_COLOR } from './model/health';
import { UNKNOWN_COLOR } from './style';

function Shape({ children }: { children: React.ReactNode }) {
  return (
    <span className="legend-icon">
      <svg width="26" height="22" viewBox="0 0 26 22" aria-hidden="true">
        {children}
      </svg>
    </span>
  );
}

function Line({ color, dashed = false }: { color: string; dashed?: boolean }) {
  return (
    <span className="legend-icon">
      <svg width="34" height="12" viewBox="0 0 34 12" aria-hidden="true">
        <line x1="2" y1="6" x2="26" y2="6" stroke={color} strokeWidth="3" strokeDasharray={dashed ? '5 3' : undefined} />
        <path d="M26 2 L33 6 L26 10z" fill={color} />
      </svg>
    </span>
  );
}

const box = (stroke: string, fill = '#fff') => <rect x="4" y="3" width="18" height="16" rx="4" fill={fill} stroke={stroke} strokeWidth="2.5" />;

export function Legend() {
  return (
    <div className="legend" data-testid="graph-legend">
      <h3>Nodes</h3>
      <ul>
        <li><Shape>{box('#3e8635')}</Shape><span>Workload</span></li>
        <li><Shape><rect x="4" y="4" width="18" height="14" fill="#fff" stroke="#3e8635" strokeWidth="2.5" /></Shape><span>App</span></li>
        <li><Shape><polygon points="13,2 23,20 3,20" fill="#fff" stroke="#3e8635" strokeWidth="2.5" /></Shape><span>Service</span></li>
        <li>
          <Shape><polygon points="13,1 24,11 13,21 2,11" fill="#efe4f8" stroke={UNKNOWN_COLOR} strokeWidth="2" strokeDasharray="3 2" /></Shape>
          <span>Unknown source</span>
        </li>
        <li><Shape>{box('#8a8d90', '#f0f0f0')}</Shape><span>Outside the selected namespaces</span></li>
      </ul>
      <h3>Node border: health</h3>
      <ul className="legend-inline">
        {(['Healthy', 'Degraded', 'Failure', 'NA'] as const).map((s) => (
          <li key={s}>
            <Shape><rect x="4" y="3" width="18" height="16" rx="4" fill="#fff" stroke={HEALTH_COLORS[s]} strokeWidth="3" /></Shape>
            <span>{s === 'NA' ? 'No data' : s}</span>
          </li>
        ))}
      </ul>
      <h3>Edges</h3>
      <ul>
        <li><Line color={HEALTH_COLORS.Healthy} /><span>Healthy</span></li>
        <li><Line color={HEALTH_COLORS.Degraded} /><span>Degraded: some errors</span></li>
        <li><Line color={HEALTH_COLORS.Failure} /><span>Failure: many errors</span></li>
        <li><Line color={IDLE_COLOR} /><span>No traffic</span></li>
        <li><Line color={TCP_COLOR} dashed /><span>TCP</span></li>
      </ul>
      <p className="muted small">Thicker edges carry more requests.</p>
      <h3>Badges</h3>
      <ul>
        {(Object.keys(BADGES) as BadgeKind[]).map((k) => (
          <li key={k}>
            <span className="legend-icon" dangerouslySetInnerHTML={{ __html: badgeIcon(k, 18) }} />
            <span>{BADGES[k].label}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}
