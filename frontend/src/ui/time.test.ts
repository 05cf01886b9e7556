import { describe, expect, it } from 'vitest';
import { formatAgo } from './time';

describe('relative times', () => {
  it('says how long ago', () => {
    const now = 1_764_120_000_000;
    expect(formatAgo(now - 2000, now)).toBe('just now');
    expect(formatAgo(now - 42_000, now)).toBe('42s ago');
    expect(formatAgo(now - 5 * 60_000, now)).toBe('5m ago');
    expect(formatAgo(now - 3 * 3_600_000, now)).toBe('3h ago');
    expect(formatAgo(now - 3 * 86_400_000, now)).toBe('3d ago');
    expect(formatAgo(now + 60_000, now)).toBe('in the future');
  });
});
