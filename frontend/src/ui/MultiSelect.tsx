// A dropdown of checkboxes (namespaces, telemetry sources). Reports the choice when it closes.
import { useEffect, useRef, useState } from 'react';

export interface Option {
  value: string;
  label: string;
}

interface MultiSelectProps {
  label: string;
  testid: string;
  options: Option[];
  selected: string[];
  /** text when nothing is chosen */
  placeholder: string;
  onChange: (selected: string[]) => void;
}

export function MultiSelect({ label, testid, options, selected, placeholder, onChange }: MultiSelectProps) {
  const [open, setOpen] = useState(false);
  const [draft, setDraft] = useState<Set<string>>(() => new Set(selected));
  const box = useRef<HTMLDivElement>(null);
  const key = [...selected].sort().join(',');

  useEffect(() => {
    if (!open) setDraft(new Set(key ? key.split(',') : []));
  }, [key, open]);

  const close = () => {
    setOpen(false);
    const now = [...draft].sort();
    if (now.join(',') !== key) onChange(now);
  };

  useEffect(() => {
    if (!open) return;
    const onDown = (e: MouseEvent) => {
      if (box.current && !box.current.contains(e.target as Node)) close();
    };
    document.addEventListener('mousedown', onDown);
    return () => document.removeEventListener('mousedown', onDown);
  });

  const chosen = options.filter((o) => draft.has(o.value)).map((o) => o.label);
  const summary = !chosen.length
    ? placeholder
    : chosen.length === options.length && options.length > 2
      ? `All (${chosen.length})`
      : chosen.length > 2
        ? `${chosen.slice(0, 2).join(', ')} +${chosen.length - 2}`
        : chosen.join(', ');

  return (
    <div
      className="dropdown"
      ref={box}
      onKeyDown={(e) => {
        if (e.key === 'Escape') close();
      }}
    >
      <span className="control-label">{label}</span>
      <button type="button" className="select-button" aria-haspopup="listbox" aria-expanded={open} data-testid={testid} onClick={() => (open ? close() : setOpen(true))}>
        {summary}
      </button>
      {open && (
        <div className="dropdown-menu" role="listbox" aria-multiselectable="true">
          <div className="dropdown-actions">
            <button type="button" className="link-button" onClick={() => setDraft(new Set(options.map((o) => o.value)))}>
              All
            </button>
            <button type="button" className="link-button" onClick={() => setDraft(new Set())}>
              None
            </button>
          </div>
          {options.length ? (
            options.map((o) => (
              <label className="dropdown-item" key={o.value}>
                <input
                  type="checkbox"
                  value={o.value}
                  checked={draft.has(o.value)}
                  onChange={(e) => {
                    const next = new Set(draft);
                    if (e.target.checked) next.add(o.value);
                    else next.delete(o.value);
                    setDraft(next);
                  }}
                />
                <span>{o.label}</span>
              </label>
            ))
          ) : (
            <div className="dropdown-empty">Nothing to choose yet</div>
          )}
        </div>
      )}
    </div>
  );
}

/** A labelled <select>. */
export function SelectControl({
  label,
  testid,
  options,
  value,
  onChange,
}: {
  label: string;
  testid: string;
  options: readonly Option[];
  value: string;
  onChange: (value: string) => void;
}) {
  return (
    <label className="control">
      <span className="control-label">{label}</span>
      <select data-testid={testid} value={value} onChange={(e) => onChange(e.target.value)}>
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </label>
  );
}
