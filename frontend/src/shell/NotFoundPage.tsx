import { Link } from 'react-router';
import { EmptyState } from '../ui/EmptyState';
import { useTitle } from '../ui/useTitle';

export function NotFoundPage() {
  useTitle('Not found');
  return (
    <section className="page page-narrow" data-testid="page-not-found">
      <EmptyState testid="not-found" title="Page not found" text="meshview has no page at this address.">
        <Link to="/graph">Open the graph</Link>
      </EmptyState>
    </section>
  );
}
