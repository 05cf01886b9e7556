// Alert rules from GET /api/v1/alerts/rules, normalised for the table.

export interface AlertRule {
  id: string | number;
  name?: string;
  expression?: string;
  condition?: unknown;
  severity?: string;
  enabled?: boolean;
  lastState?: string | null;
  lastEvaluatedAt?: string | null;
  [key: string]: unknown;
}

export type RuleState = 'firing' | 'pending' | 'ok' | 'error' | 'unknown';

export interface RuleRow {
  id: string;
  name: string;
  condition: string;
  severity: string;
  enabled: boolean;
  state: RuleState;
  /** ms since the epoch, null when never evaluated */
  lastEvaluatedAt: number | null;
}

const STATES: Record<string, RuleState> = {
  firing: 'firing',
  alerting: 'firing',
  alert: 'firing',
  pending: 'pending',
  ok: 'ok',
  normal: 'ok',
  inactive: 'ok',
  resolved: 'ok',
  error: 'error',
  failed: 'error',
};

export function ruleState(value: unknown): RuleState {
  return typeof value === 'string' ? (STATES[value.toLowerCase()] ?? 'unknown') : 'unknown';
}

/** The rule's condition as one line: its expression, or the condition's fields. */
export function conditionText(rule: AlertRule): string {
  if (typeof rule.expression === 'string' && rule.expression) return rule.expression;
  const c = rule.condition;
  if (typeof c === 'string') return c;
  if (c && typeof c === 'object') {
    return Object.entries(c as Record<string, unknown>)
      .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
      .join(' ');
  }
  return '';
}

/** Rows from the API's body: DRF's `{results: [...]}` or a bare list. */
export function normalizeRules(body: unknown): RuleRow[] {
  const list = Array.isArray(body)
    ? body
    : body && typeof body === 'object' && Array.isArray((body as { results?: unknown }).results)
      ? (body as { results: unknown[] }).results
      : [];
  return (list as AlertRule[])
    .filter((r) => r && typeof r === 'object')
    .map((r) => {
      const at = r.lastEvaluatedAt ? Date.parse(r.lastEvaluatedAt) : Number.NaN;
      return {
        id: String(r.id ?? r.name ?? ''),
        name: r.name || String(r.id ?? ''),
        condition: conditionText(r),
        severity: (r.severity || 'none').toLowerCase(),
        enabled: r.enabled !== false,
        state: ruleState(r.lastState),
        lastEvaluatedAt: Number.isNaN(at) ? null : at,
      };
    });
}

const STATE_ORDER: RuleState[] = ['firing', 'error', 'pending', 'ok', 'unknown'];
const SEVERITY_ORDER = ['critical', 'error', 'warning', 'info', 'none'];

function rank(order: string[], value: string): number {
  const i = order.indexOf(value);
  return i < 0 ? order.length : i;
}

/** Firing first, then errors and pending; within a state, the most severe first. */
export function sortRules(rows: RuleRow[]): RuleRow[] {
  return [...rows].sort(
    (a, b) =>
      Number(b.enabled) - Number(a.enabled) ||
      rank(STATE_ORDER, a.state) - rank(STATE_ORDER, b.state) ||
      rank(SEVERITY_ORDER, a.severity) - rank(SEVERITY_ORDER, b.severity) ||
      a.name.localeCompare(b.name),
  );
}
