/** People: the gallery's enrolled people with a face thumbnail each; details to rename, delete, add and remove faces. */
/** @import { Face, ListedPerson, PersonDetail, Rejection } from '../api.js' */
import { api } from '../api.js';
import { $, confirmAction, errorMessage, h, initials, loading, message, plural, show, toast, withBusy } from '../dom.js';
import { reasonFor } from '../messages.js';
import { bindDropzone } from '../photos.js';
import { formatRate } from './identify.js';

const PAGE = 24;
// Thumbnails are fetched with the API key, a few at a time, and kept as object URLs by thumbnail URL (one per face).
const CONCURRENT_THUMBNAILS = 4;

/** @param {{ gallery: () => string, onChange: () => void }} app */
export function peopleView(app) {
  const grid = $('#people-grid');
  const count = $('#people-count');
  const empty = $('#people-empty');
  const more = /** @type {HTMLButtonElement} */ ($('#people-more'));
  const search = /** @type {HTMLInputElement} */ ($('#people-search'));
  const errorRegion = $('#people-error');
  const thresholdLine = $('#people-threshold');

  /** @type {Map<string, Promise<string | undefined>>} */
  const thumbnails = new Map();
  let offset = 0;
  let generation = 0;

  /** @type {Array<() => Promise<void>>} */
  const thumbnailQueue = [];
  let thumbnailsRunning = 0;
  function pumpThumbnails() {
    while (thumbnailsRunning < CONCURRENT_THUMBNAILS && thumbnailQueue.length) {
      const job = thumbnailQueue.shift();
      if (!job) break;
      thumbnailsRunning += 1;
      job().finally(() => {
        thumbnailsRunning -= 1;
        pumpThumbnails();
      });
    }
  }

  /** An object URL for a face's thumbnail, or undefined. @param {string | null} url the API's thumbnailUrl */
  function thumbnailOf(url) {
    if (!url) return Promise.resolve(undefined);
    let cached = thumbnails.get(url);
    if (!cached) {
      cached = api.thumbnail(url).then(
        (blob) => URL.createObjectURL(blob),
        () => undefined,
      );
      thumbnails.set(url, cached);
    }
    return cached;
  }

  /** @param {Face} face */
  function forgetThumbnail(face) {
    if (face.thumbnailUrl) thumbnails.delete(face.thumbnailUrl);
  }

  /** @param {string} name @param {string | undefined} src */
  const avatar = (name, src) =>
    src ? h('img', { src, alt: '' }) : h('span', { className: 'initials', 'aria-hidden': 'true' }, initials(name));

  /** @param {ListedPerson} person */
  function card(person) {
    const picture = h('span', { className: 'avatar' }, avatar(person.name, undefined));
    const button = h(
      'button',
      { type: 'button', className: 'person-card', 'data-person-id': person.id },
      picture,
      h('span', { className: 'person-name' }, person.name),
      h('span', { className: 'muted small' }, plural(person.faceCount, 'face')),
    );
    button.addEventListener('click', () => openPerson(person.id));
    // The list names each person's thumbnail: no request per person, only the image itself (initials stay on failure).
    if (person.thumbnailUrl) {
      const mine = generation;
      const url = person.thumbnailUrl;
      thumbnailQueue.push(async () => {
        if (mine !== generation) return;
        const src = await thumbnailOf(url);
        if (src) picture.replaceChildren(avatar(person.name, src));
      });
      pumpThumbnails();
    }
    return h('li', {}, button);
  }

  /** The gallery's size, identify's threshold in force and the expected false-match rate (GET /v1/galleries/{id}/threshold). */
  async function loadThreshold() {
    const mine = generation;
    try {
      const t = await api.galleryThreshold(app.gallery());
      if (mine !== generation) return;
      thresholdLine.textContent =
        `${t.people === 1 ? '1 person' : `${t.people} people`}, ${plural(t.faces, 'face')} · identify threshold ${t.threshold.toFixed(3)} ` +
        `(${t.source === 'gallery-calibrated' ? 'learned from this gallery' : `for its size at a ${formatRate(t.targetFpir)} target`}) · ` +
        `expected false-match rate ${formatRate(t.expectedFpir)} of strangers · expected to recognise ${formatRate(t.expectedDir)} of known faces` +
        ` · descriptor model ${t.model}`;
      thresholdLine.dataset.source = t.source;
    } catch {
      if (mine === generation) thresholdLine.textContent = '';
    }
  }

  /** @param {boolean} reset */
  async function load(reset) {
    if (reset) {
      generation += 1;
      void loadThreshold();
      offset = 0;
      thumbnailQueue.length = 0;
      show(grid);
      show(errorRegion, loading('Loading people…'));
    }
    const mine = generation;
    const term = search.value.trim();
    try {
      const page = await api.people({ gallery: app.gallery(), search: term || undefined, limit: PAGE, offset });
      if (mine !== generation) return;
      show(errorRegion);
      page.people.forEach((p) => grid.append(card(p)));
      offset += page.people.length;
      more.hidden = offset >= page.total;
      count.textContent = term
        ? `${page.total === 1 ? '1 person' : `${page.total} people`} matching “${term}”`
        : page.total === 0
          ? ''
          : page.total === 1
            ? '1 person enrolled'
            : `${page.total} people enrolled`;
      empty.hidden = page.total > 0;
      if (page.total === 0) {
        show(
          empty,
          term
            ? h('p', {}, `Nobody’s name contains “${term}”.`)
            : h(
                'div',
                {},
                h('p', { className: 'empty-title' }, 'No one is enrolled in this gallery yet.'),
                h('p', {}, h('a', { className: 'button primary', href: '#/enroll' }, 'Enroll the first person')),
              ),
        );
      }
    } catch (error) {
      if (mine !== generation) return;
      count.textContent = '';
      empty.hidden = true;
      show(errorRegion, errorMessage(error, 'Could not load people.'));
    }
  }

  let debounce = 0;
  search.addEventListener('input', () => {
    clearTimeout(debounce);
    debounce = window.setTimeout(() => load(true), 250);
  });
  more.addEventListener('click', () => withBusy(more, 'Loading…', () => load(false)));

  // ---- the person dialog ----
  const dialog = /** @type {HTMLDialogElement} */ ($('#person-dialog'));
  const nameHeading = $('#person-name');
  const meta = $('#person-meta');
  const faces = $('#person-faces');
  const dialogError = $('#person-error');
  const addResult = $('#person-add-result');
  const renameForm = /** @type {HTMLFormElement} */ ($('#rename-form'));
  const renameInput = /** @type {HTMLInputElement} */ ($('#rename-input'));
  const addInput = /** @type {HTMLInputElement} */ ($('#person-add-files'));
  const addLabel = /** @type {HTMLElement} */ (addInput.closest('label'));
  /** @type {PersonDetail | undefined} */
  let current;
  let changed = false;

  /** @param {PersonDetail} person */
  function renderPerson(person) {
    current = person;
    nameHeading.textContent = person.name;
    const enrolled = new Date(person.createdAt).toLocaleDateString(undefined, { dateStyle: 'medium' });
    meta.textContent = [
      plural(person.faces.length, 'face'),
      `enrolled ${enrolled}`,
      person.externalId ? `external ID ${person.externalId}` : '',
    ]
      .filter(Boolean)
      .join(' · ');
    show(
      faces,
      ...person.faces.map((face, i) => {
        const img = h('img', { alt: `Face ${i + 1} of ${person.name}` });
        thumbnailOf(face.thumbnailUrl).then((src) =>
          src ? (img.src = src) : img.replaceWith(h('span', { className: 'initials' }, initials(person.name))),
        );
        const remove = h(
          'button',
          { type: 'button', className: 'icon-button remove', 'aria-label': `Remove face ${i + 1}`, title: 'Remove this face' },
          '✕',
        );
        remove.addEventListener('click', () => removeFace(face, i + 1));
        return h('li', {}, img, remove);
      }),
    );
    if (person.faces.length === 0)
      faces.append(h('li', { className: 'muted no-faces' }, 'No faces yet. Add a photo so that this person can be recognised.'));
  }

  /** @param {string} id */
  async function openPerson(id) {
    current = undefined;
    changed = false;
    renameForm.hidden = true;
    nameHeading.textContent = '';
    meta.textContent = '';
    show(faces);
    show(addResult);
    show(dialogError, loading('Loading…'));
    dialog.showModal();
    try {
      const { person } = await api.person(id, app.gallery());
      show(dialogError);
      renderPerson(person);
    } catch (error) {
      show(dialogError, errorMessage(error, 'Could not open this person.'));
    }
  }

  async function refreshPerson() {
    if (!current) return;
    const { person } = await api.person(current.id, app.gallery());
    renderPerson(person);
    changed = true;
  }

  /** @param {Face} face @param {number} n */
  async function removeFace(face, n) {
    if (!current) return;
    const ok = await confirmAction({
      title: `Remove face ${n}?`,
      message: `This face of ${current.name} is erased for good: its descriptor and thumbnail.`,
      confirm: 'Remove face',
    });
    if (!ok) return;
    try {
      await api.removeFace(current.id, face.id);
      forgetThumbnail(face);
      toast('Face removed', 'success');
      await refreshPerson();
    } catch (error) {
      show(dialogError, errorMessage(error, 'Could not remove the face.'));
    }
  }

  bindDropzone(addLabel, addInput, async (files) => {
    if (!current) return;
    const person = current;
    show(addResult, loading(`Checking ${plural(files.length, 'photo')}…`));
    show(dialogError);
    try {
      const result = await api.addFaces(person.id, app.gallery(), files);
      const rejected = result.rejected;
      show(
        addResult,
        message(
          rejected.length ? 'warn' : 'success',
          h('p', {}, `Added ${plural(result.faces.length, 'face')}.`),
          ...rejected.map((r) => h('p', {}, `${files[r.index]?.name ?? `Photo ${r.index + 1}`}: ${reasonFor(r.code, r.details)}`)),
        ),
      );
      await refreshPerson();
    } catch (error) {
      const rejected = /** @type {{ details?: { rejected?: Rejection[] } }} */ (error).details?.rejected;
      show(
        addResult,
        rejected
          ? message(
              'error',
              h('p', {}, h('strong', {}, 'No photo was added. ')),
              ...rejected.map((r) => h('p', {}, `${files[r.index]?.name ?? `Photo ${r.index + 1}`}: ${reasonFor(r.code, r.details)}`)),
            )
          : errorMessage(error, 'Could not add the photos.'),
      );
    }
  });

  $('#person-rename').addEventListener('click', () => {
    if (!current) return;
    renameForm.hidden = false;
    renameInput.value = current.name;
    renameInput.focus();
    renameInput.select();
  });
  renameForm.querySelector('[data-cancel]')?.addEventListener('click', () => (renameForm.hidden = true));
  renameForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!current) return;
    const person = current;
    const name = renameInput.value.trim();
    if (!name) return renameInput.focus();
    const button = /** @type {HTMLButtonElement} */ (renameForm.querySelector('[type=submit]'));
    try {
      await withBusy(button, 'Saving…', () => api.rename(person.id, app.gallery(), name));
      renameForm.hidden = true;
      toast(`Renamed to ${name}`, 'success');
      await refreshPerson();
    } catch (error) {
      show(dialogError, errorMessage(error, 'Could not rename.'));
    }
  });

  const deleteButton = /** @type {HTMLButtonElement} */ ($('#person-delete'));
  deleteButton.addEventListener('click', async () => {
    if (!current) return;
    const person = current;
    const n = person.faces.length;
    const ok = await confirmAction({
      title: `Delete ${person.name}?`,
      message: `This erases ${person.name} and all ${plural(n, 'face')}: every face descriptor and thumbnail. It cannot be undone.`,
      confirm: 'Delete for good',
    });
    if (!ok) return;
    try {
      await withBusy(deleteButton, 'Deleting…', () => api.deletePerson(person.id, app.gallery()));
      person.faces.forEach(forgetThumbnail);
      changed = true;
      dialog.close();
      toast(`${person.name} and ${plural(n, 'face')} were deleted`, 'success');
    } catch (error) {
      show(dialogError, errorMessage(error, 'Could not delete.'));
    }
  });

  dialog.querySelector('[data-close]')?.addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => {
    if (!changed) return;
    app.onChange();
    load(true);
  });

  return {
    show: () => load(true),
  };
}
