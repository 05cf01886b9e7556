import { describe, expect, it } from 'vitest';
import { computeEdgeHealth, edgeColor, edgeErrorPercent, edgeHealth, edgeRate, grade, HEALTH_COLORS, IDLE_COLOR, TCP_COLOR } from './health';
import type { EdgeData } from './types';

const http = (rates: Record<string, string>, healthStatus?: string): EdgeData => ({
  id: 'e',
  source: 'a',
  target: 'b',
  traffic: { protocol: 'http', rates },
  healthStatus,
});

describe('edge health with Kiali default tolerances', () => {
  it('grades thresholds: above 0 when the tolerance is 0, from the value otherwise', () => {
    expect(grade(0, 0, 10)).toBe('Healthy');
    expect(grade(0.1, 0, 10)).toBe('Degraded');
    expect(grade(10, 0, 10)).toBe('Failure');
    expect(grade(9.9, 10, 20)).toBe('Healthy');
    expect(grade(10, 10, 20)).toBe('Degraded');
    expect(grade(20, 10, 20)).toBe('Failure');
  });

  it('any 5xx degrades, 10% 5xx fails', () => {
    expect(computeEdgeHealth(http({ http: '10.00' }))).toBe('Healthy');
    expect(computeEdgeHealth(http({ http: '10.00', http5xx: '0.30' }))).toBe('Degraded');
    expect(computeEdgeHealth(http({ http: '3.01', http5xx: '0.45' }))).toBe('Failure');
  });

  it('4xx tolerates up to 10% and fails at 20%', () => {
    expect(computeEdgeHealth(http({ http: '10.00', http4xx: '0.90' }))).toBe('Healthy');
    expect(computeEdgeHealth(http({ http: '10.00', http4xx: '1.50' }))).toBe('Degraded');
    expect(computeEdgeHealth(http({ http: '10.00', http4xx: '2.00' }))).toBe('Failure');
  });

  it('uses gRPC error rates for gRPC edges and never grades TCP', () => {
    const grpc: EdgeData = { id: 'g', source: 'a', target: 'b', traffic: { protocol: 'grpc', rates: { grpc: '5.00', grpcErr: '1.00' } } };
    expect(computeEdgeHealth(grpc)).toBe('Failure');
    expect(edgeErrorPercent(grpc)).toBeCloseTo(20);
    const tcp: EdgeData = { id: 't', source: 'a', target: 'b', traffic: { protocol: 'tcp', rates: { tcp: '1520.50' } } };
    expect(edgeRate(tcp)).toBe(1520.5);
    expect(computeEdgeHealth(tcp)).toBe('Healthy');
    expect(edgeColor(tcp)).toBe(TCP_COLOR);
  });

  it('prefers the server verdict, grey without traffic', () => {
    expect(edgeHealth(http({ http: '10.00' }, 'Failure'))).toBe('Failure');
    expect(edgeHealth(http({ http: '10.00', http5xx: '5.00' }, 'NA'))).toBe('Failure');
    expect(edgeColor(http({ http: '0.00' }, 'Healthy'))).toBe(IDLE_COLOR);
    expect(edgeColor(http({ http: '3.01', http5xx: '0.45' }))).toBe(HEALTH_COLORS.Failure);
  });
});
