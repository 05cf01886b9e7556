// Jaeger's System Architecture page: the services and who calls whom, from the spans, as a DAG.
import { useEffect, useMemo, useRef, useState } from 'react';
import { useLoaderData } from 'react-router';
import { isAbort } from '../api/http';
import { DagView } from '../ui/DagView';
import { EmptyState } from '../ui/EmptyState';
import { SelectControl } from '../ui/MultiSelect';
import { useTitle } from '../ui/useTitle';
import { DEPENDENCY_LOOKBACKS, dependenciesError, loadDependencies, type FirstDependencies } from './dependencies';
import { serviceColors } from './model/colors';
import './traces.css';

export function DependenciesPage() {
  useTitle('System architecture');
  const first = useLoaderData<FirstDependencies>();
  const [lookback, setLookback] = useState(first.lookback);
  const [links, setLinks] = useState(first.links);
  const [error, setError] = useState(first.error);
  // The loader answered the first lookback; every choice after it asks again.
  const answered = useRef(first.lookback);

  useEffect(() => {
    if (answered.current === lookback) return;
    answered.current = lookback;
    const controller = new AbortController();
    setError('');
    loadDependencies(lookback, controller.signal)
      .then(setLinks)
      .catch((err) => {
        if (!isAbort(err)) setError(dependenciesError(err));
      });
    return () => controller.abort();
  }, [lookback]);

  const { nodes, edges } = useMemo(() => {
    const services = [...new Set((links ?? []).flatMap((l) => [l.parent, l.child]))].sort();
    serviceColors.seed(services);
    const max = Math.max(1, ...(links ?? []).map((l) => l.callCount));
    return {
      nodes: services.map((s) => ({ id: s, label: s, border: serviceColors.get(s), fill: '#ffffff' })),
      edges: (links ?? []).map((l) => ({
        id: `${l.parent}->${l.child}`,
        source: l.parent,
        target: l.child,
        label: `${l.callCount} call${l.callCount === 1 ? '' : 's'}`,
        width: 1 + 4 * Math.log10(1 + (9 * l.callCount) / max),
      })),
    };
  }, [links]);

  return (
    <section className="page page-dependencies" data-testid="page-dependencies">
      <div className="toolbar">
        <h1 className="toolbar-title">System architecture</h1>
        <span className="muted">Services and the calls between them, from the spans.</span>
        <span className="toolbar-spacer" />
        <SelectControl label="Lookback" testid="dependencies-lookback" options={DEPENDENCY_LOOKBACKS} value={lookback} onChange={setLookback} />
      </div>
      {error ? (
        <div className="banner banner-error" role="alert">
          {error}
        </div>
      ) : null}
      {links === null ? (
        <div className="loading">Loading the dependencies…</div>
      ) : links.length ? (
        <div className="dag-stage">
          <DagView nodes={nodes} edges={edges} testid="dependencies-dag" />
        </div>
      ) : (
        <EmptyState testid="dependencies-empty" title="No dependencies" text="No span called another service in this lookback." />
      )}
    </section>
  );
}
