// The app's routes: the paths Django serves index.html for. Each page loads as its own chunk.
import { createBrowserRouter, Navigate, useLocation } from 'react-router';
import { dependenciesLoader } from '../traces/dependencies';
import { AppShell } from './AppShell';
import { NotFoundPage } from './NotFoundPage';

/** `/` is the graph, with whatever query it was given. */
function ToGraph() {
  const { search } = useLocation();
  return <Navigate to={{ pathname: '/graph', search }} replace />;
}

export const router = createBrowserRouter([
  {
    path: '/',
    element: <AppShell />,
    // The first page's chunk is loading: the shell shows as soon as it is there.
    hydrateFallbackElement: <div className="loading">Loading…</div>,
    children: [
      { index: true, element: <ToGraph /> },
      { path: 'graph', lazy: async () => ({ Component: (await import('../graph/GraphPage')).GraphPage }) },
      { path: 'traces', lazy: async () => ({ Component: (await import('../traces/SearchPage')).SearchPage }) },
      { path: 'traces/compare', lazy: async () => ({ Component: (await import('../traces/ComparePage')).ComparePage }) },
      // Its data is asked for beside its code, not after it.
      { path: 'dependencies', loader: dependenciesLoader, lazy: async () => ({ Component: (await import('../traces/DependenciesPage')).DependenciesPage }) },
      { path: 'traces/:traceID', lazy: async () => ({ Component: (await import('../traces/TracePage')).TracePage }) },
      { path: 'alerts', lazy: async () => ({ Component: (await import('../alerts/AlertsPage')).AlertsPage }) },
      { path: '*', element: <NotFoundPage /> },
    ],
  },
]);
