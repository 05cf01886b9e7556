// Trace result rows and the scatter plot above them (search results and the live tail share both).
import { Link } from 'react-router';
import { formatAgo, formatDateTime } from '../ui/time';
import { serviceColors } from './model/colors';
import { formatDuration } from './model/duration';
import { scatterPlot } from './model/scatter';
import type { TraceSummaryRow } from './model/summary';

export function traceHref(traceID: string): string {
  return `/traces/${encodeURIComponent(traceID)}`;
}

export function ServiceChip({ name, text, error }: { name: string; text: string; error?: boolean }) {
  return (
    <span className={`service-chip${error ? ' chip-error' : ''}`} style={{ '--svc': serviceColors.get(name) } as React.CSSProperties}>
      {text}
    </span>
  );
}

export function ResultRow({
  row,
  maxDuration,
  nowMs,
  fresh = false,
  picked,
  onPick,
}: {
  row: TraceSummaryRow;
  maxDuration: number;
  nowMs: number;
  fresh?: boolean;
  /** chosen for the compare */
  picked: boolean;
  onPick: (picked: boolean) => void;
}) {
  const width = maxDuration > 0 ? Math.max(0.5, (row.duration / maxDuration) * 100) : 0;
  return (
    <div className="result-wrap">
      <label className="compare-pick" title="Compare this trace">
        <input type="checkbox" data-testid="compare-pick" checked={picked} onChange={(e) => onPick(e.target.checked)} />
      </label>
      <Link
      className={`result-row${fresh ? ' fresh' : ''}${row.errorCount ? ' has-errors' : ''}`}
      to={traceHref(row.traceID)}
      data-testid="trace-row"
      data-trace-id={row.traceID}
    >
      <div className="result-head">
        <span className="result-title">
          <strong>{row.rootServiceName || 'unknown'}</strong>: {row.rootOperationName || '(no root span)'}
          <span className="trace-id">{row.traceID.slice(0, 7)}</span>
        </span>
        <span className="result-bar">
          <span style={{ width: `${width.toFixed(2)}%` }} />
        </span>
        <span className="result-duration">{formatDuration(row.duration)}</span>
      </div>
      <div className="result-body">
        <span className="result-counts">
          {row.spanCount} span{row.spanCount === 1 ? '' : 's'}
          {row.errorCount ? (
            <span className="error-count">
              {row.errorCount} error{row.errorCount === 1 ? '' : 's'}
            </span>
          ) : null}
        </span>
        <span className="service-chips">
          {row.services.map((s) => (
            <ServiceChip key={s.name} name={s.name} text={`${s.name} (${s.spanCount})`} error={s.errorCount > 0} />
          ))}
        </span>
        <span className="result-time">
          <span>{formatDateTime(row.startTime / 1000)}</span>
          <span className="muted">{formatAgo(row.startTime / 1000, nowMs)}</span>
        </span>
      </div>
      </Link>
    </div>
  );
}

export function Scatter({ rows, width, onPick }: { rows: TraceSummaryRow[]; width: number; onPick: (traceID: string) => void }) {
  const height = 170;
  const box = { width, height, left: 64, right: 36, top: 12, bottom: 26 };
  const plot = scatterPlot(rows, box);
  return (
    <svg className="scatter" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label="Trace durations over time" data-testid="scatter-plot">
      {plot.yTicks.map((t) => (
        <g key={`y${t.label}`}>
          <line x1={box.left} x2={width - box.right} y1={t.position} y2={t.position} className="grid" />
          <text x={box.left - 6} y={t.position + 3} textAnchor="end" className="axis">
            {t.label}
          </text>
        </g>
      ))}
      {plot.xTicks.map((t) => (
        <text key={`x${t.label}`} x={t.position} y={height - 8} textAnchor="middle" className="axis">
          {t.label}
        </text>
      ))}
      {plot.points.map((p) => (
        <circle
          key={p.traceID}
          cx={p.x.toFixed(1)}
          cy={p.y.toFixed(1)}
          r={p.r.toFixed(1)}
          className={p.error ? 'point point-error' : 'point'}
          data-trace-id={p.traceID}
          onClick={() => onPick(p.traceID)}
        >
          <title>{p.title}</title>
        </circle>
      ))}
    </svg>
  );
}
