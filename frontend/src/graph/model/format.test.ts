import { describe, expect, it } from 'vitest';
import { formatBytesRate, formatMs, formatPercent, formatRps, formatWindow, parseRate } from './format';

describe('graph number formatting', () => {
  it('reads Kiali rate strings', () => {
    expect(parseRate('12.34')).toBe(12.34);
    expect(parseRate(3)).toBe(3);
    expect(parseRate('')).toBe(0);
    expect(parseRate(undefined)).toBe(0);
    expect(parseRate('n/a')).toBe(0);
  });

  it('formats request rates with fewer decimals as they grow', () => {
    expect(formatRps(0)).toBe('0rps');
    expect(formatRps(0.0004)).toBe('<0.001rps');
    expect(formatRps(0.005)).toBe('0.005rps');
    expect(formatRps(0.05)).toBe('0.05rps');
    expect(formatRps(3.256)).toBe('3.26rps');
    expect(formatRps(10.05)).toBe('10.1rps');
    expect(formatRps(42.5)).toBe('42.5rps');
    expect(formatRps(1250.4)).toBe('1250rps');
  });

  it('formats percentages, response times, bytes and windows', () => {
    expect(formatPercent(100)).toBe('100%');
    expect(formatPercent(14.96)).toBe('15%');
    expect(formatPercent(12.5)).toBe('12.5%');
    expect(formatPercent(0.04)).toBe('<0.1%');
    expect(formatPercent(0)).toBe('0%');
    expect(formatMs(0.456)).toBe('0.46ms');
    expect(formatMs(7.52)).toBe('7.5ms');
    expect(formatMs(120.4)).toBe('120ms');
    expect(formatMs(1250)).toBe('1.25s');
    expect(formatBytesRate(512)).toBe('512B/s');
    expect(formatBytesRate(1520.5)).toBe('1.52kB/s');
    expect(formatBytesRate(2_250_000)).toBe('2.25MB/s');
    expect(formatWindow(60)).toBe('1m');
    expect(formatWindow(300)).toBe('5m');
    expect(formatWindow(3600)).toBe('1h');
    expect(formatWindow(45)).toBe('45s');
  });
});
