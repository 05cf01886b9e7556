// Find and hide expressions in the subset of Kiali's graph grammar that meshview reads:
//   <operand> <op> <value> clauses joined by AND or OR (AND binds tighter), for example
//   `name = reviews`, `namespace != istio-system`, `node = unknown`, `httpin > 10`,
//   `%httperr > 5`, `rt > 1000`, `protocol = tcp`, `mtls`, `!idle`.
// Text operands compare without case and accept `*` wildcards; `contains` and `!contains` match a
// part. A bare word with no operator finds nodes whose name contains it.
import { nodeName } from './elements';
import { parseRate } from './format';
import { edgeErrorPercent, edgeHealth, edgeProtocol, edgeRate } from './health';
import type { GraphState } from './store';
import type { EdgeData, NodeData } from './types';

type Operator = '=' | '!=' | '>' | '>=' | '<' | '<=' | 'contains' | '!contains';

export interface Clause {
  target: 'node' | 'edge';
  operand: string;
  op: Operator | 'is' | 'not';
  value: string;
}

export interface Expression {
  /** OR of ANDs */
  any: Clause[][];
}

export type Parsed = { ok: true; expression: Expression | null } | { ok: false; error: string };

const NODE_TEXT = ['name', 'namespace', 'ns', 'app', 'version', 'workload', 'service', 'node', 'cluster'] as const;
const NODE_NUMBER = ['httpin', 'httpout', 'grpcin', 'grpcout', 'tcpin', 'tcpout'] as const;
const EDGE_TEXT = ['protocol', 'health', 'flag', 'code'] as const;
const EDGE_NUMBER = ['%httperr', '%grpcerr', '%err', 'http', 'grpc', 'tcp', 'rt', '%mtls', '%httptraffic'] as const;
const NODE_UNARY = ['idle', 'root', 'outside', 'unknown', 'sidecar', 'cb', 'gateway', 'healthy', 'degraded', 'failure'] as const;
const EDGE_UNARY = ['mtls', 'error'] as const;

const OPERATOR = /^(.+?)\s*(!contains|contains|>=|<=|!=|=|>|<)\s*(.+)$/i;

function parseClause(text: string): Clause | string {
  const t = text.trim();
  if (!t) return 'an empty clause';
  const m = OPERATOR.exec(t);
  if (!m) {
    const negated = t.startsWith('!');
    const word = (negated ? t.slice(1) : t).trim().toLowerCase();
    const op = negated ? 'not' : 'is';
    if ((NODE_UNARY as readonly string[]).includes(word)) return { target: 'node', operand: word, op, value: '' };
    if ((EDGE_UNARY as readonly string[]).includes(word)) return { target: 'edge', operand: word, op, value: '' };
    if (/\s/.test(t) || negated) return `"${t}" is not an expression: use operand op value, e.g. name = reviews`;
    return { target: 'node', operand: 'name', op: 'contains', value: t.toLowerCase() };
  }
  const operand = m[1].trim().toLowerCase();
  const op = m[2].toLowerCase() as Operator;
  const value = m[3].trim().replace(/^"(.*)"$/, '$1');
  const numeric = op === '>' || op === '>=' || op === '<' || op === '<=';
  const isNodeText = (NODE_TEXT as readonly string[]).includes(operand);
  const isEdgeText = (EDGE_TEXT as readonly string[]).includes(operand);
  const isNodeNumber = (NODE_NUMBER as readonly string[]).includes(operand);
  const isEdgeNumber = (EDGE_NUMBER as readonly string[]).includes(operand);
  if (!isNodeText && !isEdgeText && !isNodeNumber && !isEdgeNumber) return `unknown operand "${m[1].trim()}"`;
  if ((isNodeNumber || isEdgeNumber) && !Number.isFinite(Number(value))) return `"${operand}" compares with a number, not "${value}"`;
  if (numeric && (isNodeText || isEdgeText) && operand !== 'code') return `"${operand}" takes =, != or contains`;
  return { target: isNodeText || isNodeNumber ? 'node' : 'edge', operand: operand === 'ns' ? 'namespace' : operand, op, value: value.toLowerCase() };
}

