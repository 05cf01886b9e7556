// The side panel's charts over the graph's window (Kiali's node and edge panels): request rate
// and errors, response-time percentiles, TCP bytes. Drawn with uPlot.
import { useEffect, useMemo, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { getJson, isAbort } from '../api/http';
import { formatBytesRate, formatMs, formatRps } from './model/format';
import type { GraphSeries } from './model/series';

interface Line {
  label: string;
  values: (number | null)[];
  color: string;
}

function Chart({ title, timestamps, lines, format, testid }: { title: string; timestamps: number[]; lines: Line[]; format: (v: number) => string; testid: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const plot = new uPlot(
      {
        width: Math.max(200, el.clientWidth),
        height: 110,
        legend: { show: true, live: false },
        cursor: { show: true, points: { size: 5 } },
        scales: { x: { time: true } },
        axes: [
          { size: 24, font: '10px system-ui', ticks: { size: 3 }, grid: { stroke: '#eceef0' } },
          { size: 52, font: '10px system-ui', values: (_u, splits) => splits.map((v) => format(v)), grid: { stroke: '#eceef0' } },
        ],
        series: [{}, ...lines.map((l) => ({ label: l.label, stroke: l.color, width: 1.5, fill: `${l.color}22`, value: (_u: uPlot, v: number | null) => (v === null ? '-' : format(v)) }))],
      },
      [timestamps, ...lines.map((l) => l.values)] as uPlot.AlignedData,
      el,
    );
    const observer = new ResizeObserver(() => plot.setSize({ width: Math.max(200, el.clientWidth), height: 110 }));
    observer.observe(el);
    return () => {
      observer.disconnect();
      plot.destroy();
    };
  }, [timestamps, lines, format]);
  return (
    <div className="panel-chart" data-testid={testid}>
      <h4>{title}</h4>
      <div ref={box} />
    </div>
  );
}

/** The charts of a node or an edge; `query` null: it has no series (a box). */
export function SeriesCharts({ query, tcp, refresh }: { query: URLSearchParams | null; tcp: boolean; refresh: number }) {
  const [series, setSeries] = useState<GraphSeries | null>(null);
  const [error, setError] = useState('');
  const url = query ? `/api/v1/graph/metrics?${query.toString()}` : '';
  useEffect(() => {
    if (!url) return;
    const controller = new AbortController();
    getJson<GraphSeries>(url, controller.signal)
      .then((s) => {
        setSeries(s);
        setError('');
      })
      .catch((err) => {
        if (!isAbort(err)) setError((err as Error).message);
      });
    return () => controller.abort();
  }, [url, refresh]);
  const lines = useMemo(
    () =>
      series && {
        tcp: [
          { label: 'sent', values: series.tcpSentRate, color: '#0066cc' },
          { label: 'received', values: series.tcpReceivedRate, color: '#6a2e9c' },
        ],
        requests: [
          { label: 'requests', values: series.requestRate, color: '#3e8635' },
          { label: 'errors', values: series.errorRate, color: '#c9190b' },
        ],
        latency: [
          { label: 'p50', values: series.p50, color: '#8a8d90' },
          { label: 'p95', values: series.p95, color: '#ec7a08' },
          { label: 'p99', values: series.p99, color: '#c9190b' },
        ],
      },
    [series],
  );
  if (!url) return null;
  if (error) return <p className="muted small">The charts could not be loaded: {error}</p>;
  if (!series || !lines) return <p className="muted small">Loading the charts…</p>;
  return (
    <div className="panel-charts" data-testid="panel-charts">
      {tcp ? (
        <Chart
          title="TCP traffic"
          testid="chart-tcp"
          timestamps={series.timestamps}
          format={formatBytesRate}
          lines={lines.tcp}
        />
      ) : (
        <>
          <Chart
            title="Request rate"
            testid="chart-requests"
            timestamps={series.timestamps}
            format={formatRps}
            lines={lines.requests}
          />
          <Chart
            title="Response time"
            testid="chart-latency"
            timestamps={series.timestamps}
            format={formatMs}
            lines={lines.latency}
          />
        </>
      )}
    </div>
  );
}
