/** Small DOM helpers shared by the views: element building, messages, toasts, confirmation, busy buttons. */
import { describeError, isKeyProblem } from './messages.js';

/**
 * What h() sets on an element of tag K: its own properties (checked against the DOM's types), styles, and
 * `data-*`/`aria-*` attributes. A value of undefined, null or false sets nothing.
 * @template {keyof HTMLElementTagNameMap} K
 * @typedef {Omit<Partial<HTMLElementTagNameMap[K]>, 'style'> & { style?: Partial<CSSStyleDeclaration> } & { [attribute: `data-${string}` | `aria-${string}`]: string | number | boolean | undefined }} Props
 */

/**
 * Builds an element: h('p', { className: 'muted' }, 'text', child). Text is always set as text, never as HTML.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Props<K>} [props]
 * @param {...(Node | string | number | null | undefined | false)} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('data-') || name.startsWith('aria-') || name === 'role') el.setAttribute(name, String(value));
    else if (name === 'style') Object.assign(el.style, value);
    else Object.assign(el, { [name]: value });
  }
  for (const child of children)
    if (child !== null && child !== undefined && child !== false) el.append(typeof child === 'number' ? String(child) : child);
  return el;
}

/** @param {string} selector @returns {HTMLElement} */
export function $(selector) {
  const el = document.querySelector(selector);
  if (!(el instanceof HTMLElement)) throw new Error(`Missing element ${selector}`);
  return el;
}

/** A message box: kind 'error' | 'success' | 'info' | 'warn'. @param {string} kind @param {...(Node | string | null)} content */
export function message(kind, ...content) {
  return h('div', { className: `message ${kind}` }, ...content);
}

/** The readable form of an error, with a link to Settings when the API key is the problem. @param {unknown} error @param {string} [lead] */
export function errorMessage(error, lead) {
  const { text, code, detail } = describeError(error);
  return message(
    'error',
    h('p', {}, lead ? h('strong', {}, `${lead} `) : null, text),
    isKeyProblem(error) && location.hash !== '#/settings' ? h('p', {}, h('a', { href: '#/settings' }, 'Enter a key in Settings')) : null,
    detail && detail !== text ? h('p', { className: 'muted small' }, `${detail} (${code})`) : h('p', { className: 'muted small' }, code),
  );
}

/**
 * Replaces a region's content (an aria-live region announces the change).
 * @param {HTMLElement} region @param {...(Node | string | null)} content
 */
export function show(region, ...content) {
  region.replaceChildren(...content.filter((c) => c !== null));
}

/** A spinner with a text, for loading states. @param {string} text */
export const loading = (text) =>
  h('div', { className: 'loading' }, h('span', { className: 'spinner', 'aria-hidden': 'true' }), h('span', {}, text));

/** A transient notice in the corner, above any open dialog. @param {string} text @param {'info' | 'success' | 'error'} [kind] */
export function toast(text, kind = 'info') {
  const el = h('div', { className: `toast ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
  const toasts = $('#toasts');
  toasts.append(el);
  // A modal dialog sits in the top layer, above everything else: the toasts join it, shown again to be the newest.
  if (toasts.matches(':popover-open')) toasts.hidePopover();
  toasts.showPopover();
  setTimeout(
    () => {
      el.remove();
      if (!toasts.childElementCount && toasts.matches(':popover-open')) toasts.hidePopover();
    },
    kind === 'error' ? 8000 : 4000,
  );
}

/**
 * @typedef {{ value: string, label: string, kind?: 'primary' | 'danger' | 'ghost' | '' }} Choice
 */

/**
 * Asks a question in the confirmation dialog; resolves with the chosen value, or '' when it was dismissed (Cancel,
 * Escape). A Cancel button is always there, last and focused first, so that Enter never does something by accident.
 * @param {{ title: string, message: string | Node | Array<string | Node>, choices: Choice[], cancel?: string }} question
 * @returns {Promise<string>}
 */
export function ask({ title, message: body, choices, cancel = 'Cancel' }) {
  const dialog = /** @type {HTMLDialogElement} */ ($('#confirm-dialog'));
  $('#confirm-title').textContent = title;
  $('#confirm-message').replaceChildren(...(Array.isArray(body) ? body : [body]));
  const cancelButton = h('button', { className: 'button ghost', value: 'cancel', autofocus: true }, cancel);
  $('#confirm-choices').replaceChildren(
    ...choices.map((c) => h('button', { className: `button ${c.kind ?? ''}`.trim(), value: c.value }, c.label)),
    cancelButton,
  );
  dialog.returnValue = '';
  dialog.showModal();
  cancelButton.focus();
  return new Promise((resolve) =>
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'cancel' ? '' : dialog.returnValue), { once: true }),
  );
}

/**
 * Asks before something irreversible; resolves true when confirmed.
 * @param {{ title: string, message: string | Node | Array<string | Node>, confirm: string }} text
 * @returns {Promise<boolean>}
 */
export async function confirmAction({ title, message: body, confirm }) {
  return (await ask({ title, message: body, choices: [{ value: 'ok', label: confirm, kind: 'danger' }] })) === 'ok';
}

/**
 * A "?" beside a word that opens a short explanation in place (a <details>: keyboard and screen readers know it).
 * @param {string} topic what it explains, for its accessible name ("What is the distance?")
 * @param {...(Node | string)} content
 */
export function help(topic, ...content) {
  return h(
    'details',
    { className: 'help' },
    h('summary', { 'aria-label': topic, title: topic }, '?'),
    h('div', { className: 'help-body' }, ...content),
  );
}

/**
 * Runs work with the button disabled and marked busy, its label swapped for `busyText`.
 * @template T @param {HTMLButtonElement} button @param {string} busyText @param {() => Promise<T>} work
 */
export async function withBusy(button, busyText, work) {
  const label = button.textContent;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  button.replaceChildren(h('span', { className: 'spinner small', 'aria-hidden': 'true' }), busyText);
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
    button.textContent = label;
  }
}

/** "1 face", "3 faces". @param {number} n @param {string} word */
export const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * A distance or a threshold: three decimals, the one rounding of every number on a distance scale in this app (the
 * slider, the notes, the lists, Verify), so that a threshold never reads 0.58 in one place and 0.576 in another.
 * @param {number | null | undefined} d
 */
export const formatDistance = (d) => (typeof d === 'number' ? d.toFixed(3) : '–');

/**
 * A 0..1 probability as a percentage. The confidence model never reaches 0 or 1: the ends read "<1%" and ">99%",
 * not a certainty it does not have.
 * @param {number | null | undefined} p
 */
export function formatPercent(p) {
  if (typeof p !== 'number') return '–';
  if (p < 0.005) return '<1%';
  if (p > 0.995) return '>99%';
  return `${Math.round(p * 100)}%`;
}

/**
 * Initials for a face-less avatar: the first letter or digit of the first two words that have one ("Ada (test)"
 * gives "AT", never "A(").
 * @param {string} name
 */
export const initials = (name) =>
  name
    .split(/\s+/)
    .map((w) => w.match(/[\p{L}\p{N}]/u)?.[0]?.toUpperCase() ?? '')
    .filter(Boolean)
    .slice(0, 2)
    .join('') || '?';
