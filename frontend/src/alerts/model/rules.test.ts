import { describe, expect, it } from 'vitest';
import { conditionText, normalizeRules, ruleState, sortRules } from './rules';

describe('alert rules', () => {
  const body = {
    count: 4,
    results: [
      { id: 2, name: 'p99 latency', condition: { metric: 'p99', op: '>', threshold: 500 }, severity: 'Warning', enabled: true, lastState: 'ok', lastEvaluatedAt: '2025-11-26T01:00:00Z' },
      { id: 1, name: 'ratings 5xx', expression: 'error_rate > 0.1', severity: 'critical', enabled: true, lastState: 'firing', lastEvaluatedAt: '2025-11-26T01:01:00Z' },
      { id: 3, name: 'old rule', expression: 'x > 1', severity: 'critical', enabled: false, lastState: 'firing' },
      { id: 4, name: 'new rule', expression: 'y > 1', severity: 'info', enabled: true, lastState: null, lastEvaluatedAt: null },
    ],
  };

  it('normalises DRF pages and bare lists', () => {
    const rows = normalizeRules(body);
    expect(rows[0]).toEqual({
      id: '2',
      name: 'p99 latency',
      condition: 'metric=p99 op=> threshold=500',
      severity: 'warning',
      enabled: true,
      state: 'ok',
      lastEvaluatedAt: Date.parse('2025-11-26T01:00:00Z'),
    });
    expect(rows[3].lastEvaluatedAt).toBeNull();
    expect(normalizeRules(body.results)).toHaveLength(4);
    expect(normalizeRules({ detail: 'nope' })).toEqual([]);
  });

  it('puts enabled firing rules first, then by severity', () => {
    expect(sortRules(normalizeRules(body)).map((r) => r.name)).toEqual(['ratings 5xx', 'p99 latency', 'new rule', 'old rule']);
  });

  it('maps states and conditions', () => {
    expect(ruleState('Alerting')).toBe('firing');
    expect(ruleState('normal')).toBe('ok');
    expect(ruleState(undefined)).toBe('unknown');
    expect(conditionText({ id: 1, condition: 'rate > 5' })).toBe('rate > 5');
    expect(conditionText({ id: 1 })).toBe('');
  });
});
