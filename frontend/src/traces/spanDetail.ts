// The expanded span: its tags, process, logs and references.
import { h, type Child } from '../ui/dom';
import { formatDateTime } from '../ui/time';
import { formatTagValue, logRows, referenceRows } from './model/detail';
import { formatDuration } from './model/duration';
import type { SpanRow, TraceModel } from './model/tree';
import type { KeyValue } from './model/types';

function kvTable(tags: KeyValue[] | null | undefined, testid: string): HTMLElement {
  const list = tags ?? [];
  if (!list.length) return h('p', { class: 'muted small' }, 'None');
  return h(
    'table',
    { class: 'kv-table', 'data-testid': testid },
    h(
      'tbody',
      null,
      ...list.map((t) =>
        h(
          'tr',
          { class: (t.key === 'error' && formatTagValue(t) === 'true') || (t.key === 'otel.status_code' && t.value === 'ERROR') ? 'kv-error' : '' },
          h('th', null, t.key),
          h('td', null, formatTagValue(t)),
        ),
      ),
    ),
  );
}

function block(title: string, count: number | null, ...children: Child[]): HTMLElement {
  return h('section', { class: 'detail-block' }, h('h4', null, title, count === null ? null : h('span', { class: 'count' }, String(count))), ...children);
}

export function spanDetail(row: SpanRow, model: TraceModel, onJump: (row: number) => void): HTMLElement {
  const span = row.span;
  const process = model.processes[span.processID];
  const logs = logRows(span.logs, model.startTime);
  const refs = referenceRows(row, model);
  const kind = (span.tags ?? []).find((t) => t.key === 'span.kind');
  return h(
    'div',
    { class: 'span-detail-body' },
    h(
      'header',
      { class: 'detail-header' },
      h('h3', null, h('span', { class: 'muted' }, `${row.serviceName}: `), row.operationName),
      h(
        'dl',
        { class: 'detail-facts' },
        h('dt', null, 'Duration'),
        h('dd', null, formatDuration(row.duration)),
        h('dt', null, 'Start'),
        h('dd', null, `+${formatDuration(row.startOffset)}`, h('span', { class: 'muted' }, ` (${formatDateTime(span.startTime / 1000)})`)),
        kind ? [h('dt', null, 'Kind'), h('dd', null, formatTagValue(kind))] : null,
        h('dt', null, 'Span ID'),
        h('dd', { class: 'mono' }, span.spanID),
        row.critical ? [h('dt', null, 'Critical path'), h('dd', null, 'yes')] : null,
      ),
    ),
    (span.warnings ?? []).length ? h('div', { class: 'banner banner-warning small' }, ...(span.warnings ?? []).map((w) => h('div', null, w))) : null,
    h(
      'div',
      { class: 'detail-grid' },
      block('Tags', (span.tags ?? []).length, kvTable(span.tags, 'span-tags')),
      block(`Process: ${process?.serviceName ?? span.processID}`, (process?.tags ?? []).length, kvTable(process?.tags, 'process-tags')),
    ),
    block(
      'Logs',
      logs.length,
      logs.length
        ? h(
            'ol',
            { class: 'log-list', 'data-testid': 'span-logs' },
            ...logs.map((log) =>
              h('li', null, h('div', { class: 'log-head' }, h('span', { class: 'log-time' }, `+${formatDuration(log.offset)}`), h('strong', null, log.event || 'log')), log.fields.length ? kvTable(log.fields, 'log-fields') : null),
            ),
          )
        : h('p', { class: 'muted small' }, 'None'),
    ),
    block(
      'References',
      refs.length,
      refs.length
        ? h(
            'ul',
            { class: 'ref-list' },
            ...refs.map((ref) =>
              h(
                'li',
                null,
                h('span', { class: 'pill pill-outline' }, ref.refType),
                ' ',
                ref.row >= 0
                  ? h('button', { type: 'button', class: 'link-button', onclick: () => onJump(ref.row) }, ref.label)
                  : ref.traceID && ref.traceID !== model.traceID
                    ? h('a', { href: `/traces/${encodeURIComponent(ref.traceID)}` }, ref.label)
                    : h('span', { class: 'muted' }, ref.label),
                h('span', { class: 'mono muted small' }, ` ${ref.spanID}`),
              ),
            ),
          )
        : h('p', { class: 'muted small' }, 'None: a root span'),
    ),
  );
}
