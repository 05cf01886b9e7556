// Jaeger's trace compare: two traces folded into one call tree, the differences coloured.
import { useEffect, useMemo, useState } from 'react';
import { Link, useLocation, useNavigate } from 'react-router';
import { isAbort } from '../api/http';
import { fetchTrace } from '../api/jaeger';
import { DagView } from '../ui/DagView';
import { useTitle } from '../ui/useTitle';
import { compareTraces, type DiffState } from './model/compare';
import { formatDuration } from './model/duration';
import { buildTraceModel, type TraceModel } from './model/tree';
import { traceHref } from './Results';
import './traces.css';

const STATE_STYLE: Record<DiffState, { fill: string; border: string; label: string }> = {
  same: { fill: '#ffffff', border: '#8a8d90', label: 'in both' },
  'only-a': { fill: '#fbe2de', border: '#c9190b', label: 'only in A' },
  'only-b': { fill: '#e2f3df', border: '#3e8635', label: 'only in B' },
  'more-a': { fill: '#fdf0ee', border: '#e05c4b', label: 'more spans in A' },
  'more-b': { fill: '#f0f8ee', border: '#6fae63', label: 'more spans in B' },
};

type Side = { status: 'empty' } | { status: 'loading' } | { status: 'missing' } | { status: 'error'; message: string } | { status: 'ok'; model: TraceModel };

function useTraceModel(traceID: string): Side {
  const [side, setSide] = useState<Side>({ status: 'empty' });
  useEffect(() => {
    if (!traceID) {
      setSide({ status: 'empty' });
      return;
    }
    const controller = new AbortController();
    setSide({ status: 'loading' });
    fetchTrace(traceID, controller.signal)
      .then((trace) => setSide(trace && trace.spans?.length ? { status: 'ok', model: buildTraceModel(trace) } : { status: 'missing' }))
      .catch((err) => {
        if (!isAbort(err)) setSide({ status: 'error', message: (err as Error).message });
      });
    return () => controller.abort();
  }, [traceID]);
  return side;
}

function SideSummary({ name, id, side }: { name: string; id: string; side: Side }) {
  if (side.status === 'empty') return <span className="muted">{name}: no trace chosen</span>;
  if (side.status === 'loading') return <span className="muted">{name}: loading…</span>;
  if (side.status === 'missing') return <span className="code-error">{name}: no trace {id}</span>;
  if (side.status === 'error') return <span className="code-error">{name}: {side.message}</span>;
  const m = side.model;
  return (
    <span data-testid={`compare-${name.toLowerCase()}`}>
      <strong>{name}</strong>: <Link to={traceHref(m.traceID)}>{m.rootServiceName}: {m.rootOperationName}</Link> · {m.spanCount} spans · {formatDuration(m.duration)}
    </span>
  );
}

export function ComparePage() {
  useTitle('Compare traces');
  const location = useLocation();
  const navigate = useNavigate();
  const params = new URLSearchParams(location.search);
  const a = params.get('a') ?? '';
  const b = params.get('b') ?? '';
  const [textA, setTextA] = useState(a);
  const [textB, setTextB] = useState(b);
  useEffect(() => {
    setTextA(a);
    setTextB(b);
  }, [a, b]);
  const sideA = useTraceModel(a);
  const sideB = useTraceModel(b);

  const diff = useMemo(
    () => (sideA.status === 'ok' || sideB.status === 'ok' ? compareTraces(sideA.status === 'ok' ? sideA.model : null, sideB.status === 'ok' ? sideB.model : null) : []),
    [sideA, sideB],
  );
  const dag = useMemo(
    () => ({
      nodes: diff.map((n) => ({
        id: n.id,
        label: `${n.service}\n${n.operation}\nA ${n.countA} · B ${n.countB}`,
        fill: STATE_STYLE[n.state].fill,
        border: STATE_STYLE[n.state].border,
      })),
      edges: diff.filter((n) => n.parentId !== null).map((n) => ({ id: `e:${n.id}`, source: n.parentId!, target: n.id, color: STATE_STYLE[n.state].border })),
    }),
    [diff],
  );
  const counts = diff.reduce<Record<DiffState, number>>((acc, n) => ({ ...acc, [n.state]: acc[n.state] + 1 }), { same: 0, 'only-a': 0, 'only-b': 0, 'more-a': 0, 'more-b': 0 });

  return (
    <section className="page page-compare" data-testid="page-compare">
      <div className="toolbar">
        <form
          className="compare-form"
          onSubmit={(e) => {
            e.preventDefault();
            navigate(`/traces/compare?a=${encodeURIComponent(textA.trim())}&b=${encodeURIComponent(textB.trim())}`);
          }}
        >
          <label className="control">
            <span className="control-label">Trace A</span>
            <input type="text" data-testid="compare-input-a" value={textA} onChange={(e) => setTextA(e.target.value)} placeholder="trace id" />
          </label>
          <label className="control">
            <span className="control-label">Trace B</span>
            <input type="text" data-testid="compare-input-b" value={textB} onChange={(e) => setTextB(e.target.value)} placeholder="trace id" />
          </label>
          <button type="submit" className="button button-primary">
            Compare
          </button>
        </form>
        <span className="toolbar-spacer" />
        <div className="compare-legend" data-testid="compare-legend">
          {(Object.keys(STATE_STYLE) as DiffState[]).map((s) => (
            <span key={s}>
              <span className="swatch" style={{ background: STATE_STYLE[s].fill, borderColor: STATE_STYLE[s].border }} />
              {STATE_STYLE[s].label} ({counts[s]})
            </span>
          ))}
        </div>
      </div>
      <div className="banner banner-info">
        <SideSummary name="A" id={a} side={sideA} /> <br />
        <SideSummary name="B" id={b} side={sideB} />
      </div>
      {diff.length ? (
        <div className="dag-stage">
          <DagView nodes={dag.nodes} edges={dag.edges} testid="compare-dag" />
        </div>
      ) : null}
    </section>
  );
}
