import { describe, expect, it } from 'vitest';
import { isAppLink, matchRoute, sectionOf } from './routes';

describe('routes', () => {
  it('matches the paths Django serves the app for', () => {
    expect(matchRoute('/')).toEqual({ name: 'graph', search: '' });
    expect(matchRoute('/graph', '?namespaces=a')).toEqual({ name: 'graph', search: '?namespaces=a' });
    expect(matchRoute('/traces/')).toEqual({ name: 'traces', search: '' });
    expect(matchRoute('/traces/00fb8673%2F')).toEqual({ name: 'trace', traceID: '00fb8673/', search: '' });
    expect(matchRoute('/alerts')).toEqual({ name: 'alerts', search: '' });
    expect(matchRoute('/admin/')).toEqual({ name: 'notFound', path: '/admin', search: '' });
    expect(sectionOf(matchRoute('/traces/abc'))).toBe('traces');
  });

  it('handles only same-origin links to app routes', () => {
    const origin = 'http://meshview.local';
    expect(isAppLink(new URL('/traces?service=a', origin), origin)).toBe(true);
    expect(isAppLink(new URL('/api/v1/graph?format=dot', origin), origin)).toBe(false);
    expect(isAppLink(new URL('/graph', 'http://elsewhere'), origin)).toBe(false);
  });
});
