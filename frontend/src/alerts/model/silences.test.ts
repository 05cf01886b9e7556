import { describe, expect, it } from 'vitest';
import { parseMatchers } from './silences';

describe('silence matchers', () => {
  it("reads Alertmanager's matcher syntax", () => {
    expect(parseMatchers('alertname="reviews 5xx, v2", namespace=~"book.*", severity!=info')).toEqual([
      { name: 'alertname', value: 'reviews 5xx, v2', isRegex: false, isEqual: true },
      { name: 'namespace', value: 'book.*', isRegex: true, isEqual: true },
      { name: 'severity', value: 'info', isRegex: false, isEqual: false },
    ]);
  });

  it('says what it cannot read', () => {
    expect(parseMatchers('')).toMatch(/at least one/);
    expect(parseMatchers('9lives=x')).toMatch(/Cannot read the matcher 9lives=x/);
  });
});
