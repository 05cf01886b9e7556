// The results scatter plot: each trace at (start time, duration), sized by its span count.
import { formatDuration } from './duration';
import type { TraceSummaryRow } from './summary';

export interface ScatterPoint {
  traceID: string;
  x: number;
  y: number;
  r: number;
  error: boolean;
  title: string;
}

export interface ScatterAxis {
  value: number;
  position: number;
  label: string;
}

export interface ScatterPlot {
  points: ScatterPoint[];
  xTicks: ScatterAxis[];
  yTicks: ScatterAxis[];
}

export interface PlotBox {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

function clock(us: number): string {
  const d = new Date(us / 1000);
  return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
}

/** Lay the traces out in `box`; times grow to the right, durations upwards from 0. */
export function scatterPlot(rows: TraceSummaryRow[], box: PlotBox, ticks = 4): ScatterPlot {
  const innerW = box.width - box.left - box.right;
  const innerH = box.height - box.top - box.bottom;
  if (!rows.length) return { points: [], xTicks: [], yTicks: [] };
  let minT = Infinity;
  let maxT = -Infinity;
  let maxD = 0;
  let maxSpans = 1;
  for (const row of rows) {
    minT = Math.min(minT, row.startTime);
    maxT = Math.max(maxT, row.startTime);
    maxD = Math.max(maxD, row.duration);
    maxSpans = Math.max(maxSpans, row.spanCount);
  }
  if (maxT === minT) {
    minT -= 30e6;
    maxT += 30e6;
  }
  if (maxD === 0) maxD = 1;
  const x = (t: number) => box.left + ((t - minT) / (maxT - minT)) * innerW;
  const y = (d: number) => box.top + innerH - (d / maxD) * innerH;
  const points = rows.map((row) => ({
    traceID: row.traceID,
    x: x(row.startTime),
    y: y(row.duration),
    r: 3 + 6 * Math.sqrt(row.spanCount / maxSpans),
    error: row.errorCount > 0,
    title: `${row.rootServiceName}: ${row.rootOperationName} · ${formatDuration(row.duration)} · ${row.spanCount} spans`,
  }));
  const xTicks: ScatterAxis[] = [];
  const yTicks: ScatterAxis[] = [];
  for (let i = 0; i <= ticks; i += 1) {
    const t = minT + ((maxT - minT) * i) / ticks;
    xTicks.push({ value: t, position: x(t), label: clock(t) });
    const d = (maxD * i) / ticks;
    yTicks.push({ value: d, position: y(d), label: i === 0 ? '0' : formatDuration(d) });
  }
  return { points, xTicks, yTicks };
}
