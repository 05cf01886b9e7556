// The graph page's display menu, find and hide expressions, and the replay bar.
import { useEffect, useRef, useState } from 'react';
import { formatDateTime } from '../ui/time';
import { parseExpression } from './model/expressions';
import { formatWindow } from './model/format';
import type { GraphQuery } from './model/params';

type Change = (patch: Partial<GraphQuery>) => void;

const DISPLAY = [
  { key: 'injectServiceNodes', label: 'Service nodes', hint: 'a node for each service between its callers and its workloads' },
  { key: 'idleEdges', label: 'Idle edges', hint: 'edges without requests in the window' },
  { key: 'idleNodes', label: 'Idle nodes', hint: 'nodes without requests in the window' },
  { key: 'security', label: 'Security', hint: 'an mTLS badge on edges with mutual TLS' },
  { key: 'animation', label: 'Traffic animation', hint: 'dashes run along the edges at their rate' },
] as const;

/** Kiali's Display menu: what the graph shows besides its traffic. */
export function DisplayMenu({ query, change }: { query: GraphQuery; change: Change }) {
  const [open, setOpen] = useState(false);
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const onDown = (e: MouseEvent) => {
      if (box.current && !box.current.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('mousedown', onDown);
    return () => document.removeEventListener('mousedown', onDown);
  }, [open]);
  const on = DISPLAY.filter((d) => query[d.key]).length;
  return (
    <div className="dropdown" ref={box}>
      <span className="control-label">Display</span>
      <button type="button" className="select-button" aria-expanded={open} data-testid="graph-display" onClick={() => setOpen(!open)}>
        {[query.injectServiceNodes ? 'Service nodes' : '', on - Number(query.injectServiceNodes) ? `+${on - Number(query.injectServiceNodes)}` : ''].filter(Boolean).join(' ') || 'Traffic only'}
      </button>
      {open ? (
        <div className="dropdown-menu" role="menu">
          {DISPLAY.map((d) => (
            <label className="dropdown-item" key={d.key} title={d.hint}>
              <input
                type="checkbox"
                data-testid={d.key === 'injectServiceNodes' ? 'service-nodes' : `display-${d.key}`}
                checked={query[d.key]}
                onChange={(e) => change({ [d.key]: e.target.checked })}
              />
              <span>{d.label}</span>
            </label>
          ))}
        </div>
      ) : null}
    </div>
  );
}

/** An expression field: applied on Enter, its error shown below. */
export function ExpressionInput({ label, value, testid, onApply }: { label: string; value: string; testid: string; onApply: (text: string) => void }) {
  const [text, setText] = useState(value);
  useEffect(() => setText(value), [value]);
  const parsed = parseExpression(value);
  return (
    <div className="expression">
      <input
        type="search"
        className={`find-input${parsed.ok ? '' : ' no-match'}`}
        placeholder={label}
        aria-label={label}
        title="name = reviews, node = unknown, httpin > 10, %httperr > 5, rt > 1000; AND, OR"
        data-testid={testid}
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          if (!e.target.value) onApply('');
        }}
        onKeyDown={(e) => {
          if (e.key === 'Enter') onApply(text.trim());
        }}
      />
      {!parsed.ok ? (
        <span className="expression-error" role="alert" data-testid={`${testid}-error`}>
          {parsed.error}
        </span>
      ) : null}
    </div>
  );
}

const REPLAY_SPAN = 24 * 3600;

/** Replay: the window's end over the last day by slider, or any time by date. */
export function ReplayBar({ query, change }: { query: GraphQuery; change: Change }) {
  const now = Math.floor(Date.now() / 1000);
  const end = query.queryTime ?? now;
  const [slider, setSlider] = useState(Math.max(-REPLAY_SPAN, end - now));
  useEffect(() => setSlider(Math.max(-REPLAY_SPAN, end - now)), [end, now]);
  const local = new Date((end - new Date().getTimezoneOffset() * 60) * 1000).toISOString().slice(0, 19);
  return (
    <div className="replay-bar" data-testid="replay-bar">
      <strong>Replay</strong>
      <span className="muted">
        {formatWindow(query.duration)} up to {formatDateTime(end * 1000).slice(0, 19)}
      </span>
      <input
        type="range"
        aria-label="Window end"
        data-testid="replay-slider"
        min={-REPLAY_SPAN}
        max={0}
        step={60}
        value={slider}
        onChange={(e) => setSlider(Number(e.target.value))}
        onPointerUp={() => change({ queryTime: now + slider })}
        onKeyUp={() => change({ queryTime: now + slider })}
      />
      <input
        type="datetime-local"
        aria-label="Window end time"
        data-testid="replay-time"
        step={1}
        value={local}
        onChange={(e) => {
          const ms = new Date(e.target.value).getTime();
          if (Number.isFinite(ms)) change({ queryTime: Math.min(now, Math.floor(ms / 1000)) });
        }}
      />
      <button type="button" className="tool-button" onClick={() => change({ queryTime: end - query.duration })}>
        ◀ Previous window
      </button>
      <button type="button" className="tool-button" disabled={end >= now} onClick={() => change({ queryTime: Math.min(now, end + query.duration) })}>
        Next window ▶
      </button>
      <button type="button" className="button" data-testid="replay-stop" onClick={() => change({ queryTime: null, update: 'live' })}>
        Back to live
      </button>
    </div>
  );
}
