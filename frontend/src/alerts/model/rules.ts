// Alert rules between the API's shape and the page's: the editor's form, one-line summaries,
// the state a rule shows, and DRF's field errors.
import type { Rule, RuleBody, Selector } from '../../api/alerts';

export const KINDS = [
  { value: 'error_rate', label: 'Error rate' },
  { value: 'latency', label: 'Latency' },
  { value: 'request_rate', label: 'Request rate' },
  { value: 'unknown_traffic', label: 'Traffic from unknown' },
  { value: 'missing_sidecar', label: 'Missing sidecar' },
  { value: 'reporter_silent', label: 'Silent reporter' },
] as const;

/** Kinds whose condition has a threshold the user sets. */
export const THRESHOLD_KINDS = new Set(['error_rate', 'latency', 'request_rate', 'unknown_traffic']);

export const SEVERITIES = ['critical', 'warning', 'info'] as const;

export interface RuleForm {
  name: string;
  kind: string;
  /** a node (namespace, workload, app, service) or an edge (a source too) */
  target: 'node' | 'edge';
  namespace: string;
  workload: string;
  app: string;
  service: string;
  sourceNamespace: string;
  sourceWorkload: string;
  sourceApp: string;
  threshold: string;
  window: string;
  for: string;
  errors: string;
  quantile: string;
  op: string;
  source: string;
  severity: string;
  receivers: string[];
  enabled: boolean;
  summary: string;
}

export function emptyForm(): RuleForm {
  return {
    name: '',
    kind: 'error_rate',
    target: 'node',
    namespace: '',
    workload: '',
    app: '',
    service: '',
    sourceNamespace: '',
    sourceWorkload: '',
    sourceApp: '',
    threshold: '5',
    window: '5m',
    for: '0s',
    errors: '5xx',
    quantile: 'p99',
    op: 'above',
    source: 'auto',
    severity: 'warning',
    receivers: [],
    enabled: true,
    summary: '',
  };
}

export function formFromRule(rule: Rule): RuleForm {
  const edge = Boolean(rule.selector.source || rule.selector.destination);
  const node: Record<string, string | undefined> = (edge ? rule.selector.destination : rule.selector) as Record<string, string | undefined>;
  const source = rule.selector.source ?? {};
  return {
    ...emptyForm(),
    name: rule.name,
    kind: rule.kind,
    target: edge ? 'edge' : 'node',
    namespace: node?.namespace ?? '',
    workload: node?.workload ?? '',
    app: node?.app ?? '',
    service: node?.service ?? '',
    sourceNamespace: source.namespace ?? '',
    sourceWorkload: source.workload ?? '',
    sourceApp: source.app ?? '',
    threshold: String(rule.threshold),
    window: rule.window,
    for: rule.for,
    errors: rule.errors,
    quantile: rule.quantile,
    op: rule.op,
    source: rule.source,
    severity: rule.severity,
    receivers: [...rule.receivers],
    enabled: rule.enabled,
    summary: rule.annotations.summary ?? '',
  };
}

function keys(entries: [string, string][]): Record<string, string> {
  return Object.fromEntries(entries.map(([k, v]) => [k, v.trim()]).filter(([, v]) => v));
}

/** The API body of a form: empty selector keys are left out (they match everything). */
export function formToBody(form: RuleForm, annotations: Record<string, string> = {}): RuleBody {
  const node = keys([
    ['namespace', form.namespace],
    ['workload', form.workload],
    ['app', form.app],
    ['service', form.service],
  ]);
  const selector: Selector =
    form.target === 'edge'
      ? {
          source: keys([
            ['namespace', form.sourceNamespace],
            ['workload', form.sourceWorkload],
            ['app', form.sourceApp],
          ]),
          destination: node,
        }
      : node;
  const rest = { ...annotations };
  delete rest.summary;
  return {
    name: form.name.trim(),
    kind: form.kind,
    selector,
    threshold: form.threshold.trim() === '' ? 0 : Number(form.threshold),
    window: form.window.trim(),
    for: form.for.trim(),
    errors: form.errors,
    quantile: form.quantile,
    op: form.op,
    source: form.source,
    severity: form.severity,
    labels: {},
    annotations: form.summary.trim() ? { ...rest, summary: form.summary.trim() } : rest,
    receivers: form.receivers,
    enabled: form.enabled,
  };
}

