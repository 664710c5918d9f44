/**
 * Small DOM helpers for the panel and the history view (plain DOM in Lumino
 * widgets: the views are small and update in place).
 */
import { LabIcon } from '@jupyterlab/ui-components';

import { diffLines } from './format';

type Child = Node | string | null | undefined | false;
type Props = Record<string, unknown>;

/** Create an element: `h('button', {className, onclick}, 'Export')`. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) {
      continue;
    }
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value as EventListener);
    } else if (key === 'className') {
      el.className = String(value);
    } else if (key.startsWith('data-') || key.startsWith('aria-') || key === 'role' || key === 'for') {
      el.setAttribute(key, String(value));
    } else {
      (el as unknown as Props)[key] = value;
    }
  }
  append(el, children);
  return el;
}

function append(el: HTMLElement, children: (Child | Child[])[]): void {
  for (const child of children) {
    if (Array.isArray(child)) {
      append(el, child);
    } else if (child !== null && child !== undefined && child !== false) {
      el.append(child);
    }
  }
}

/** Replace the children of `el`. */
/** A JupyterLab theme variable's value now (the theme may change), or `fallback`. */
export function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}

export function fill(el: HTMLElement, ...children: (Child | Child[])[]): void {
  el.replaceChildren();
  append(el, children);
}

/** A section of the panel: a heading and a body. */
export function section(title: string, className: string): { node: HTMLElement; body: HTMLElement } {
  const body = h('div', { className: 'jp-nbprod-sectionBody' });
  const node = h(
    'section',
    { className: `jp-nbprod-section ${className}` },
    h('h3', { className: 'jp-nbprod-sectionTitle' }, title),
    body
  );
  return { node, body };
}

/** A status badge: `succeeded`, `failed`, `running`, ... */
export function badge(status: string): HTMLElement {
  return h('span', { className: 'jp-nbprod-badge', 'data-status': status }, status);
}

/** A JupyterLab-styled button. */
export function button(
  label: string,
  onclick: () => void,
  options: { accept?: boolean; warn?: boolean; title?: string; className?: string; icon?: LabIcon } = {}
): HTMLButtonElement {
  const kind = options.accept ? 'jp-mod-accept' : options.warn ? 'jp-mod-warn' : 'jp-mod-reject';
  return h(
    'button',
    {
      className: `jp-Button jp-mod-styled ${kind} jp-nbprod-button ${options.className ?? ''}`,
      title: options.title,
      type: 'button',
      onclick: (event: Event) => {
        event.preventDefault();
        onclick();
      }
    },
    label
  );
}

/** A function that runs `fn` `delay` ms after the last call. */
export function debounce(fn: () => void, delay: () => number): { (): void; cancel(): void } {
  let timer: number | undefined;
  const call = () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(fn, delay());
  };
  call.cancel = () => window.clearTimeout(timer);
  return call;
}

/**
 * Call `step` every `interval()` ms until it returns true, is stopped, or
 * fails (then `onError` is told). Returns a stop function.
 */
export function poll(
  step: () => Promise<boolean>,
  interval: () => number,
  onError: (error: unknown) => void
): () => void {
  let stopped = false;
  let timer: number | undefined;
  const tick = async () => {
    if (stopped) {
      return;
    }
    let done = false;
    try {
      done = await step();
    } catch (error) {
      onError(error);
      done = true;
    }
    if (!done && !stopped) {
      timer = window.setTimeout(tick, interval());
    }
  };
  void tick();
  return () => {
    stopped = true;
    window.clearTimeout(timer);
  };
}

/** `HH:MM:SS` of now. */
export function clock(): string {
  return new Date().toLocaleTimeString([], { hour12: false });
}

/** How long an action may take before it shows that it is working. */
export const WORKING_DELAY = 300;

/**
 * Show `text` (with a spinner) in `node` once an action has taken longer
 * than `WORKING_DELAY` ms; the returned function ends it (and clears the
 * text if it was shown).
 */
export function working(node: HTMLElement, text: string, delay = WORKING_DELAY): () => void {
  let shown = false;
  const timer = window.setTimeout(() => {
    shown = true;
    fill(node, h('span', { className: 'jp-nbprod-working', role: 'status' }, h('span', { className: 'jp-nbprod-spinner' }), text));
  }, delay);
  return () => {
    window.clearTimeout(timer);
    if (shown && node.querySelector(':scope > .jp-nbprod-working')) {
      fill(node);
    }
  };
}

/**
 * A path as text with a `<wbr>` after each `/`: long paths wrap at their
 * separators, never mid-word, and the text (copy, `textContent`) is unchanged.
 */
export function pathNodes(path: string): (string | HTMLElement)[] {
  const parts = path.split('/');
  return parts.flatMap((part, i) => (i < parts.length - 1 ? [`${part}/`, document.createElement('wbr')] : [part]));
}

/**
 * A unified diff, one row per line, its kind (`file`, `hunk`, `add`, `del`,
 * `same`, `note`) in `data-kind` for the colours: the ship preview's and the
 * sync dialog's diffs, one renderer and one set of CSS rules.
 */
export function diffNode(diff: string): HTMLElement {
  return h(
    'pre',
    { className: 'jp-nbprod-diff' },
    diffLines(diff).map(line => h('div', { className: 'jp-nbprod-diffLine', 'data-kind': line.kind }, line.text))
  );
}
