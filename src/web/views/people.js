/** People: the gallery's enrolled people with a face thumbnail each; details to rename, delete, add and remove faces. */
/** @import { App } from '../app.js' */
/** @import { Face, ListedPerson, PersonDetail, Rejection } from '../api.js' */
import { api } from '../api.js';
import {
  $,
  ask,
  confirmAction,
  errorMessage,
  formatDistance,
  h,
  initials,
  loading,
  message,
  plural,
  show,
  toast,
  withBusy,
} from '../dom.js';
import { explainThreshold } from '../explain.js';
import { reasonFor } from '../messages.js';
import { bindDropzone } from '../photos.js';
import { serverSettings } from '../settings.js';
import { duplicatePerson } from './enroll.js';
import { formatRate } from './identify.js';

const PAGE = 24;
// Thumbnails are fetched with the API key, a few at a time, and kept as object URLs by thumbnail URL (one per face).
const CONCURRENT_THUMBNAILS = 4;

/** @param {App} app */
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
      { type: 'button', className: `person-card${person.faceCount ? '' : ' faceless'}`, 'data-person-id': person.id },
      picture,
      h('span', { className: 'person-name' }, person.name),
      // A person without a face can never be recognised: say so on the card, not only in the counts.
      person.faceCount
        ? h('span', { className: 'muted small' }, plural(person.faceCount, 'face'))
        : h('span', { className: 'no-face small' }, 'No face: cannot be recognised'),
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

  /**
   * What Identify will do in this gallery, in plain words: its threshold in force and the share of strangers it
   * expects to name (GET /v1/galleries/{id}/threshold). Nothing for a gallery without faces: nothing to promise yet.
   */
  async function loadThreshold() {
    const mine = generation;
    try {
      const [t, verify] = await Promise.all([
        api.galleryThreshold(app.gallery()),
        serverSettings().then(
          (s) => s.threshold,
          () => undefined,
        ),
      ]);
      const listed = (await app.galleries()).find((g) => g.name === app.gallery());
      if (mine !== generation) return;
      thresholdLine.dataset.source = t.source;
      // People without a face count in the list but not for Identify: say so, so that the numbers agree.
      const faceless = listed ? listed.people - t.people : 0;
      const note = faceless > 0 ? ` ${faceless === 1 ? '1 person has' : `${faceless} people have`} no face and cannot be recognised.` : '';
      if (t.faces === 0) return show(thresholdLine, note.trim());
      const how =
        t.source === 'gallery-calibrated'
          ? 'learned from this gallery’s own faces'
          : `set for ${t.people === 1 ? '1 person' : `${t.people} people`}`;
      show(
        thresholdLine,
        `Identify names a face when it is within ${formatDistance(t.threshold)} of someone here (${how}), so that about `,
        `${formatRate(t.expectedFpir)} of strangers get a name.${note} `,
        explainThreshold({ identify: { threshold: t.threshold, people: t.people, automatic: true }, verify }),
      );
    } catch {
      if (mine === generation) show(thresholdLine);
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
      const line = term
        ? `${page.total === 1 ? '1 person' : `${page.total} people`} matching “${term}”`
        : page.total === 0
          ? ''
          : await countLine(page.total);
      if (mine !== generation) return;
      count.textContent = line;
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

  /** The people and faces of the gallery in one line. @param {number} people */
  async function countLine(people) {
    const known = (await app.galleries()).find((g) => g.name === app.gallery());
    const line = `${people === 1 ? '1 person' : `${people} people`} enrolled`;
    return known && known.people === people ? `${line}, ${plural(known.faces, 'face')}` : line;
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
    const person = current;
    if (person.faces.length === 1) {
      // The last face: without one, the person stays listed but can never be recognised. Say so, and offer the alternative.
      const answer = await ask({
        title: `Remove ${person.name}’s last face?`,
        message: [
          h(
            'p',
            {},
            `This is the only face of ${person.name}. Without a face, ${person.name} stays in the list but can never be recognised.`,
          ),
          h('p', {}, 'Add another photo first to replace it, or delete the person altogether.'),
        ],
        choices: [
          { value: 'face', label: 'Remove the face, keep the person', kind: 'danger' },
          { value: 'person', label: `Delete ${person.name}`, kind: 'danger' },
        ],
      });
      if (answer === 'person') return deletePersonNow(person);
      if (answer !== 'face') return;
    } else {
      const ok = await confirmAction({
        title: `Remove face ${n}?`,
        message: `This face of ${person.name} is erased for good: its descriptor and thumbnail.`,
        confirm: 'Remove face',
      });
      if (!ok) return;
    }
    try {
      await api.removeFace(person.id, face.id);
      forgetThumbnail(face);
      toast('Face removed', 'success');
      await refreshPerson();
    } catch (error) {
      show(dialogError, errorMessage(error, 'Could not remove the face.'));
    }
  }

  /**
   * Adds the photos; a face that is already someone else's (DUPLICATE_PERSON) is a question, not a dead end.
   * @param {PersonDetail} person @param {File[]} files
   */
  async function addPhotos(person, files) {
    try {
      return await api.addFaces(person.id, app.gallery(), files);
    } catch (error) {
      const duplicate = duplicatePerson(error);
      if (!duplicate) throw error;
      const other = duplicate.person;
      const answer = await ask({
        title: `This face is already enrolled as ${other?.name ?? 'someone else'}`,
        message: h('p', {}, `Adding it to ${person.name} too would give two people one face: Identify would then be unsure between them.`),
        choices: [{ value: 'override', label: `Add to ${person.name} anyway` }],
      });
      if (answer !== 'override') return undefined;
      return api.addFaces(person.id, app.gallery(), files, { allowDuplicatePerson: true });
    }
  }

  /**
   * One rejected photo in words; a group photo says where its face can be picked.
   * @param {Rejection} r @param {File[]} files @param {PersonDetail} person
   */
  const rejectionLine = (r, files, person) =>
    h(
      'p',
      {},
      `${files[r.index]?.name ?? `Photo ${r.index + 1}`}: ${reasonFor(r.code, r.details)}`,
      r.code === 'MULTIPLE_FACES'
        ? ` (to pick the face, add it in Enroll under the name ${person.name}: it offers to add the photos to ${person.name})`
        : '',
    );

  bindDropzone(addLabel, addInput, async (files) => {
    if (!current) return;
    const person = current;
    show(addResult, loading(`Checking ${plural(files.length, 'photo')}…`));
    show(dialogError);
    try {
      const result = await addPhotos(person, files);
      if (!result) return show(addResult, message('info', h('p', {}, 'No photo was added.')));
      const rejected = result.rejected;
      const warned = result.faces.filter((f) => f.warnings?.length);
      show(
        addResult,
        message(
          rejected.length || warned.length ? 'warn' : 'success',
          h('p', {}, `Added ${plural(result.faces.length, 'face')}.`),
          ...warned.map((f) =>
            h(
              'p',
              {},
              `${files[f.index]?.name ?? `Photo ${f.index + 1}`} also looks like ${f.warnings[0]?.person.name} ` +
                `(distance ${formatDistance(f.warnings[0]?.distance)}): if it is not ${person.name}, remove that face.`,
            ),
          ),
          ...rejected.map((r) => rejectionLine(r, files, person)),
        ),
      );
      await refreshPerson();
    } catch (error) {
      const rejected = /** @type {{ details?: { rejected?: Rejection[] } }} */ (error).details?.rejected;
      show(
        addResult,
        rejected
          ? message('error', h('p', {}, h('strong', {}, 'No photo was added. ')), ...rejected.map((r) => rejectionLine(r, files, person)))
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
    if (ok) await deletePersonNow(person);
  });

  /** @param {PersonDetail} person */
  async function deletePersonNow(person) {
    const n = person.faces.length;
    try {
      await withBusy(deleteButton, 'Deleting…', () => api.deletePerson(person.id, app.gallery()));
      person.faces.forEach(forgetThumbnail);
      changed = true;
      dialog.close();
      toast(`${person.name} and ${plural(n, 'face')} were deleted`, 'success');
    } catch (error) {
      show(dialogError, errorMessage(error, 'Could not delete.'));
    }
  }

  dialog.querySelector('[data-close]')?.addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => {
    if (!changed) return;
    // The counts in the picker and above the list come from the same fresh answer.
    void app.onChange().then(() => load(true));
  });

  return {
    show: () => load(true),
  };
}
