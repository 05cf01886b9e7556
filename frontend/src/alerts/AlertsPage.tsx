// The Alerts page: what is firing and what fired, the rules (create, edit, enable, test),
// silences, and the delivery log with every attempt.
import { useCallback, useEffect, useState } from 'react';
import { Link } from 'react-router';
import {
  createSilence,
  deleteRule,
  expireSilence,
  fetchAlerts,
  fetchDeliveries,
  fetchReceivers,
  fetchRules,
  fetchSilences,
  updateRule,
  type Alert,
  type Delivery,
  type Receiver,
  type Rule,
  type Silence,
} from '../api/alerts';
import { ApiError, isAbort } from '../api/http';
import { EmptyState } from '../ui/EmptyState';
import { formatDateTime } from '../ui/time';
import { useTitle } from '../ui/useTitle';
import { RuleEditor } from './RuleEditor';
import { alertTarget, conditionText, fieldErrors, ruleStatus, selectorText, sortRules } from './model/rules';
import { parseMatchers } from './model/silences';
import './alerts.css';

const REFRESH_MS = 5000;

interface Data {
  rules: Rule[];
  alerts: Alert[];
  receivers: Receiver[];
  silences: Silence[];
  deliveries: Delivery[];
}

/** An in-app path for a link the API gives as a full URL. */
function appPath(url: string): string {
  try {
    const parsed = new URL(url, window.location.origin);
    return parsed.pathname + parsed.search;
  } catch {
    return url;
  }
}

function when(value: string | null): string {
  return value ? formatDateTime(Date.parse(value)) : '';
}

function StatePill({ state, testid }: { state: string; testid?: string }) {
  return (
    <span className={`state state-${state}`} data-testid={testid}>
      {state}
    </span>
  );
}

