/**
 * Picking one person of a gallery: a labelled <select> of its people by name (namesakes told apart by their number
 * of faces), with a search box when the gallery has more people than one page, and optionally "nobody enrolled".
 */
/** @import { ListedPerson } from './api.js' */
import { api } from './api.js';
import { h, plural } from './dom.js';

const PAGE = 200;
const UNKNOWN = '';
let ids = 0;

/**
 * @typedef {{ personId: string | null, name: string }} Picked personId null: nobody enrolled
 * @typedef {{ element: HTMLElement, select: HTMLSelectElement, ready: Promise<number>, picked: () => Picked | undefined }} PersonPicker
 *   ready: resolves with the number of people in the gallery once the list is there
 */

/**
 * @param {{ gallery: string, label: string, exclude?: string, unknown?: string, prefer?: string[] }} options
 *   exclude: a person not offered (the one being corrected); unknown: the text of a "nobody enrolled" choice;
 *   prefer: people listed first (identify's candidates)
 * @returns {PersonPicker}
 */
export function personPicker({ gallery, label, exclude, unknown, prefer = [] }) {
  const id = `person-pick-${++ids}`;
  const select = h('select', { id });
  const status = h('p', { className: 'muted small', 'aria-live': 'polite' });
  const search = h('input', { type: 'search', id: `${id}-search`, placeholder: 'Search by name…', autocomplete: 'off' });
  const searchRow = h(
    'div',
    { className: 'field', hidden: true },
    h('label', { className: 'visually-hidden', htmlFor: search.id }, 'Search people by name'),
    search,
  );
  /** @type {Map<string, ListedPerson>} */
  const byId = new Map();

  /** @param {ListedPerson[]} people */
  function fill(people) {
    byId.clear();
    const listed = people.filter((p) => p.id !== exclude);
    // Namesakes are told apart by their faces; identify's candidates come first.
    const counts = new Map();
    for (const p of listed) counts.set(p.name.toLowerCase(), (counts.get(p.name.toLowerCase()) ?? 0) + 1);
    const first = listed.filter((p) => prefer.includes(p.id)).sort((a, b) => prefer.indexOf(a.id) - prefer.indexOf(b.id));
    const rest = listed.filter((p) => !prefer.includes(p.id));
    /** @param {ListedPerson} p */
    const option = (p) => {
      byId.set(p.id, p);
      return h('option', { value: p.id }, counts.get(p.name.toLowerCase()) > 1 ? `${p.name} (${plural(p.faceCount, 'face')})` : p.name);
    };
    select.replaceChildren(
      ...(unknown === undefined ? [] : [h('option', { value: UNKNOWN }, unknown)]),
      ...(first.length && rest.length
        ? [h('optgroup', { label: 'Closest' }, ...first.map(option)), h('optgroup', { label: 'Everyone else' }, ...rest.map(option))]
        : [...first, ...rest].map(option)),
    );
    return listed.length;
  }

  /** @param {string} [term] */
  async function load(term) {
    const page = await api.people({ gallery, search: term || undefined, limit: PAGE });
    const n = fill(page.people);
    if (!term) searchRow.hidden = page.total <= PAGE;
    status.textContent =
      page.total > PAGE
        ? `${page.people.length} of ${page.total} people shown: search to find others.`
        : n
          ? ''
          : 'Nobody else is enrolled here.';
    status.hidden = !status.textContent;
    return page.total;
  }

  let timer = 0;
  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = window.setTimeout(() => void load(search.value.trim()).catch(() => {}), 250);
  });

  const ready = load();
  ready.catch(() => {
    status.textContent = 'The people of this gallery could not be listed.';
    status.hidden = false;
  });
  const element = h('div', { className: 'field' }, h('label', { htmlFor: id }, label), searchRow, select, status);
  return {
    element,
    select,
    ready,
    picked() {
      if (select.value === UNKNOWN) return unknown === undefined ? undefined : { personId: null, name: 'Unknown' };
      const person = byId.get(select.value);
      return person ? { personId: person.id, name: person.name } : undefined;
    },
  };
}