function nodeText(node: Record<string, string | undefined> | undefined): string {
  if (!node) return 'any';
  const name = node.workload ?? node.service ?? node.app;
  if (node.namespace && name) return `${node.namespace}/${name}`;
  return name ?? (node.namespace ? `${node.namespace}/*` : 'any');
}

/** What a rule watches: `bookinfo/reviews`, `bookinfo/*`, `a → b`, or `every node`. */
export function selectorText(selector: Selector): string {
  if (selector.source || selector.destination) return `${nodeText(selector.source)} → ${nodeText(selector.destination)}`;
  const text = nodeText(selector as Record<string, string | undefined>);
  return text === 'any' ? 'every node' : text;
}

/** The condition in one line, e.g. `5xx > 5% over 5m, for 1m`. */
export function conditionText(rule: Pick<Rule, 'kind' | 'threshold' | 'window' | 'for' | 'errors' | 'quantile' | 'op'>): string {
  const over = ` over ${rule.window}`;
  const hold = rule.for && rule.for !== '0s' ? `, for ${rule.for}` : '';
  switch (rule.kind) {
    case 'error_rate':
      return `${rule.errors} > ${rule.threshold}%${over}${hold}`;
    case 'latency':
      return `${rule.quantile} > ${rule.threshold} ms${over}${hold}`;
    case 'request_rate':
      return `requests ${rule.op === 'below' ? '<' : '>'} ${rule.threshold}/s${over}${hold}`;
    case 'unknown_traffic':
      return `from unknown > ${rule.threshold}/s${over}${hold}`;
    case 'missing_sidecar':
      return `reached without a sidecar${over}${hold}`;
    case 'reporter_silent':
      return `no telemetry for ${rule.window}${hold}`;
    default:
      return rule.kind;
  }
}

export type RuleStatus = 'firing' | 'pending' | 'unevaluable' | 'inactive' | 'disabled';

/** What a rule shows: disabled, cannot be evaluated, or the state of its alerts. */
export function ruleStatus(rule: Pick<Rule, 'enabled' | 'health' | 'state'>): RuleStatus {
  if (!rule.enabled) return 'disabled';
  if (rule.health === 'unevaluable') return 'unevaluable';
  if (rule.state === 'firing' || rule.state === 'pending') return rule.state;
  return 'inactive';
}

const STATUS_ORDER: RuleStatus[] = ['firing', 'unevaluable', 'pending', 'inactive', 'disabled'];
const SEVERITY_ORDER = ['critical', 'warning', 'info'];

function rank(order: readonly string[], value: string): number {
  const i = order.indexOf(value);
  return i < 0 ? order.length : i;
}

/** Firing first, then rules that cannot see, then pending; the most severe first within each. */
export function sortRules(rules: Rule[]): Rule[] {
  return [...rules].sort(
    (a, b) =>
      rank(STATUS_ORDER, ruleStatus(a)) - rank(STATUS_ORDER, ruleStatus(b)) ||
      rank(SEVERITY_ORDER, a.severity) - rank(SEVERITY_ORDER, b.severity) ||
      a.name.localeCompare(b.name),
  );
}

/** DRF's 400 body as one message per field (`selector`, `window`, ...; `form` for the rest). */
export function fieldErrors(body: unknown): Record<string, string> {
  const errors: Record<string, string> = {};
  if (!body || typeof body !== 'object' || Array.isArray(body)) return { form: 'The rule was refused' };
  for (const [field, value] of Object.entries(body as Record<string, unknown>)) {
    const text = Array.isArray(value) ? value.map(String).join(' ') : String(value);
    errors[field === 'non_field_errors' || field === 'detail' ? 'form' : field] = text;
  }
  return errors;
}

/** The node or edge an alert is about, from its labels. */
export function alertTarget(labels: Record<string, string>): string {
  const node = (prefix: string) => {
    const name = labels[`${prefix}workload`] || labels[`${prefix}service`] || labels[`${prefix}reporter`] || '';
    const namespace = labels[`${prefix}namespace`];
    return namespace ? `${namespace}/${name}` : name;
  };
  return labels.source_workload ? `${node('source_')} → ${node('destination_')}` : node('');
}
