import { describe, expect, it } from 'vitest';
import bookinfo from '../__fixtures__/bookinfo-graph.json';
import { hiddenElements, matchElements, parseExpression, type Expression } from './expressions';
import { stateFromGraph } from './store';
import type { GraphJson } from './types';

const state = stateFromGraph(structuredClone(bookinfo) as unknown as GraphJson);

function expr(text: string): Expression | null {
  const parsed = parseExpression(text);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.expression;
}

const nodes = (text: string) => [...matchElements(state, expr(text)).nodes].sort();
const edges = (text: string) => [...matchElements(state, expr(text)).edges].sort();

describe('find and hide expressions', () => {
  it('selects nodes by name, namespace, type and rate', () => {
    expect(nodes('name = reviews')).toEqual(['app/reviews-v1', 'app/reviews-v2', 'app/reviews-v3', 'svc/reviews']);
    expect(nodes('node = unknown')).toEqual(['unknown']);
    expect(nodes('namespace = istio-system')).toEqual(['istio-system/istio-ingressgateway']);
    expect(nodes('httpout > 1')).toEqual(['istio-system/istio-ingressgateway']);
    expect(nodes('name = rev* AND version = v2')).toEqual(['app/reviews-v2']);
    expect(nodes('node = unknown OR namespace = istio-system')).toEqual(['istio-system/istio-ingressgateway', 'unknown']);
    expect(nodes('mongo')).toEqual(['app/mongodb-v1', 'svc/mongodb']);
    expect(nodes('root')).toEqual(['istio-system/istio-ingressgateway', 'unknown']);
  });

  it('selects edges by error share, response time and protocol', () => {
    expect(edges('%httperr > 5')).toEqual(['e9']);
    expect(edges('%httperr > 1')).toEqual(['e3', 'e4', 'e9']);
    expect(edges('rt > 40')).toEqual(['e0', 'e2']);
    expect(edges('protocol = tcp')).toEqual(['e12', 'e13']);
    expect(edges('!mtls')).toEqual(['e1']);
    expect(edges('http >= 10 AND rt < 40')).toEqual(['e3', 'e4', 'e5']);
  });

  it('joins node and edge clauses through the edge ends', () => {
    const found = matchElements(state, expr('name = reviews AND %httperr > 5'));
    expect([...found.edges]).toEqual(['e9']);
    expect([...found.nodes]).toEqual(['app/reviews-v2']);
  });

  it('hides matched nodes with their edges', () => {
    const hidden = hiddenElements(state, expr('node = unknown'));
    expect([...hidden.nodes]).toEqual(['unknown']);
    expect([...hidden.edges]).toEqual(['e1']);
    expect(hiddenElements(state, null).nodes.size).toBe(0);
  });

  it('says what is wrong with an expression', () => {
    expect(parseExpression('')).toEqual({ ok: true, expression: null });
    expect(parseExpression('colour = red')).toEqual({ ok: false, error: 'unknown operand "colour"' });
    expect(parseExpression('rt > slow')).toEqual({ ok: false, error: '"rt" compares with a number, not "slow"' });
    expect(parseExpression('name > 3')).toEqual({ ok: false, error: '"name" takes =, != or contains' });
    expect(parseExpression('name = a AND')).toMatchObject({ ok: false });
    expect(parseExpression('two words')).toMatchObject({ ok: false });
  });
});
