// The app's routes: the paths Django serves the page for.

export type Route =
  | { name: 'graph'; search: string }
  | { name: 'traces'; search: string }
  | { name: 'trace'; traceID: string; search: string }
  | { name: 'alerts'; search: string }
  | { name: 'notFound'; path: string; search: string };

export function matchRoute(pathname: string, search = ''): Route {
  const path = pathname.replace(/\/+$/, '') || '/';
  if (path === '/' || path === '/graph') return { name: 'graph', search };
  if (path === '/traces') return { name: 'traces', search };
  const trace = /^\/traces\/([^/]+)$/.exec(path);
  if (trace) return { name: 'trace', traceID: decodeURIComponent(trace[1]), search };
  if (path === '/alerts') return { name: 'alerts', search };
  return { name: 'notFound', path, search };
}

/** The nav section a route belongs to. */
export function sectionOf(route: Route): 'graph' | 'traces' | 'alerts' | null {
  switch (route.name) {
    case 'graph':
      return 'graph';
    case 'traces':
    case 'trace':
      return 'traces';
    case 'alerts':
      return 'alerts';
    default:
      return null;
  }
}

/** True for a link the app handles itself: same origin, one of its routes, no download. */
export function isAppLink(url: URL, origin: string): boolean {
  if (url.origin !== origin) return false;
  return matchRoute(url.pathname).name !== 'notFound';
}