/** Read an expression; an empty text is no expression. */
export function parseExpression(text: string): Parsed {
  if (!text.trim()) return { ok: true, expression: null };
  if (/(^|\s)(AND|OR|&&|\|\|)\s*$/i.test(text) || /^\s*(AND|OR|&&|\|\|)(\s|$)/i.test(text)) {
    return { ok: false, error: 'AND and OR join two clauses' };
  }
  const any: Clause[][] = [];
  for (const alternative of text.split(/\s+(?:OR|\|\|)\s+/i)) {
    const all: Clause[] = [];
    for (const part of alternative.split(/\s+(?:AND|&&)\s+/i)) {
      const clause = parseClause(part);
      if (typeof clause === 'string') return { ok: false, error: clause };
      all.push(clause);
    }
    any.push(all);
  }
  return { ok: true, expression: { any } };
}

function wildcard(pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
}

function compareText(actual: string[], op: Clause['op'], value: string): boolean {
  const values = actual.filter(Boolean).map((a) => a.toLowerCase());
  switch (op) {
    case '=':
      return values.some((a) => wildcard(value).test(a));
    case '!=':
      return !values.some((a) => wildcard(value).test(a));
    case 'contains':
      return values.some((a) => a.includes(value));
    case '!contains':
      return !values.some((a) => a.includes(value));
    default:
      return false;
  }
}

function compareNumber(actual: number, op: Clause['op'], value: string): boolean {
  const v = Number(value);
  switch (op) {
    case '=':
      return actual === v;
    case '!=':
      return actual !== v;
    case '>':
      return actual > v;
    case '>=':
      return actual >= v;
    case '<':
      return actual < v;
    case '<=':
      return actual <= v;
    default:
      return false;
  }
}

function nodeRate(node: NodeData, key: string): number {
  let total = 0;
  for (const t of node.traffic ?? []) total += parseRate(t.rates?.[key.replace(/(in|out)$/, (d) => (d === 'in' ? 'In' : 'Out'))]);
  return total;
}

function nodeHasTraffic(node: NodeData, state: GraphState): boolean {
  for (const edge of state.edges.values()) if ((edge.source === node.id || edge.target === node.id) && edgeRate(edge) > 0) return true;
  return false;
}

function nodeUnary(node: NodeData, operand: string, state: GraphState): boolean {
  switch (operand) {
    case 'idle':
      return !nodeHasTraffic(node, state);
    case 'root':
      return Boolean(node.isRoot);
    case 'outside':
      return Boolean(node.isOutside);
    case 'unknown':
      return node.nodeType === 'unknown';
    case 'sidecar':
      return !node.isOutOfMesh;
    case 'cb':
      return Boolean(node.hasCB);
    case 'gateway':
      return Boolean(node.isGateway);
    default:
      return String(node.healthStatus ?? '').toLowerCase() === operand;
  }
}

function nodeClause(node: NodeData, c: Clause, state: GraphState): boolean {
  // Boxes group nodes: expressions select what is inside them.
  if (node.isBox) return false;
  if (c.op === 'is' || c.op === 'not') return nodeUnary(node, c.operand, state) === (c.op === 'is');
  switch (c.operand) {
    case 'name':
      return compareText([nodeName(node, state.graphType), node.app ?? '', node.workload ?? '', node.service ?? ''], c.op, c.value);
    case 'node':
      return compareText([node.nodeType], c.op, c.value);
    case 'namespace':
    case 'app':
    case 'version':
    case 'workload':
    case 'service':
    case 'cluster':
      return compareText([String(node[c.operand] ?? '')], c.op, c.value);
    default:
      return compareNumber(nodeRate(node, c.operand), c.op, c.value);
  }
}

