// The trace search form: its values in the page URL, the tags it accepts (logfmt), and the
// query it sends to /jaeger/api/traces.
import { parseGoDuration } from './duration';

export interface SearchForm {
  service: string;
  /** '' for all operations */
  operation: string;
  /** logfmt: `http.status_code=500 error=true user="a b"` */
  tags: string;
  lookback: string;
  minDuration: string;
  maxDuration: string;
  limit: number;
  /** A fixed window in µs since the epoch (a link from the graph); null: the lookback. */
  start: number | null;
  end: number | null;
}

export const LOOKBACKS = [
  { value: '5m', label: 'Last 5 minutes', us: 5 * 60e6 },
  { value: '15m', label: 'Last 15 minutes', us: 15 * 60e6 },
  { value: '1h', label: 'Last hour', us: 3600e6 },
  { value: '2h', label: 'Last 2 hours', us: 2 * 3600e6 },
  { value: '6h', label: 'Last 6 hours', us: 6 * 3600e6 },
  { value: '12h', label: 'Last 12 hours', us: 12 * 3600e6 },
  { value: '1d', label: 'Last 24 hours', us: 24 * 3600e6 },
  { value: '2d', label: 'Last 2 days', us: 48 * 3600e6 },
] as const;

export const DEFAULT_FORM: SearchForm = {
  service: '',
  operation: '',
  tags: '',
  lookback: '1h',
  minDuration: '',
  maxDuration: '',
  limit: 20,
  start: null,
  end: null,
};

export const MAX_LIMIT = 1500;

export interface ParsedTags {
  tags: Record<string, string>;
  errors: string[];
}

/**
 * logfmt pairs separated by spaces: `k=v`, `k="quoted value"` (with \" and \\ escapes), and a
 * bare `k`, which means `k=true` as in logfmt.
 */
export function parseTags(text: string): ParsedTags {
  const tags: Record<string, string> = {};
  const errors: string[] = [];
  let i = 0;
  const s = text;
  while (i < s.length) {
    while (i < s.length && /\s/.test(s[i])) i += 1;
    if (i >= s.length) break;
    const keyStart = i;
    while (i < s.length && s[i] !== '=' && !/\s/.test(s[i])) i += 1;
    const key = s.slice(keyStart, i);
    if (s[i] !== '=') {
      if (key.startsWith('"')) errors.push(`a tag key cannot be quoted: ${key}`);
      else tags[key] = 'true';
      continue;
    }
    i += 1; // '='
    if (!key) {
      errors.push(`a value without a key at position ${keyStart + 1}`);
    }
    let value = '';
    if (s[i] === '"') {
      i += 1;
      let closed = false;
      while (i < s.length) {
        const c = s[i];
        if (c === '\\' && i + 1 < s.length) {
          value += s[i + 1];
          i += 2;
        } else if (c === '"') {
          closed = true;
          i += 1;
          break;
        } else {
          value += c;
          i += 1;
        }
      }
      if (!closed) errors.push(`unterminated quote in the value of ${key}`);
    } else {
      const valueStart = i;
      while (i < s.length && !/\s/.test(s[i])) i += 1;
      value = s.slice(valueStart, i);
    }
    if (key) tags[key] = value;
  }
  return { tags, errors };
}

export interface FormProblems {
  tags?: string;
  minDuration?: string;
  maxDuration?: string;
  limit?: string;
}

/** Problems to show next to the form's fields; empty when it can be sent. */
export function validateForm(form: SearchForm): FormProblems {
  const problems: FormProblems = {};
  const parsed = parseTags(form.tags);
  if (parsed.errors.length) problems.tags = parsed.errors[0];
  const min = form.minDuration.trim() ? parseGoDuration(form.minDuration) : 0;
  const max = form.maxDuration.trim() ? parseGoDuration(form.maxDuration) : Infinity;
  if (min === null) problems.minDuration = 'Use a duration such as 1.2s, 100ms or 500us';
  if (max === null) problems.maxDuration = 'Use a duration such as 1.2s, 100ms or 500us';
  if (min !== null && max !== null && min > max) problems.maxDuration = 'Max duration is below min duration';
  if (!Number.isInteger(form.limit) || form.limit < 1 || form.limit > MAX_LIMIT) {
    problems.limit = `Between 1 and ${MAX_LIMIT}`;
  }
  return problems;
}

export function lookbackUs(lookback: string): number {
  return LOOKBACKS.find((l) => l.value === lookback)?.us ?? 3600e6;
}

/** The query string of GET /jaeger/api/traces for the form at `nowUs` (µs since the epoch). */
export function buildTraceQuery(form: SearchForm, nowUs: number): URLSearchParams {
  const p = new URLSearchParams();
  if (form.service) p.set('service', form.service);
  if (form.operation) p.set('operation', form.operation);
  const { tags } = parseTags(form.tags);
  if (Object.keys(tags).length) p.set('tags', JSON.stringify(tags));
  if (form.start !== null && form.end !== null) {
    p.set('start', String(form.start));
    p.set('end', String(form.end));
    p.set('lookback', 'custom');
  } else {
    const end = Math.floor(nowUs);
    p.set('start', String(end - lookbackUs(form.lookback)));
    p.set('end', String(end));
    p.set('lookback', form.lookback);
  }
  if (form.minDuration.trim()) p.set('minDuration', form.minDuration.trim());
  if (form.maxDuration.trim()) p.set('maxDuration', form.maxDuration.trim());
  p.set('limit', String(form.limit));
  return p;
}

/** The form from the page's query string (`/traces?service=...`). */
export function formFromSearch(search: string): SearchForm {
  const p = new URLSearchParams(search);
  const limit = Number.parseInt(p.get('limit') ?? '', 10);
  const lookback = p.get('lookback') ?? DEFAULT_FORM.lookback;
  return {
    service: p.get('service') ?? '',
    operation: p.get('operation') ?? '',
    tags: p.get('tags') ?? '',
    lookback: LOOKBACKS.some((l) => l.value === lookback) ? lookback : DEFAULT_FORM.lookback,
    minDuration: p.get('minDuration') ?? '',
    maxDuration: p.get('maxDuration') ?? '',
    limit: Number.isInteger(limit) && limit > 0 ? Math.min(limit, MAX_LIMIT) : DEFAULT_FORM.limit,
    ...customRange(p.get('start'), p.get('end')),
  };
}

function customRange(start: string | null, end: string | null): { start: number | null; end: number | null } {
  const s = Number(start);
  const e = Number(end);
  return start && end && Number.isSafeInteger(s) && Number.isSafeInteger(e) && s > 0 && s < e ? { start: s, end: e } : { start: null, end: null };
}

/** The page's query string for a form; empty fields are left out. */
export function formToSearch(form: SearchForm): string {
  const p = new URLSearchParams();
  if (form.service) p.set('service', form.service);
  if (form.operation) p.set('operation', form.operation);
  if (form.tags.trim()) p.set('tags', form.tags.trim());
  if (form.lookback !== DEFAULT_FORM.lookback) p.set('lookback', form.lookback);
  if (form.minDuration.trim()) p.set('minDuration', form.minDuration.trim());
  if (form.maxDuration.trim()) p.set('maxDuration', form.maxDuration.trim());
  if (form.limit !== DEFAULT_FORM.limit) p.set('limit', String(form.limit));
  if (form.start !== null && form.end !== null) {
    p.set('start', String(form.start));
    p.set('end', String(form.end));
  }
  const s = p.toString();
  return s ? `?${s}` : '';
}
