import { emptyState, h } from '../ui/dom';
import type { PageFactory } from './page';

export const createNotFoundPage: PageFactory = () => {
  const el = h(
    'section',
    { class: 'page page-narrow', 'data-testid': 'page-not-found' },
    emptyState('not-found', 'Page not found', 'meshview has no page at this address.', h('a', { href: '/graph' }, 'Open the graph')),
  );
  return { el, title: 'Not found', destroy() {} };
};