function AlertsTable({ alerts }: { alerts: Alert[] }) {
  if (!alerts.length) return <p className="muted">No alert has fired or is pending.</p>;
  return (
    <table className="data-table" data-testid="alerts-table">
      <thead>
        <tr>
          <th>State</th>
          <th>Rule</th>
          <th>Node or edge</th>
          <th>Value</th>
          <th>Since</th>
          <th>Summary</th>
          <th>Links</th>
        </tr>
      </thead>
      <tbody>
        {alerts.map((a) => (
          <tr key={a.id} data-testid="alert-row" data-state={a.state} data-rule={a.rule_name}>
            <td>
              <StatePill state={a.state} />
              {a.silenced ? <span className="state state-silenced">silenced</span> : null}
            </td>
            <td>
              {a.rule_name} <span className="muted small">{a.severity}</span>
            </td>
            <td className="mono">{alertTarget(a.labels)}</td>
            <td className="mono">{Number(a.value.toFixed(3))}</td>
            <td>
              {when(a.fired_at ?? a.active_since)}
              {a.ended_at ? <div className="muted small">ended {when(a.ended_at)}</div> : null}
              <details>
                <summary className="small">history</summary>
                <ul className="history">
                  {a.history.map((t) => (
                    <li key={`${t.state}-${t.at}`}>
                      {when(t.at)} {t.state} at {Number(t.value.toFixed(3))}
                    </li>
                  ))}
                </ul>
              </details>
            </td>
            <td>{a.annotations.summary}</td>
            <td className="links">
              <Link to={appPath(a.links.graph)} data-testid="alert-graph-link">
                Graph
              </Link>
              <Link to={appPath(a.links.traces)} data-testid="alert-traces-link">
                Traces
              </Link>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function SilenceForm({ onCreated }: { onCreated: () => void }) {
  const [matchers, setMatchers] = useState('');
  const [hours, setHours] = useState('2');
  const [comment, setComment] = useState('');
  const [error, setError] = useState('');
  async function submit(e: React.FormEvent) {
    e.preventDefault();
    const parsed = parseMatchers(matchers);
    if (typeof parsed === 'string') {
      setError(parsed);
      return;
    }
    try {
      const ends = new Date(Date.now() + Number(hours) * 3600_000).toISOString();
      await createSilence({ matchers: parsed, endsAt: ends, comment });
      setMatchers('');
      setComment('');
      setError('');
      onCreated();
    } catch (err) {
      setError(err instanceof ApiError && err.status === 400 ? Object.values(fieldErrors(err.body)).join(' ') : (err as Error).message);
    }
  }
  return (
    <form className="silence-form alert-grid" onSubmit={submit} noValidate data-testid="silence-form">
      <label className="alert-field">
        <span className="field-label">Matchers</span>
        <input value={matchers} placeholder='alertname="reviews 5xx", namespace=~"book.*"' data-testid="silence-matchers" onChange={(e) => setMatchers(e.target.value)} />
      </label>
      <label className="alert-field">
        <span className="field-label">Hours</span>
        <input value={hours} onChange={(e) => setHours(e.target.value)} />
      </label>
      <label className="alert-field">
        <span className="field-label">Comment</span>
        <input value={comment} onChange={(e) => setComment(e.target.value)} />
      </label>
      <div className="editor-actions">
        <button type="submit" className="button">
          Silence
        </button>
      </div>
      {error ? <span className="field-error">{error}</span> : null}
    </form>
  );
}

function Deliveries({ deliveries, rules }: { deliveries: Delivery[]; rules: Rule[] }) {
  if (!deliveries.length) return <p className="muted">No notification has been sent.</p>;
  const names = new Map(rules.map((r) => [r.id, r.name]));
  return (
    <table className="data-table" data-testid="deliveries-table">
      <thead>
        <tr>
          <th>Created</th>
          <th>Receiver</th>
          <th>Rule</th>
          <th>Status</th>
          <th>State</th>
          <th>Attempts</th>
        </tr>
      </thead>
      <tbody>
        {deliveries.map((d) => (
          <tr key={d.id} data-testid="delivery-row" data-state={d.state}>
            <td>{when(d.created_at)}</td>
            <td>
              {d.receiver} <span className="muted small">{d.receiver_kind}</span>
            </td>
            <td>{d.rule !== null ? (names.get(d.rule) ?? d.rule) : ''}</td>
            <td>
              {d.status} <span className="muted small">({d.alerts.length} alerts)</span>
            </td>
            <td>
              <StatePill state={d.state} />
            </td>
            <td>
              <ol className="attempts">
                {d.attempts.map((a) => (
                  <li key={a.number}>
                    <StatePill state={a.outcome} /> {a.status_code ?? ''} {a.latency_ms !== null ? `${Math.round(a.latency_ms)} ms` : ''}{' '}
                    <span className="muted small">{a.error || a.response_excerpt.slice(0, 120)}</span>
                  </li>
                ))}
              </ol>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function AlertsPage() {
  useTitle('Alerts');
  const [data, setData] = useState<Data | null>(null);
  const [error, setError] = useState('');
  const [editing, setEditing] = useState<Rule | 'new' | null>(null);
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);

  useEffect(() => {
    const controller = new AbortController();
    const { signal } = controller;
    Promise.all([fetchRules(signal), fetchAlerts('limit=100', signal), fetchReceivers(signal), fetchSilences(signal), fetchDeliveries(signal)])
      .then(([rules, alerts, receivers, silences, deliveries]) => {
        setData({ rules, alerts, receivers, silences, deliveries });
        setError('');
      })
      .catch((err) => {
        if (!isAbort(err)) setError((err as Error).message);
      });
    const timer = window.setTimeout(reload, REFRESH_MS);
    return () => {
      controller.abort();
      window.clearTimeout(timer);
    };
  }, [tick, reload]);

  async function change(action: () => Promise<unknown>) {
    try {
      await action();
    } catch (err) {
      setError((err as Error).message);
    }
    reload();
  }

  const firing = data?.alerts.filter((a) => a.state === 'firing' || a.state === 'pending') ?? [];
  const recent = data?.alerts.filter((a) => a.state !== 'firing' && a.state !== 'pending') ?? [];

  return (
    <section className="page page-narrow page-alerts" data-testid="page-alerts">
      <header className="page-header">
        <h1>Alerts</h1>
        <p className="muted">
          Rules meshview evaluates against the graph's traffic; what they raise, the silences, and every notification sent.
          {data ? (
            <span data-testid="alerts-summary">
              {' '}
              {firing.filter((a) => a.state === 'firing').length} firing, {firing.filter((a) => a.state === 'pending').length} pending.
            </span>
          ) : null}
        </p>
      </header>
      {error ? (
        <div className="banner banner-error" role="alert" data-testid="alerts-error">
          {error}
        </div>
      ) : null}
      {!data ? (
        <div className="loading" data-testid="alerts-loading">
          Loading alerts…
        </div>
      ) : (
        <>
          <section className="alerts-section" data-testid="alerts-firing">
            <h2>Firing now</h2>
            <AlertsTable alerts={firing} />
          </section>

          <section className="alerts-section" data-testid="alerts-rules">
            <div className="section-header">
              <h2>Rules</h2>
              <button type="button" className="button button-primary" data-testid="rule-new" onClick={() => setEditing('new')}>
                New rule
              </button>
            </div>
            {editing ? (
              <RuleEditor
                key={editing === 'new' ? 'new' : editing.id}
                rule={editing === 'new' ? null : editing}
                receivers={data.receivers}
                onSaved={() => {
                  setEditing(null);
                  reload();
                }}
                onCancel={() => setEditing(null)}
              />
            ) : null}
            {data.rules.length ? (
              <table className="data-table" data-testid="rules-table">
                <thead>
                  <tr>
                    <th>State</th>
                    <th>Name</th>
                    <th>Watches</th>
                    <th>Condition</th>
                    <th>Severity</th>
                    <th>Receivers</th>
                    <th>Enabled</th>
                    <th />
                  </tr>
                </thead>
                <tbody>
                  {sortRules(data.rules).map((rule) => (
                    <tr key={rule.id} data-testid="rule-row" data-rule={rule.name}>
                      <td>
                        <StatePill state={ruleStatus(rule)} testid="rule-state" />
                        {rule.health === 'unevaluable' ? <div className="muted small">{rule.last_error}</div> : null}
                      </td>
                      <td>{rule.name}</td>
                      <td className="mono">{selectorText(rule.selector)}</td>
                      <td>{conditionText(rule)}</td>
                      <td>{rule.severity}</td>
                      <td>{rule.receivers.join(', ')}</td>
                      <td>
                        <input
                          type="checkbox"
                          aria-label={`${rule.name} enabled`}
                          data-testid="rule-toggle"
                          checked={rule.enabled}
                          onChange={(e) => void change(() => updateRule(rule.id, { enabled: e.target.checked }))}
                        />
                      </td>
                      <td className="links">
                        <button type="button" className="link-button" data-testid="rule-edit" onClick={() => setEditing(rule)}>
                          Edit
                        </button>
                        <button
                          type="button"
                          className="link-button"
                          onClick={() => window.confirm(`Delete the rule ${rule.name} and its alerts?`) && void change(() => deleteRule(rule.id))}
                        >
                          Delete
                        </button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : (
              <EmptyState testid="alerts-empty" title="No alert rules yet" text="Create a rule to hear when an edge's error rate or latency crosses a line, when traffic bypasses the ingress gateway, or when a workload runs without its sidecar." />
            )}
          </section>

          <section className="alerts-section" data-testid="alerts-recent">
            <h2>Recently ended</h2>
            <AlertsTable alerts={recent} />
          </section>

          <section className="alerts-section" data-testid="alerts-silences">
            <h2>Silences</h2>
            <SilenceForm onCreated={reload} />
            {data.silences.length ? (
              <table className="data-table">
                <thead>
                  <tr>
                    <th>State</th>
                    <th>Matchers</th>
                    <th>Until</th>
                    <th>By</th>
                    <th>Comment</th>
                    <th />
                  </tr>
                </thead>
                <tbody>
                  {data.silences.map((s) => (
                    <tr key={s.id} data-testid="silence-row">
                      <td>
                        <StatePill state={s.status.state} />
                      </td>
                      <td className="mono">
                        {s.matchers.map((m) => `${m.name}${m.isEqual ? '' : '!'}${m.isRegex ? '=~' : '='}"${m.value}"`).join(', ')}
                      </td>
                      <td>{when(s.endsAt)}</td>
                      <td>{s.createdBy}</td>
                      <td>{s.comment}</td>
                      <td>
                        {s.status.state !== 'expired' ? (
                          <button type="button" className="link-button" onClick={() => void change(() => expireSilence(s.id))}>
                            Expire
                          </button>
                        ) : null}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : null}
          </section>

          <section className="alerts-section" data-testid="alerts-deliveries">
            <h2>Delivery log</h2>
            <Deliveries deliveries={data.deliveries} rules={data.rules} />
          </section>
        </>
      )}
    </section>
  );
}
