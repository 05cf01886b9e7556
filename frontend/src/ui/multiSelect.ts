// A dropdown of checkboxes (namespaces, telemetry sources). Reports the choice when it closes.
import { h } from './dom';

export interface MultiSelectOptions {
  label: string;
  testid: string;
  options: { value: string; label: string }[];
  selected: string[];
  /** text when nothing is chosen */
  placeholder: string;
  onChange: (selected: string[]) => void;
}

export interface MultiSelect {
  el: HTMLElement;
  setOptions(options: { value: string; label: string }[], selected: string[]): void;
}

export function multiSelect(opts: MultiSelectOptions): MultiSelect {
  let options = opts.options;
  let selected = new Set(opts.selected);
  let reported = [...selected].sort().join(',');
  const button = h('button', {
    type: 'button',
    class: 'select-button',
    'aria-haspopup': 'listbox',
    'aria-expanded': 'false',
    'data-testid': opts.testid,
  });
  const menu = h('div', { class: 'dropdown-menu', role: 'listbox', 'aria-multiselectable': 'true', hidden: true });
  const el = h('div', { class: 'dropdown' }, h('span', { class: 'control-label' }, opts.label), button, menu);

  const summary = () => {
    const chosen = options.filter((o) => selected.has(o.value)).map((o) => o.label);
    if (!chosen.length) return opts.placeholder;
    if (chosen.length === options.length && options.length > 2) return `All (${chosen.length})`;
    return chosen.length > 2 ? `${chosen.slice(0, 2).join(', ')} +${chosen.length - 2}` : chosen.join(', ');
  };

  const render = () => {
    button.textContent = summary();
    menu.replaceChildren(
      h(
        'div',
        { class: 'dropdown-actions' },
        h('button', { type: 'button', class: 'link-button', onclick: () => { selected = new Set(options.map((o) => o.value)); render(); } }, 'All'),
        h('button', { type: 'button', class: 'link-button', onclick: () => { selected = new Set(); render(); } }, 'None'),
      ),
      ...(options.length
        ? options.map((o) =>
            h(
              'label',
              { class: 'dropdown-item' },
              h('input', {
                type: 'checkbox',
                value: o.value,
                checked: selected.has(o.value),
                onchange: (e: Event) => {
                  if ((e.target as HTMLInputElement).checked) selected.add(o.value);
                  else selected.delete(o.value);
                  button.textContent = summary();
                },
              }),
              h('span', null, o.label),
            ),
          )
        : [h('div', { class: 'dropdown-empty' }, 'Nothing to choose yet')]),
    );
  };

  const close = () => {
    if (menu.hidden) return;
    menu.hidden = true;
    button.setAttribute('aria-expanded', 'false');
    const now = [...selected].sort();
    if (now.join(',') !== reported) {
      reported = now.join(',');
      opts.onChange(now);
    }
  };
  const onDocumentClick = (e: MouseEvent) => {
    if (!el.isConnected) {
      document.removeEventListener('mousedown', onDocumentClick);
      return;
    }
    if (!el.contains(e.target as Node)) close();
  };
  button.addEventListener('click', () => {
    if (menu.hidden) {
      menu.hidden = false;
      button.setAttribute('aria-expanded', 'true');
      document.addEventListener('mousedown', onDocumentClick);
    } else {
      close();
    }
  });
  el.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      close();
      button.focus();
    }
  });
  render();
  return {
    el,
    setOptions(next, nextSelected) {
      options = next;
      selected = new Set(nextSelected);
      reported = [...selected].sort().join(',');
      render();
    },
  };
}

/** A labelled <select>. */
export function selectControl(
  label: string,
  testid: string,
  options: readonly { value: string; label: string }[],
  value: string,
  onChange: (value: string) => void,
): HTMLElement {
  const select = h(
    'select',
    { 'data-testid': testid, onchange: (e: Event) => onChange((e.target as HTMLSelectElement).value) },
    ...options.map((o) => h('option', { value: o.value, selected: o.value === value }, o.label)),
  );
  return h('label', { class: 'control' }, h('span', { class: 'control-label' }, label), select);
}
