import type { Route } from './routes';

export interface PageContext {
  /** Go to an app URL without reloading (pushState; `replace` for replaceState). */
  navigate(url: string, options?: { replace?: boolean }): void;
  /** Put the page's settings in the URL's query string without a new history entry. */
  setQuery(search: string): void;
}

export interface Page {
  el: HTMLElement;
  title: string;
  /** Take a new URL of the same route in place; false to be rebuilt instead. */
  update?(route: Route): boolean;
  destroy(): void;
}

export type PageFactory<R extends Route = Route> = (route: R, ctx: PageContext) => Page;
