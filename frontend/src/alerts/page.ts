// Alert rules and their last evaluation, from GET /api/v1/alerts/rules.
import { ApiError, isAbort } from '../api/http';
import { fetchAlertRules } from '../api/meshview';
import type { PageFactory } from '../shell/page';
import { emptyState, h } from '../ui/dom';
import { formatAgo, formatDateTime } from '../ui/time';
import { normalizeRules, sortRules, type RuleRow } from './model/rules';

const STATE_TEXT: Record<string, string> = { firing: 'Firing', pending: 'Pending', ok: 'OK', error: 'Error', unknown: 'Not evaluated' };

function rulesTable(rows: RuleRow[]): HTMLElement {
  const now = Date.now();
  return h(
    'table',
    { class: 'data-table rules-table', 'data-testid': 'alert-rules' },
    h('thead', null, h('tr', null, ...['State', 'Rule', 'Condition', 'Severity', 'Enabled', 'Last evaluated'].map((c) => h('th', null, c)))),
    h(
      'tbody',
      null,
      ...rows.map((r) =>
        h(
          'tr',
          { class: r.enabled ? '' : 'rule-disabled', 'data-testid': 'alert-rule' },
          h('td', null, h('span', { class: `state state-${r.state}` }, STATE_TEXT[r.state])),
          h('td', null, h('strong', null, r.name)),
          h('td', null, h('code', null, r.condition || '-')),
          h('td', null, h('span', { class: `severity severity-${r.severity}` }, r.severity)),
          h('td', null, r.enabled ? 'yes' : 'no'),
          h('td', { title: r.lastEvaluatedAt ? formatDateTime(r.lastEvaluatedAt) : '' }, r.lastEvaluatedAt ? formatAgo(r.lastEvaluatedAt, now) : 'never'),
        ),
      ),
    ),
  );
}

export const createAlertsPage: PageFactory = () => {
  const body = h('div', { class: 'loading', 'data-testid': 'alerts-loading' }, 'Loading alert rules…');
  const summary = h('p', { class: 'muted' }, 'Rules that meshview evaluates against the graph and its traffic, and the webhooks they call.');
  const el = h(
    'section',
    { class: 'page page-narrow page-alerts', 'data-testid': 'page-alerts' },
    h('header', { class: 'page-header' }, h('h1', null, 'Alerts'), summary),
    body,
  );
  const controller = new AbortController();
  void (async () => {
    try {
      const rows = sortRules(normalizeRules(await fetchAlertRules(controller.signal)));
      if (!rows.length) {
        body.replaceWith(emptyState('alerts-empty', 'No alert rules yet', 'No alert rule is defined. Rules created through the API show up here with their last state.'));
        return;
      }
      const firing = rows.filter((r) => r.state === 'firing').length;
      summary.textContent = `${rows.length} rule${rows.length === 1 ? '' : 's'}, ${firing} firing.`;
      body.replaceWith(rulesTable(rows));
    } catch (err) {
      if (isAbort(err)) return;
      if (err instanceof ApiError && err.status === 404) {
        body.replaceWith(
          emptyState('alerts-empty', 'Alerting is not available', 'This meshview server does not offer alert rules yet (GET /api/v1/alerts/rules answered 404). Once alerting is enabled, the rules and their last state show up here.'),
        );
        return;
      }
      body.replaceWith(h('div', { class: 'banner banner-error', role: 'alert', 'data-testid': 'alerts-error' }, `The alert rules could not be loaded: ${(err as Error).message}`));
    }
  })();
  return { el, title: 'Alerts', destroy: () => controller.abort() };
};
