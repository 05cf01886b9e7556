// Number formatting for graph labels and panels.

/** A Kiali rate string ("12.34") or number as a number; anything unreadable is 0. */
export function parseRate(value: string | number | undefined | null): number {
  if (value === undefined || value === null || value === '') return 0;
  const n = typeof value === 'number' ? value : Number.parseFloat(value);
  return Number.isFinite(n) ? n : 0;
}

function trimZeros(s: string): string {
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

/** Requests per second: "0rps", "0.005rps", "3.25rps", "42.5rps", "1250rps". */
export function formatRps(rps: number): string {
  if (!Number.isFinite(rps) || rps <= 0) return '0rps';
  if (rps < 0.001) return '<0.001rps';
  let digits = 0;
  if (rps < 0.01) digits = 3;
  else if (rps < 10) digits = 2;
  else if (rps < 100) digits = 1;
  return `${trimZeros(rps.toFixed(digits))}rps`;
}

/** A percentage with one decimal at most: "100%", "12.5%", "0.3%", "<0.1%". */
export function formatPercent(pct: number): string {
  if (!Number.isFinite(pct) || pct <= 0) return '0%';
  if (pct < 0.1) return '<0.1%';
  return `${trimZeros(pct.toFixed(1))}%`;
}

/** Milliseconds: "0.45ms", "7.5ms", "120ms", "1.25s". */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  if (ms < 1) return `${trimZeros(ms.toFixed(2))}ms`;
  if (ms < 10) return `${trimZeros(ms.toFixed(1))}ms`;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  return `${trimZeros((ms / 1000).toFixed(2))}s`;
}

/** Bytes per second with SI prefixes: "512B/s", "1.5kB/s", "2.25MB/s". */
export function formatBytesRate(bps: number): string {
  if (!Number.isFinite(bps) || bps <= 0) return '0B/s';
  const units = ['B/s', 'kB/s', 'MB/s', 'GB/s'];
  let value = bps;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  const digits = unit === 0 ? 0 : value < 10 ? 2 : 1;
  return `${trimZeros(value.toFixed(digits))}${units[unit]}`;
}

/** Graph duration in seconds as the toolbar names it: 60 -> "1m", 3600 -> "1h". */
export function formatWindow(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}
