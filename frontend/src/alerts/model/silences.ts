// Silence matchers as users type them, Alertmanager's way: name="value", name=~"regex",
// name!="value", name!~"regex", separated by commas.
import type { Silence } from '../../api/alerts';

type Matcher = Silence['matchers'][number];

const MATCHER = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(?:"((?:[^"\\]|\\.)*)"|([^,"]*?))\s*$/;

/** The matchers of a text, or a message saying which part cannot be read. */
export function parseMatchers(text: string): Matcher[] | string {
  const parts = text.split(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/).filter((p) => p.trim());
  if (!parts.length) return 'Give at least one matcher, e.g. alertname="reviews 5xx"';
  const matchers: Matcher[] = [];
  for (const part of parts) {
    const m = MATCHER.exec(part);
    if (!m) return `Cannot read the matcher ${part.trim()}: write name="value" or name=~"regex"`;
    const op = m[2];
    matchers.push({
      name: m[1],
      value: (m[3] ?? m[4] ?? '').replace(/\\(.)/g, '$1'),
      isRegex: op === '=~' || op === '!~',
      isEqual: op === '=' || op === '=~',
    });
  }
  return matchers;
}
