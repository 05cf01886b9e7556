// The shell: masthead with the navigation, and the router that swaps pages without reloads.
import { h } from '../ui/dom';
import type { Page, PageContext, PageFactory } from './page';
import { isAppLink, matchRoute, sectionOf, type Route } from './routes';

type Loader = () => Promise<PageFactory>;

const LOADERS: Record<Route['name'], Loader> = {
  graph: () => import('../graph/page').then((m) => m.createGraphPage as PageFactory),
  traces: () => import('../traces/searchPage').then((m) => m.createSearchPage as PageFactory),
  trace: () => import('../traces/tracePage').then((m) => m.createTracePage as PageFactory),
  alerts: () => import('../alerts/page').then((m) => m.createAlertsPage as PageFactory),
  notFound: () => import('./notFound').then((m) => m.createNotFoundPage as PageFactory),
};

const NAV = [
  { section: 'graph', href: '/graph', label: 'Graph' },
  { section: 'traces', href: '/traces', label: 'Traces' },
  { section: 'alerts', href: '/alerts', label: 'Alerts' },
] as const;

function logo(): SVGSVGElement {
  const ns = 'http://www.w3.org/2000/svg';
  const el = document.createElementNS(ns, 'svg');
  el.setAttribute('viewBox', '0 0 24 24');
  el.setAttribute('class', 'brand-mark');
  el.setAttribute('aria-hidden', 'true');
  el.innerHTML =
    '<path d="M5 6 L12 12 L19 5 M12 12 L7 19 M12 12 L19 17" stroke="currentColor" stroke-width="1.6" fill="none"/>' +
    '<circle cx="5" cy="6" r="2.4"/><circle cx="19" cy="5" r="2.4"/><circle cx="7" cy="19" r="2.4"/>' +
    '<circle cx="19" cy="17" r="2.4"/><circle cx="12" cy="12" r="3"/>';
  return el;
}

export class App {
  private current: Page | null = null;
  private currentRoute: Route | null = null;
  private generation = 0;
  private readonly main: HTMLElement;
  private readonly links = new Map<string, HTMLAnchorElement>();
  private readonly ctx: PageContext;

  constructor(private readonly root: HTMLElement) {
    this.ctx = {
      navigate: (url, options) => this.navigate(url, options),
      setQuery: (search) => {
        const url = `${window.location.pathname}${search}`;
        if (url !== `${window.location.pathname}${window.location.search}`) window.history.replaceState(null, '', url);
      },
    };
    const nav = h('nav', { class: 'nav', 'aria-label': 'Main' });
    for (const item of NAV) {
      const link = h('a', { href: item.href, class: 'nav-link', 'data-testid': `nav-${item.section}` }, item.label);
      this.links.set(item.section, link);
      nav.appendChild(link);
    }
    const header = h(
      'header',
      { class: 'masthead' },
      h('a', { href: '/graph', class: 'brand', 'aria-label': 'meshview home' }, logo(), h('span', null, 'meshview')),
      nav,
    );
    this.main = h('main', { class: 'app-main', id: 'main' });
    this.root.replaceChildren(header, this.main);

    document.addEventListener('click', (event) => this.onClick(event));
    window.addEventListener('popstate', () => this.render());
  }

  start(): void {
    if (window.location.pathname === '/' || window.location.pathname === '') {
      window.history.replaceState(null, '', `/graph${window.location.search}`);
    }
    this.render();
  }

  navigate(url: string, options: { replace?: boolean } = {}): void {
    if (options.replace) window.history.replaceState(null, '', url);
    else window.history.pushState(null, '', url);
    this.render();
  }

  private onClick(event: MouseEvent): void {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const anchor = (event.target as Element | null)?.closest?.('a');
    if (!anchor || anchor.hasAttribute('download') || (anchor.target && anchor.target !== '_self')) return;
    const url = new URL(anchor.href, window.location.href);
    if (!isAppLink(url, window.location.origin)) return;
    event.preventDefault();
    if (url.pathname + url.search !== window.location.pathname + window.location.search) {
      this.navigate(url.pathname + url.search);
    }
  }

  private async render(): Promise<void> {
    const route = matchRoute(window.location.pathname, window.location.search);
    const section = sectionOf(route);
    for (const [name, link] of this.links) {
      link.classList.toggle('active', name === section);
      if (name === section) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
    if (this.current && this.currentRoute?.name === route.name && this.current.update?.(route)) {
      this.currentRoute = route;
      return;
    }
    const generation = ++this.generation;
    let factory: PageFactory;
    try {
      factory = await LOADERS[route.name]();
    } catch {
      if (generation === this.generation) {
        this.main.replaceChildren(
          h('div', { class: 'banner banner-error' }, 'This part of meshview could not be loaded. Reload the page to try again.'),
        );
      }
      return;
    }
    if (generation !== this.generation) return;
    this.current?.destroy();
    const page = factory(route, this.ctx);
    this.current = page;
    this.currentRoute = route;
    this.main.replaceChildren(page.el);
    document.title = `${page.title} · meshview`;
  }
}
