// Times as the pages show them.

/** "just now", "42s ago", "5m ago", "3h ago", "2d ago"; "in the future" for clock skew. */
export function formatAgo(thenMs: number, nowMs: number): string {
  const diff = nowMs - thenMs;
  if (!Number.isFinite(diff)) return '';
  if (diff < -5000) return 'in the future';
  const s = Math.max(0, Math.floor(diff / 1000));
  if (s < 5) return 'just now';
  if (s < 60) return `${s}s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ago`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ago`;
  return `${Math.floor(h / 24)}d ago`;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** Local date and time to the millisecond: "2025-11-26 01:20:00.123". */
export function formatDateTime(ms: number): string {
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return '';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** Local time of day: "01:20:00". */
export function formatClock(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
