import { describe, expect, it } from 'vitest';
import { DEFAULT_FORM, buildTraceQuery, formFromSearch, formToSearch, parseTags, validateForm } from './search';

describe('trace search form', () => {
  it('parses logfmt tags', () => {
    expect(parseTags('http.status_code=503 error=true')).toEqual({ tags: { 'http.status_code': '503', error: 'true' }, errors: [] });
    expect(parseTags('user="Ada Lovelace" path="/a \\"b\\""  empty=')).toEqual({ tags: { user: 'Ada Lovelace', path: '/a "b"', empty: '' }, errors: [] });
    expect(parseTags('error')).toEqual({ tags: { error: 'true' }, errors: [] });
    expect(parseTags('a="open').errors).toEqual(['unterminated quote in the value of a']);
    expect(parseTags('=x').errors[0]).toMatch(/without a key/);
  });

  it('builds the Jaeger query with µs times and Go durations', () => {
    const form = { ...DEFAULT_FORM, service: 'reviews', operation: 'GET /reviews/0', tags: 'error=true', lookback: '2h', minDuration: '1.2ms', maxDuration: '2s', limit: 50 };
    const q = buildTraceQuery(form, 1_764_120_000_000_000);
    expect(Object.fromEntries(q)).toEqual({
      service: 'reviews',
      operation: 'GET /reviews/0',
      tags: '{"error":"true"}',
      start: String(1_764_120_000_000_000 - 7_200_000_000),
      end: '1764120000000000',
      lookback: '2h',
      minDuration: '1.2ms',
      maxDuration: '2s',
      limit: '50',
    });
    const all = buildTraceQuery(DEFAULT_FORM, 1_000_000_000_000);
    expect(all.has('service')).toBe(false);
    expect(all.has('tags')).toBe(false);
    expect(all.get('start')).toBe(String(1_000_000_000_000 - 3_600_000_000));
  });

  it('validates durations and the limit', () => {
    expect(validateForm(DEFAULT_FORM)).toEqual({});
    expect(validateForm({ ...DEFAULT_FORM, minDuration: 'fast' }).minDuration).toMatch(/duration/);
    expect(validateForm({ ...DEFAULT_FORM, minDuration: '2s', maxDuration: '1s' }).maxDuration).toMatch(/below/);
    expect(validateForm({ ...DEFAULT_FORM, limit: 0 }).limit).toBeDefined();
    expect(validateForm({ ...DEFAULT_FORM, tags: 'a="x' }).tags).toMatch(/unterminated/);
  });

  it('round-trips through the page URL', () => {
    const form = { ...DEFAULT_FORM, service: 'ratings', tags: 'error=true', minDuration: '1ms', limit: 40 };
    const search = formToSearch(form);
    expect(search).toBe('?service=ratings&tags=error%3Dtrue&minDuration=1ms&limit=40');
    expect(formFromSearch(search)).toEqual(form);
    expect(formToSearch(DEFAULT_FORM)).toBe('');
    expect(formFromSearch('?lookback=3y&limit=-4')).toEqual(DEFAULT_FORM);
    // A fixed window, as the graph's links send: it replaces the lookback in the query.
    const window = { ...DEFAULT_FORM, service: 'reviews', start: 1_764_119_700_000_000, end: 1_764_120_000_000_000 };
    expect(formFromSearch(formToSearch(window))).toEqual(window);
    expect(Object.fromEntries(buildTraceQuery(window, 1))).toMatchObject({ start: '1764119700000000', end: '1764120000000000', lookback: 'custom' });
    expect(formFromSearch('?start=5&end=2')).toEqual(DEFAULT_FORM);
  });
});
