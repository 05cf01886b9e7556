import { describe, expect, it } from 'vitest';
import type { Rule } from '../../api/alerts';
import { alertTarget, conditionText, emptyForm, fieldErrors, formFromRule, formToBody, ruleStatus, selectorText, sortRules } from './rules';

const rule: Rule = {
  id: 1,
  name: 'reviews 5xx',
  kind: 'error_rate',
  selector: { source: { workload: 'productpage-v1' }, destination: { namespace: 'bookinfo', app: 'reviews' } },
  threshold: 5,
  window: '5m',
  for: '1m',
  errors: '5xx',
  quantile: 'p99',
  op: 'above',
  source: 'auto',
  severity: 'critical',
  labels: {},
  annotations: { summary: '{{ value }}% errors', runbook: 'https://runbooks.example/reviews' },
  receivers: ['chat'],
  enabled: true,
  state: 'firing',
  health: 'ok',
  last_error: '',
  evaluated_at: '2026-12-03T07:00:00Z',
};

describe('alert rules', () => {
  it('round-trips a rule through the editor form, keeping other annotations', () => {
    const form = formFromRule(rule);
    expect(form.target).toBe('edge');
    expect(form.sourceWorkload).toBe('productpage-v1');
    expect(form.app).toBe('reviews');
    const body = formToBody(form, rule.annotations);
    expect(body.selector).toEqual(rule.selector);
    expect(body.annotations).toEqual(rule.annotations);
    expect(body.threshold).toBe(5);
  });

  it('leaves empty selector keys out: they match everything', () => {
    const body = formToBody({ ...emptyForm(), name: ' all ', namespace: 'bookinfo', workload: '  ' });
    expect(body.selector).toEqual({ namespace: 'bookinfo' });
    expect(body.name).toBe('all');
    expect(body.annotations).toEqual({});
  });

  it('says what a rule watches and when it fires', () => {
    expect(selectorText(rule.selector)).toBe('productpage-v1 → bookinfo/reviews');
    expect(selectorText({})).toBe('every node');
    expect(selectorText({ namespace: 'bookinfo' })).toBe('bookinfo/*');
    expect(conditionText(rule)).toBe('5xx > 5% over 5m, for 1m');
    expect(conditionText({ ...rule, kind: 'request_rate', op: 'below', threshold: 0.1, for: '0s' })).toBe('requests < 0.1/s over 5m');
  });

  it('shows firing rules first, and rules that cannot see before pending ones', () => {
    const rules = [
      { ...rule, id: 2, name: 'b', state: 'pending' },
      { ...rule, id: 3, name: 'c', health: 'unevaluable', state: 'inactive' },
      { ...rule, id: 4, name: 'd', enabled: false },
      { ...rule, id: 5, name: 'a', state: 'inactive' },
      rule,
    ];
    expect(sortRules(rules).map((r) => ruleStatus(r))).toEqual(['firing', 'unevaluable', 'pending', 'inactive', 'disabled']);
  });

  it("reads DRF's field errors", () => {
    expect(fieldErrors({ window: ["'5 minutes' is not a duration"], non_field_errors: ['x'] })).toEqual({
      window: "'5 minutes' is not a duration",
      form: 'x',
    });
  });

  it('names the node or edge of an alert', () => {
    expect(alertTarget({ namespace: 'bookinfo', workload: 'reviews-v1' })).toBe('bookinfo/reviews-v1');
    expect(
      alertTarget({ source_namespace: 'bookinfo', source_workload: 'productpage-v1', destination_namespace: 'bookinfo', destination_workload: 'reviews-v2' }),
    ).toBe('bookinfo/productpage-v1 → bookinfo/reviews-v2');
  });
});
