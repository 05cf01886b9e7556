// Trace compare, as Jaeger UI's: both traces folded into one tree of call paths
// (service and operation from the root down); each path counts its spans in A and in B, so the
// paths only one trace has, and those with more spans in one, are the differences.
import type { TraceModel } from './tree';

export type DiffState = 'same' | 'only-a' | 'only-b' | 'more-a' | 'more-b';

export interface DiffNode {
  /** the call path: `service operation` of each span from the root, joined by '\n' */
  id: string;
  parentId: string | null;
  service: string;
  operation: string;
  countA: number;
  countB: number;
  /** summed span durations in µs */
  durationA: number;
  durationB: number;
  state: DiffState;
}

function stateOf(a: number, b: number): DiffState {
  if (a === b) return 'same';
  if (!b) return 'only-a';
  if (!a) return 'only-b';
  return a > b ? 'more-a' : 'more-b';
}

/** Paths of a trace's spans with their counts and summed durations. */
function paths(model: TraceModel | null): Map<string, { parentId: string | null; service: string; operation: string; count: number; duration: number }> {
  const out = new Map<string, { parentId: string | null; service: string; operation: string; count: number; duration: number }>();
  if (!model) return out;
  const ids: string[] = [];
  for (const row of model.rows) {
    const parentId = row.parentIndex >= 0 ? ids[row.parentIndex] : null;
    const id = `${parentId === null ? '' : `${parentId}\n`}${row.serviceName} ${row.operationName}`;
    ids[row.index] = id;
    const entry = out.get(id) ?? { parentId, service: row.serviceName, operation: row.operationName, count: 0, duration: 0 };
    entry.count += 1;
    entry.duration += row.duration;
    out.set(id, entry);
  }
  return out;
}

/** The folded tree of A and B, parents before children. */
export function compareTraces(a: TraceModel | null, b: TraceModel | null): DiffNode[] {
  const pa = paths(a);
  const pb = paths(b);
  const ids = [...new Set([...pa.keys(), ...pb.keys()])].sort((x, y) => x.split('\n').length - y.split('\n').length || x.localeCompare(y));
  return ids.map((id) => {
    const ea = pa.get(id);
    const eb = pb.get(id);
    const any = (ea ?? eb)!;
    return {
      id,
      parentId: any.parentId,
      service: any.service,
      operation: any.operation,
      countA: ea?.count ?? 0,
      countB: eb?.count ?? 0,
      durationA: ea?.duration ?? 0,
      durationB: eb?.duration ?? 0,
      state: stateOf(ea?.count ?? 0, eb?.count ?? 0),
    };
  });
}
