// Create or edit a rule, and test it against the current window before saving.
import { useState } from 'react';
import { ApiError } from '../api/http';
import { createRule, testRule, updateRule, type Finding, type Receiver, type Rule } from '../api/alerts';
import { KINDS, SEVERITIES, THRESHOLD_KINDS, alertTarget, emptyForm, fieldErrors, formFromRule, formToBody, type RuleForm } from './model/rules';

interface FieldProps {
  label: string;
  error?: string;
  hint?: string;
  children: React.ReactNode;
}

function Field({ label, error, hint, children }: FieldProps) {
  return (
    <label className="alert-field">
      <span className="field-label">{label}</span>
      {children}
      {hint ? <span className="field-hint">{hint}</span> : null}
      {error ? (
        <span className="field-error" role="alert">
          {error}
        </span>
      ) : null}
    </label>
  );
}

const THRESHOLD_UNIT: Record<string, string> = {
  error_rate: '% of requests',
  latency: 'ms',
  request_rate: 'requests per second',
  unknown_traffic: 'requests per second',
};

export function RuleEditor({ rule, receivers, onSaved, onCancel }: { rule: Rule | null; receivers: Receiver[]; onSaved: (rule: Rule) => void; onCancel: () => void }) {
  const [form, setForm] = useState<RuleForm>(() => (rule ? formFromRule(rule) : emptyForm()));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [findings, setFindings] = useState<Finding[] | null>(null);
  const [busy, setBusy] = useState(false);
  const set = (patch: Partial<RuleForm>) => setForm({ ...form, ...patch });
  const text = (key: keyof RuleForm, testid: string, placeholder = '') => (
    <input
      type="text"
      value={form[key] as string}
      placeholder={placeholder}
      data-testid={testid}
      onChange={(e) => set({ [key]: e.target.value } as Partial<RuleForm>)}
    />
  );
  const body = () => formToBody(form, rule?.annotations ?? {});

  async function run(action: () => Promise<void>) {
    setBusy(true);
    setErrors({});
    try {
      await action();
    } catch (err) {
      if (err instanceof ApiError && err.status === 400) setErrors(fieldErrors(err.body));
      else setErrors({ form: (err as Error).message });
    } finally {
      setBusy(false);
    }
  }

  const save = () =>
    run(async () => {
      onSaved(rule ? await updateRule(rule.id, body()) : await createRule(body()));
    });
  const test = () =>
    run(async () => {
      setFindings(await testRule(body()));
    });

  return (
    <form
      className="rule-editor"
      data-testid="rule-editor"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      <h2>{rule ? `Edit ${rule.name}` : 'New rule'}</h2>
      {errors.form ? (
        <div className="banner banner-error" role="alert" data-testid="rule-error">
          {errors.form}
        </div>
      ) : null}
      <div className="alert-grid">
        <Field label="Name" error={errors.name}>
          {text('name', 'rule-name', 'reviews 5xx')}
        </Field>
        <Field label="Kind" error={errors.kind}>
          <select value={form.kind} data-testid="rule-kind" onChange={(e) => set({ kind: e.target.value })}>
            {KINDS.map((k) => (
              <option key={k.value} value={k.value}>
                {k.label}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Severity" error={errors.severity}>
          <select value={form.severity} data-testid="rule-severity" onChange={(e) => set({ severity: e.target.value })}>
            {SEVERITIES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </Field>
        <Field label="Watches" error={errors.selector} hint="Empty fields match everything; each matching node or edge is its own alert.">
          <select value={form.target} data-testid="rule-target" onChange={(e) => set({ target: e.target.value as RuleForm['target'] })}>
            <option value="node">Nodes</option>
            <option value="edge">Edges</option>
          </select>
        </Field>
      </div>
      {form.target === 'edge' ? (
        <fieldset className="alert-grid">
          <legend>Source</legend>
          <Field label="Namespace">{text('sourceNamespace', 'rule-source-namespace')}</Field>
          <Field label="Workload">{text('sourceWorkload', 'rule-source-workload')}</Field>
          <Field label="App">{text('sourceApp', 'rule-source-app')}</Field>
        </fieldset>
      ) : null}
      <fieldset className="alert-grid">
        <legend>{form.target === 'edge' ? 'Destination' : 'Node'}</legend>
        <Field label="Namespace">{text('namespace', 'rule-namespace', 'bookinfo')}</Field>
        <Field label="Workload">{text('workload', 'rule-workload')}</Field>
        <Field label="App">{text('app', 'rule-app')}</Field>
        <Field label="Service">{text('service', 'rule-service')}</Field>
      </fieldset>
      <div className="alert-grid">
        {form.kind === 'error_rate' ? (
          <Field label="Errors" error={errors.errors}>
            <select value={form.errors} data-testid="rule-errors" onChange={(e) => set({ errors: e.target.value })}>
              <option value="5xx">5xx</option>
              <option value="4xx5xx">4xx and 5xx</option>
              <option value="grpc">gRPC errors</option>
            </select>
          </Field>
        ) : null}
        {form.kind === 'latency' ? (
          <Field label="Quantile" error={errors.quantile}>
            <select value={form.quantile} data-testid="rule-quantile" onChange={(e) => set({ quantile: e.target.value })}>
              <option>p50</option>
              <option>p95</option>
              <option>p99</option>
            </select>
          </Field>
        ) : null}
        {form.kind === 'request_rate' ? (
          <Field label="Fires when" error={errors.op}>
            <select value={form.op} data-testid="rule-op" onChange={(e) => set({ op: e.target.value })}>
              <option value="below">below the threshold (or stopped)</option>
              <option value="above">above the threshold</option>
            </select>
          </Field>
        ) : null}
        {THRESHOLD_KINDS.has(form.kind) ? (
          <Field label="Threshold" error={errors.threshold} hint={THRESHOLD_UNIT[form.kind]}>
            {text('threshold', 'rule-threshold')}
          </Field>
        ) : null}
        <Field label="Window" error={errors.window} hint="30s, 5m, 1h">
          {text('window', 'rule-window')}
        </Field>
        <Field label="For" error={errors.for} hint="how long before it fires; 0s: at once">
          {text('for', 'rule-for')}
        </Field>
        <Field label="Telemetry" error={errors.source}>
          <select value={form.source} data-testid="rule-source" onChange={(e) => set({ source: e.target.value })}>
            <option value="auto">Prometheus when configured, else access logs</option>
            <option value="accesslogs">Access logs</option>
            <option value="prometheus">Prometheus</option>
          </select>
        </Field>
      </div>
      <Field label="Summary" error={errors.annotations} hint="{{ value }}, {{ threshold }}, {{ labels.workload }}, {{ graph_url }}, {{ traces_url }}; empty: meshview's own">
        {text('summary', 'rule-summary')}
      </Field>
      <div className="alert-field">
        <span className="field-label">Receivers</span>
        {receivers.length ? (
          <div className="pill-row">
            {receivers.map((r) => (
              <label key={r.name} className="control-check">
                <input
                  type="checkbox"
                  checked={form.receivers.includes(r.name)}
                  onChange={(e) => set({ receivers: e.target.checked ? [...form.receivers, r.name] : form.receivers.filter((n) => n !== r.name) })}
                />
                <span>
                  {r.name} <span className="muted">({r.kind})</span>
                </span>
              </label>
            ))}
          </div>
        ) : (
          <span className="field-hint">No receivers yet: add them through POST /api/v1/alerts/receivers.</span>
        )}
        {errors.receivers ? <span className="field-error">{errors.receivers}</span> : null}
      </div>
      <label className="control-check">
        <input type="checkbox" checked={form.enabled} data-testid="rule-enabled" onChange={(e) => set({ enabled: e.target.checked })} />
        <span>Enabled</span>
      </label>
      <div className="editor-actions">
        <button type="submit" className="button button-primary" data-testid="rule-save" disabled={busy}>
          {rule ? 'Save' : 'Create rule'}
        </button>
        <button type="button" className="button" data-testid="rule-test" disabled={busy} onClick={() => void test()}>
          Test against the current window
        </button>
        <button type="button" className="link-button" onClick={onCancel}>
          Cancel
        </button>
      </div>
      {findings ? (
        <div className="rule-findings" data-testid="rule-findings">
          {findings.length ? (
            <table className="data-table">
              <thead>
                <tr>
                  <th>Node or edge</th>
                  <th>Value</th>
                  <th>Would be</th>
                </tr>
              </thead>
              <tbody>
                {findings.map((f) => (
                  <tr key={JSON.stringify(f.labels)} data-testid="rule-finding">
                    <td>{alertTarget(f.labels)}</td>
                    <td className="mono">{Number(f.value.toFixed(3))}</td>
                    <td>
                      <span className={`state state-${f.wouldBe}`}>{f.wouldBe}</span>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p className="muted">Nothing in the current window matches this rule's selector.</p>
          )}
        </div>
      ) : null}
    </form>
  );
}
