// The expanded span: its tags, process, logs and references, at their full height.
import { Link } from 'react-router';
import { formatDateTime } from '../ui/time';
import { formatTagValue, logRows, referenceRows } from './model/detail';
import { formatDuration } from './model/duration';
import type { SpanRow, TraceModel } from './model/tree';
import type { KeyValue } from './model/types';

function isErrorTag(t: KeyValue): boolean {
  return (t.key === 'error' && formatTagValue(t) === 'true') || (t.key === 'otel.status_code' && t.value === 'ERROR');
}

function KvTable({ tags, testid }: { tags: KeyValue[] | null | undefined; testid: string }) {
  const list = tags ?? [];
  if (!list.length) return <p className="muted small">None</p>;
  return (
    <table className="kv-table" data-testid={testid}>
      <tbody>
        {list.map((t, i) => (
          <tr key={i} className={isErrorTag(t) ? 'kv-error' : ''}>
            <th>{t.key}</th>
            <td>{formatTagValue(t)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Block({ title, count, children }: { title: string; count: number | null; children: React.ReactNode }) {
  return (
    <section className="detail-block">
      <h4>
        {title}
        {count === null ? null : <span className="count">{count}</span>}
      </h4>
      {children}
    </section>
  );
}

export function SpanDetail({ row, model, onJump, actions }: { row: SpanRow; model: TraceModel; onJump: (row: number) => void; actions?: React.ReactNode }) {
  const span = row.span;
  const process = model.processes[span.processID];
  const logs = logRows(span.logs, model.startTime);
  const refs = referenceRows(row, model);
  const kind = (span.tags ?? []).find((t) => t.key === 'span.kind');
  return (
    <div className="span-detail-body">
      <header className="detail-header">
        <h3>
          <span className="muted">{row.serviceName}: </span>
          {row.operationName}
        </h3>
        <dl className="detail-facts">
          <dt>Duration</dt>
          <dd>{formatDuration(row.duration)}</dd>
          <dt>Start</dt>
          <dd>
            +{formatDuration(row.startOffset)}
            <span className="muted"> ({formatDateTime(span.startTime / 1000)})</span>
          </dd>
          {kind ? (
            <>
              <dt>Kind</dt>
              <dd>{formatTagValue(kind)}</dd>
            </>
          ) : null}
          <dt>Span ID</dt>
          <dd className="mono">{span.spanID}</dd>
          {row.critical ? (
            <>
              <dt>Critical path</dt>
              <dd>yes</dd>
            </>
          ) : null}
        </dl>
        {actions}
      </header>
      {(span.warnings ?? []).length ? (
        <div className="banner banner-warning small">
          {(span.warnings ?? []).map((w) => (
            <div key={w}>{w}</div>
          ))}
        </div>
      ) : null}
      <div className="detail-grid">
        <Block title="Tags" count={(span.tags ?? []).length}>
          <KvTable tags={span.tags} testid="span-tags" />
        </Block>
        <Block title={`Process: ${process?.serviceName ?? span.processID}`} count={(process?.tags ?? []).length}>
          <KvTable tags={process?.tags} testid="process-tags" />
        </Block>
      </div>
      <Block title="Logs" count={logs.length}>
        {logs.length ? (
          <ol className="log-list" data-testid="span-logs">
            {logs.map((log, i) => (
              <li key={i}>
                <div className="log-head">
                  <span className="log-time">+{formatDuration(log.offset)}</span>
                  <strong>{log.event || 'log'}</strong>
                </div>
                {log.fields.length ? <KvTable tags={log.fields} testid="log-fields" /> : null}
              </li>
            ))}
          </ol>
        ) : (
          <p className="muted small">None</p>
        )}
      </Block>
      <Block title="References" count={refs.length}>
        {refs.length ? (
          <ul className="ref-list">
            {refs.map((ref, i) => (
              <li key={i}>
                <span className="pill pill-outline">{ref.refType}</span>{' '}
                {ref.row >= 0 ? (
                  <button type="button" className="link-button" onClick={() => onJump(ref.row)}>
                    {ref.label}
                  </button>
                ) : ref.traceID && ref.traceID !== model.traceID ? (
                  <Link to={`/traces/${encodeURIComponent(ref.traceID)}`}>{ref.label}</Link>
                ) : (
                  <span className="muted">{ref.label}</span>
                )}
                <span className="mono muted small"> {ref.spanID}</span>
              </li>
            ))}
          </ul>
        ) : (
          <p className="muted small">None: a root span</p>
        )}
      </Block>
    </div>
  );
}
