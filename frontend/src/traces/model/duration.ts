// Durations: Go duration strings as the Jaeger API takes them, and display of µs values.

const UNIT_US: Record<string, number> = {
  ns: 0.001,
  us: 1,
  'µs': 1,
  'μs': 1,
  ms: 1000,
  s: 1_000_000,
  m: 60_000_000,
  h: 3_600_000_000,
};

/**
 * A Go duration ("1.5ms", "300us", "2s", "1h30m", "4500ns") in microseconds, or null when the
 * text is not one. A bare "0" is zero, as in Go.
 */
export function parseGoDuration(text: string): number | null {
  const s = text.trim();
  if (s === '0') return 0;
  if (!s) return null;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) {
    total += Number.parseFloat(m[1]) * UNIT_US[m[2]];
    matched = re.lastIndex;
  }
  return matched === s.length ? total : null;
}

function trim(value: number, digits: number): string {
  const s = value.toFixed(digits);
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

/** A duration in µs as people read it: "850µs", "1.25ms", "48ms", "2.5s", "1m 5s", "2h 3m". */
export function formatDuration(us: number): string {
  if (!Number.isFinite(us) || us < 0) return '-';
  if (us < 1) return `${trim(us * 1000, 0)}ns`;
  if (us < 1000) return `${trim(us, us < 10 ? 2 : 0)}µs`;
  if (us < 1_000_000) {
    const ms = us / 1000;
    return `${trim(ms, ms < 10 ? 2 : ms < 100 ? 1 : 0)}ms`;
  }
  if (us < 60_000_000) return `${trim(us / 1_000_000, 2)}s`;
  if (us < 3_600_000_000) {
    const minutes = Math.floor(us / 60_000_000);
    const seconds = Math.round((us % 60_000_000) / 1_000_000);
    return seconds ? `${minutes}m ${seconds}s` : `${minutes}m`;
  }
  const hours = Math.floor(us / 3_600_000_000);
  const minutes = Math.round((us % 3_600_000_000) / 60_000_000);
  return minutes ? `${hours}h ${minutes}m` : `${hours}h`;
}

/** Tick labels for a timeline of `total` µs split in `parts`: ["0µs", "12ms", ...]. */
export function timelineTicks(total: number, parts = 4): { fraction: number; label: string }[] {
  const ticks = [];
  for (let i = 0; i <= parts; i += 1) {
    const fraction = i / parts;
    ticks.push({ fraction, label: i === 0 ? '0' : formatDuration(total * fraction) });
  }
  return ticks;
}
