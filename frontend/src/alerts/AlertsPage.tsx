// Alert rules: what meshview evaluates against the graph and its traffic, and the webhooks they call.
import { EmptyState } from '../ui/EmptyState';
import { useTitle } from '../ui/useTitle';

export function AlertsPage() {
  useTitle('Alerts');
  return (
    <section className="page page-narrow page-alerts" data-testid="page-alerts">
      <header className="page-header">
        <h1>Alerts</h1>
        <p className="muted">Rules that meshview evaluates against the graph and its traffic, and the webhooks they call.</p>
      </header>
      <EmptyState testid="alerts-empty" title="No alert rules yet" text="Alert rules and their last state show up here once alerting is set up." />
    </section>
  );
}
