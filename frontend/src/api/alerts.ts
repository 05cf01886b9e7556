// meshview's alerting API: /api/v1/alerts/{rules,receivers,silences,deliveries} and the alerts.
import { getJson, sendJson } from './http';

export interface Selector {
  namespace?: string;
  workload?: string;
  app?: string;
  service?: string;
  source?: Record<string, string>;
  destination?: Record<string, string>;
}

export interface Rule {
  id: number;
  name: string;
  kind: string;
  selector: Selector;
  threshold: number;
  window: string;
  for: string;
  errors: string;
  quantile: string;
  op: string;
  source: string;
  severity: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  receivers: string[];
  enabled: boolean;
  state: string;
  health: string;
  last_error: string;
  evaluated_at: string | null;
}

export type RuleBody = Omit<Rule, 'id' | 'state' | 'health' | 'last_error' | 'evaluated_at'>;

export interface Transition {
  state: string;
  value: number;
  at: string;
}

export interface Alert {
  id: number;
  rule: number;
  rule_name: string;
  severity: string;
  fingerprint: string;
  state: string;
  value: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  silenced: boolean;
  active_since: string;
  fired_at: string | null;
  ended_at: string | null;
  links: { graph: string; traces: string };
  history: Transition[];
}

export interface Receiver {
  id: number;
  name: string;
  kind: string;
  url: string;
  has_secret: boolean;
  header_names: string[];
  group_interval: string;
}

export interface Silence {
  id: number;
  matchers: { name: string; value: string; isRegex: boolean; isEqual: boolean }[];
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
  status: { state: string };
}

export interface Attempt {
  number: number;
  started_at: string;
  outcome: string;
  status_code: number | null;
  latency_ms: number | null;
  error: string;
  response_excerpt: string;
}

export interface Delivery {
  id: number;
  receiver: string;
  receiver_kind: string;
  rule: number | null;
  status: string;
  state: string;
  created_at: string;
  delivered_at: string | null;
  alerts: { fingerprint: string; status: string; labels: Record<string, string> }[];
  attempts: Attempt[];
}

export interface Finding {
  labels: Record<string, string>;
  value: number;
  breached: boolean;
  wouldBe: string;
}

interface Page<T> {
  results: T[];
}

const BASE = '/api/v1/alerts';

async function list<T>(url: string, signal?: AbortSignal): Promise<T[]> {
  const body = await getJson<Page<T> | T[]>(url, signal);
  return Array.isArray(body) ? body : (body?.results ?? []);
}

export const fetchRules = (signal?: AbortSignal) => list<Rule>(`${BASE}/rules?limit=500`, signal);
export const fetchReceivers = (signal?: AbortSignal) => list<Receiver>(`${BASE}/receivers?limit=500`, signal);
export const fetchSilences = (signal?: AbortSignal) => list<Silence>(`${BASE}/silences?limit=200`, signal);
export const fetchDeliveries = (signal?: AbortSignal) => list<Delivery>(`${BASE}/deliveries?limit=100`, signal);
export const fetchAlerts = (query: string, signal?: AbortSignal) => list<Alert>(`${BASE}?${query}`, signal);

export const createRule = (body: RuleBody) => sendJson<Rule>('POST', `${BASE}/rules`, body);
export const updateRule = (id: number, body: Partial<RuleBody>) => sendJson<Rule>('PATCH', `${BASE}/rules/${id}`, body);
export const deleteRule = (id: number) => sendJson<null>('DELETE', `${BASE}/rules/${id}`);
export const testRule = (body: RuleBody) => sendJson<Finding[]>('POST', `${BASE}/rules/test`, body);
export const createSilence = (body: Omit<Silence, 'id' | 'status' | 'createdBy' | 'startsAt'> & { startsAt?: string }) =>
  sendJson<Silence>('POST', `${BASE}/silences`, body);
export const expireSilence = (id: number) => sendJson<null>('DELETE', `${BASE}/silences/${id}`);
