// The System Architecture page's data: its lookbacks and the route's loader, which asks for the
// first answer while the page's code (cytoscape with it) is still on its way.
import type { LoaderFunctionArgs } from 'react-router';
import { fetchDependencies, type DependencyLink } from '../api/jaeger';
import { LOOKBACKS } from './model/search';

// Dependencies come from the rollups, kept a week by default (MESHVIEW_TRAFFIC_RETENTION), so
// the page reaches further back than a trace search does.
export const DEPENDENCY_LOOKBACKS = [...LOOKBACKS, { value: '7d', label: 'Last 7 days', us: 7 * 24 * 3600e6 }];
export const DEFAULT_DEPENDENCY_LOOKBACK = '1h';

/** The service calls over `lookback` (one of DEPENDENCY_LOOKBACKS) up to now. */
export function loadDependencies(lookback: string, signal?: AbortSignal): Promise<DependencyLink[]> {
  const us = DEPENDENCY_LOOKBACKS.find((l) => l.value === lookback)?.us ?? 3600e6;
  return fetchDependencies(Date.now(), us / 1000, signal);
}

export interface FirstDependencies {
  lookback: string;
  /** Not awaited: the page draws from it, or shows its error, once it is there. */
  links: Promise<DependencyLink[]>;
}

export function dependenciesLoader({ request }: LoaderFunctionArgs): FirstDependencies {
  const links = loadDependencies(DEFAULT_DEPENDENCY_LOOKBACK, request.signal);
  // The page handles a failure; one that ends a navigation away is nobody's to report.
  links.catch(() => undefined);
  return { lookback: DEFAULT_DEPENDENCY_LOOKBACK, links };
}
