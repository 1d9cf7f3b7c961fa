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

/** A transient notice in the corner. @param {string} text @param {'info' | 'success' | 'error'} [kind] */
export function toast(text, kind = 'info') {
  const el = h('div', { className: `toast ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
  $('#toasts').append(el);
  setTimeout(() => el.remove(), kind === 'error' ? 8000 : 4000);
}

/**
 * Asks before something irreversible; resolves true when confirmed.
 * @param {{ title: string, message: string, confirm: string }} text
 * @returns {Promise<boolean>}
 */
export function confirmAction({ title, message: body, confirm }) {
  const dialog = /** @type {HTMLDialogElement} */ ($('#confirm-dialog'));
  $('#confirm-title').textContent = title;
  $('#confirm-message').textContent = body;
  $('#confirm-ok').textContent = confirm;
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true }));
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

/** A distance with three decimals. @param {number | null | undefined} d */
export const formatDistance = (d) => (typeof d === 'number' ? d.toFixed(3) : '–');

/** A 0..1 probability as a percentage. @param {number | null | undefined} p */
export const formatPercent = (p) => (typeof p === 'number' ? `${Math.round(p * 100)}%` : '–');

/** Initials for a face-less avatar. @param {string} name */
export const initials = (name) =>
  name
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((w) => w[0]?.toUpperCase() ?? '')
    .join('');
