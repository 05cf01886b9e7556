import { describe, expect, it } from 'vitest';
import { formatDuration, parseGoDuration, timelineTicks } from './duration';

describe('durations', () => {
  it('parses Go durations into microseconds', () => {
    expect(parseGoDuration('1.5ms')).toBe(1500);
    expect(parseGoDuration('300us')).toBe(300);
    expect(parseGoDuration('300µs')).toBe(300);
    expect(parseGoDuration('4500ns')).toBe(4.5);
    expect(parseGoDuration('2s')).toBe(2_000_000);
    expect(parseGoDuration('1h30m')).toBe(5_400_000_000);
    expect(parseGoDuration('.5s')).toBe(500_000);
    expect(parseGoDuration(' 0 ')).toBe(0);
    expect(parseGoDuration('')).toBeNull();
    expect(parseGoDuration('12')).toBeNull();
    expect(parseGoDuration('1.5 ms')).toBeNull();
    expect(parseGoDuration('abc')).toBeNull();
    expect(parseGoDuration('2d')).toBeNull();
  });

  it('formats microseconds for people', () => {
    expect(formatDuration(0.5)).toBe('500ns');
    expect(formatDuration(1.25)).toBe('1.25µs');
    expect(formatDuration(850)).toBe('850µs');
    expect(formatDuration(1250)).toBe('1.25ms');
    expect(formatDuration(30300)).toBe('30.3ms');
    expect(formatDuration(48000)).toBe('48ms');
    expect(formatDuration(2_500_000)).toBe('2.5s');
    expect(formatDuration(65_000_000)).toBe('1m 5s');
    expect(formatDuration(7_380_000_000)).toBe('2h 3m');
    expect(formatDuration(-1)).toBe('-');
  });

  it('labels timeline ticks', () => {
    expect(timelineTicks(48000).map((t) => t.label)).toEqual(['0', '12ms', '24ms', '36ms', '48ms']);
  });
});