function edgeRt(edge: EdgeData): number {
  const p95 = edge.responseTimes?.p95;
  if (p95 !== undefined && p95 !== null && String(p95) !== '') return parseRate(p95 as number | string);
  return parseRate(edge.responseTime);
}

function edgeClause(edge: EdgeData, c: Clause): boolean {
  const protocol = edgeProtocol(edge);
  if (c.op === 'is' || c.op === 'not') {
    const yes = c.operand === 'mtls' ? parseRate(edge.isMTLS) > 0 : edgeErrorPercent(edge) > 0;
    return yes === (c.op === 'is');
  }
  switch (c.operand) {
    case 'protocol':
      return compareText([protocol], c.op, c.value);
    case 'health':
      return compareText([edgeHealth(edge)], c.op, c.value);
    case 'code':
      return Object.keys(edge.traffic?.responses ?? {}).some((code) => (c.op === '=' || c.op === '!=' || c.op === 'contains' || c.op === '!contains' ? compareText([code], c.op, c.value) : compareNumber(Number(code), c.op, c.value)));
    case 'flag':
      return compareText(Object.values(edge.traffic?.responses ?? {}).flatMap((r) => Object.keys(r.flags ?? {})), c.op, c.value);
    case '%httperr':
      return protocol === 'http' && compareNumber(edgeErrorPercent(edge), c.op, c.value);
    case '%grpcerr':
      return protocol === 'grpc' && compareNumber(edgeErrorPercent(edge), c.op, c.value);
    case '%err':
      return compareNumber(edgeErrorPercent(edge), c.op, c.value);
    case '%mtls':
      return compareNumber(parseRate(edge.isMTLS), c.op, c.value);
    case '%httptraffic':
      return protocol === 'http' && compareNumber(parseRate(edge.traffic?.rates?.httpPercentReq), c.op, c.value);
    case 'rt':
      return compareNumber(edgeRt(edge), c.op, c.value);
    default:
      return protocol === c.operand && compareNumber(edgeRate(edge), c.op, c.value);
  }
}

export interface Matches {
  nodes: Set<string>;
  edges: Set<string>;
}

/**
 * The nodes and edges an expression selects. A clause about nodes selects nodes and one about
 * edges selects edges; in an AND of both kinds, an edge matches when it and one of its ends do,
 * and a node when it and one of its edges do.
 */
export function matchElements(state: GraphState, expression: Expression | null): Matches {
  const out: Matches = { nodes: new Set(), edges: new Set() };
  if (!expression) return out;
  for (const all of expression.any) {
    const nodeClauses = all.filter((c) => c.target === 'node');
    const edgeClauses = all.filter((c) => c.target === 'edge');
    const nodeOk = (n: NodeData | undefined) => Boolean(n) && nodeClauses.every((c) => nodeClause(n!, c, state));
    const edgeOk = (e: EdgeData) => edgeClauses.every((c) => edgeClause(e, c));
    if (!edgeClauses.length) {
      for (const node of state.nodes.values()) if (nodeOk(node)) out.nodes.add(node.id);
    } else if (!nodeClauses.length) {
      for (const edge of state.edges.values()) if (edgeOk(edge)) out.edges.add(edge.id);
    } else {
      for (const edge of state.edges.values()) {
        if (!edgeOk(edge)) continue;
        for (const end of [edge.source, edge.target]) {
          if (nodeOk(state.nodes.get(end))) {
            out.edges.add(edge.id);
            out.nodes.add(end);
          }
        }
      }
    }
  }
  return out;
}

/** What hiding leaves out: the matched nodes with their edges, and the matched edges. */
export function hiddenElements(state: GraphState, expression: Expression | null): Matches {
  const hidden = matchElements(state, expression);
  for (const edge of state.edges.values()) {
    if (hidden.nodes.has(edge.source) || hidden.nodes.has(edge.target)) hidden.edges.add(edge.id);
  }
  return hidden;
}
