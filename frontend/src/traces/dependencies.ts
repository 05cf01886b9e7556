// The System Architecture page's data: its lookbacks and the route's loader, which asks for the
// first answer while the page's code (cytoscape with it) is still on its way.
import type { LoaderFunctionArgs } from 'react-router';
import { isAbort } from '../api/http';
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
  links: DependencyLink[] | null;
  error: string;
}

export function dependenciesError(err: unknown): string {
  return `The dependencies could not be loaded: ${(err as Error).message}`;
}

/** The answer for the first lookback, asked for while the page's code is loading: the page is
 * first drawn with it, or with its error. */
export async function dependenciesLoader({ request }: LoaderFunctionArgs): Promise<FirstDependencies> {
  const lookback = DEFAULT_DEPENDENCY_LOOKBACK;
  try {
    return { lookback, links: await loadDependencies(lookback, request.signal), error: '' };
  } catch (err) {
    if (isAbort(err)) throw err;
    return { lookback, links: null, error: dependenciesError(err) };
  }
}
