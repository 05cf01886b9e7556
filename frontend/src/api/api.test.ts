import { describe, expect, it } from 'vitest';
import { errorMessage } from './http';
import { backoffDelay, socketUrl } from './live';

describe('api helpers', () => {
  it('backs off from 1s doubling to 30s with jitter', () => {
    const mid = () => 0.5;
    expect([0, 1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, mid))).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    expect(backoffDelay(0, () => 0)).toBe(800);
    expect(backoffDelay(0, () => 1)).toBe(1200);
    expect(backoffDelay(50, () => 1)).toBe(36000);
  });

  it('builds websocket URLs for the page origin', () => {
    expect(socketUrl('/ws/traces/', { protocol: 'https:', host: 'mesh.example.com' })).toBe('wss://mesh.example.com/ws/traces/');
    expect(socketUrl('/ws/graph/?namespaces=a', { protocol: 'http:', host: '127.0.0.1:8000' })).toBe('ws://127.0.0.1:8000/ws/graph/?namespaces=a');
  });

  it('finds the message in Jaeger, DRF and plain error bodies', () => {
    expect(errorMessage(400, { error: { httpCode: 400, message: 'bad duration' } })).toBe('bad duration');
    expect(errorMessage(404, { data: null, errors: [{ code: 404, msg: 'trace not found' }] })).toBe('trace not found');
    expect(errorMessage(403, { detail: 'Authentication credentials were not provided.' })).toBe('Authentication credentials were not provided.');
    expect(errorMessage(502, 'upstream down')).toBe('upstream down');
    expect(errorMessage(401, null)).toMatch(/signed in/);
    expect(errorMessage(500, null)).toBe('The server answered 500');
  });
});
