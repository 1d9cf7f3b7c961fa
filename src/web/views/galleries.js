/**
 * Galleries: list them with their counts and model, create one (with its descriptor model), rename, delete, switch,
 * and choose which faces Identify keeps in each (faces seen: none by default).
 */
/** @import { App } from '../app.js' */
/** @import { DescriptorModel, Gallery, KeepSightings } from '../api.js' */
import { api } from '../api.js';
import { $, confirmAction, errorMessage, h, help, loading, message, plural, show, toast, withBusy } from '../dom.js';
import { serverSettings } from '../settings.js';
import { keptFacesNote } from './unknown-faces.js';

/** @type {Record<KeepSightings, string>} */
const KEEP_CHOICES = { off: 'None (the default)', unknown: 'The faces it cannot name', all: 'Every face, named or not' };

/** @param {App} app */
export function galleriesView(app) {
  const list = $('#gallery-list');
  const errorRegion = $('#galleries-error');
  const form = /** @type {HTMLFormElement} */ ($('#gallery-create'));
  const nameInput = /** @type {HTMLInputElement} */ ($('#gallery-name'));
  const modelSelect = /** @type {HTMLSelectElement} */ ($('#gallery-model'));
  const createResult = $('#gallery-create-result');
  /** @type {DescriptorModel[]} */
  let models = [];

  /** @param {string | null} id */
  const modelName = (id) => (id === null ? null : (models.find((m) => m.id === id)?.name ?? id));

  async function loadModels() {
    try {
      ({ models } = await api.models());
      // A model that cannot run here is listed, greyed out, with the reason: a gallery cannot be bound to it.
      modelSelect.replaceChildren(
        ...models.map((m) =>
          h(
            'option',
            { value: m.name, selected: m.default && m.usable !== false, disabled: m.usable === false, title: m.unusableReason ?? '' },
            `${m.name} · ${m.dims}-d${m.default ? ' (the server’s default)' : ''}${m.usable === false ? ' · cannot run here' : ''}`,
          ),
        ),
      );
      modelSelect.disabled = models.filter((m) => m.usable !== false).length < 2;
    } catch {
      modelSelect.replaceChildren(h('option', { value: '' }, 'The server’s default'));
    }
  }

  /** @param {Gallery} gallery */
  function card(gallery) {
    const inUse = gallery.name === app.gallery();
    const isDefault = gallery.name === 'default';
    const title = h('h2', { className: 'gallery-name' }, gallery.name);
    const facts = h(
      'p',
      { className: 'muted small' },
      `${gallery.people === 1 ? '1 person' : `${gallery.people} people`} · ${plural(gallery.faces, 'face')} · ` +
        (gallery.descriptorModel ? `model ${modelName(gallery.descriptorModel)}` : 'model chosen at its first enrollment'),
    );
    const use = h('button', { type: 'button', className: 'button', disabled: inUse }, inUse ? 'In use' : 'Use this gallery');
    use.addEventListener('click', () => {
      app.useGallery(gallery.name);
      toast(`Now working in gallery ${gallery.name}`, 'success');
    });
    const rename = h('button', { type: 'button', className: 'button ghost' }, 'Rename');
    const remove = h('button', { type: 'button', className: 'button ghost danger-text' }, 'Delete');
    const actions = h('div', { className: 'row' }, use, isDefault ? null : rename, isDefault ? null : remove);
    const item = h(
      'li',
      { className: `gallery-card card${inUse ? ' in-use' : ''}`, 'data-gallery': gallery.name },
      h('div', { className: 'gallery-head' }, title, inUse ? h('span', { className: 'badge match' }, 'In use') : null),
      facts,
      isDefault ? h('p', { className: 'muted small' }, 'Always there: it cannot be renamed or deleted.') : null,
      keepField(gallery),
      actions,
    );
    rename.addEventListener('click', () => startRename(item, gallery));
    remove.addEventListener('click', () => void deleteGallery(gallery, remove));
    return item;
  }

  /**
   * Which faces Identify keeps in the gallery (sightings, grouped in Unknown faces), with what keeping them means.
   * @param {Gallery} gallery
   */
  function keepField(gallery) {
    const current = gallery.keepSightings;
    if (current === undefined) return null;
    const id = `keep-${gallery.id}`;
    const select = h(
      'select',
      { id, 'aria-describedby': `${id}-note` },
      ...Object.entries(KEEP_CHOICES).map(([value, label]) => h('option', { value, selected: value === current }, label)),
    );
    const note = h('p', { id: `${id}-note`, className: 'muted small' }, keptFacesNote(undefined));
    void serverSettings().then(
      (s) => (note.textContent = keptFacesNote(s.sightings?.retentionDays)),
      () => {},
    );
    select.addEventListener('change', async () => {
      const keep = /** @type {KeepSightings} */ (select.value);
      select.disabled = true;
      try {
        await api.keepSightings(gallery.id, keep);
        gallery.keepSightings = keep;
        toast(
          keep === 'off'
            ? `Gallery ${gallery.name} keeps no faces now`
            : `Gallery ${gallery.name} keeps ${keep === 'all' ? 'every face' : 'the faces'} Identify ${keep === 'all' ? 'sees' : 'cannot name'}`,
          'success',
        );
        await app.onChange();
      } catch (error) {
        select.value = gallery.keepSightings ?? 'off';
        show(errorRegion, errorMessage(error, `Could not change which faces gallery ${gallery.name} keeps.`));
      } finally {
        select.disabled = false;
      }
    });
    // Unknown faces shows the gallery in use: this one, then.
    const unknownLink = h('a', { href: '#/unknown' }, `See the unknown faces of ${gallery.name}`);
    unknownLink.addEventListener('click', () => {
      if (app.gallery() !== gallery.name) app.useGallery(gallery.name);
    });
    return h(
      'div',
      { className: 'field keep-field' },
      h(
        'span',
        { className: 'label-with-help' },
        h('label', { htmlFor: id }, 'Faces Identify keeps'),
        help(
          'What does keeping faces do?',
          h('p', {}, 'Kept faces are grouped by who they look like in Unknown faces, where a group can be named to enroll that person.'),
          h(
            'p',
            {},
            'A face seen in a photo is kept with its descriptor, a small picture of it and the photo’s name: biometric data about people who may not know. Keep only what you need, and say so to the people you photograph.',
          ),
        ),
      ),
      select,
      note,
      current === 'off' ? null : h('p', { className: 'small' }, unknownLink),
    );
  }

  /** An inline form in place of the card's title. @param {HTMLElement} item @param {Gallery} gallery */
  function startRename(item, gallery) {
    const input = h('input', { type: 'text', value: gallery.name, maxLength: 100, required: true, autocomplete: 'off' });
    const label = h('label', { className: 'visually-hidden' }, `New name for gallery ${gallery.name}`);
    const inputId = `rename-gallery-${gallery.id}`;
    input.id = inputId;
    label.htmlFor = inputId;
    const save = h('button', { type: 'submit', className: 'button primary' }, 'Save');
    const cancel = h('button', { type: 'button', className: 'button ghost' }, 'Cancel');
    const feedback = h('div', { 'aria-live': 'polite' });
    const renameForm = h('form', { className: 'rename' }, label, input, save, cancel);
    const head = /** @type {HTMLElement} */ (item.querySelector('.gallery-head'));
    head.replaceWith(renameForm);
    renameForm.after(feedback);
    input.focus();
    input.select();
    cancel.addEventListener('click', () => void load());
    renameForm.addEventListener('submit', async (event) => {
      event.preventDefault();
      const name = input.value.trim();
      if (!name) return input.focus();
      if (name === gallery.name) return void load();
      try {
        const { gallery: renamed } = await withBusy(save, 'Saving…', () => api.renameGallery(gallery.id, name));
        // The picker and every page follow a rename of the gallery in use.
        if (app.gallery() === gallery.name) app.useGallery(renamed.name);
        toast(`Gallery ${gallery.name} is now ${renamed.name}`, 'success');
        await app.onChange();
        await load();
      } catch (error) {
        show(feedback, errorMessage(error, 'Could not rename.'));
        input.focus();
      }
    });
  }

  /** @param {Gallery} gallery @param {HTMLButtonElement} button */
  async function deleteGallery(gallery, button) {
    const empty = gallery.people === 0;
    const ok = await confirmAction({
      title: `Delete gallery ${gallery.name}?`,
      message: empty
        ? `Gallery ${gallery.name} has no people. Deleting it removes the gallery itself.`
        : `This erases gallery ${gallery.name} with its ${gallery.people === 1 ? '1 person' : `${gallery.people} people`} and ` +
          `${plural(gallery.faces, 'face')}: every face descriptor and thumbnail. It cannot be undone.`,
      confirm: empty ? 'Delete gallery' : `Delete with ${gallery.people === 1 ? '1 person' : `${gallery.people} people`}`,
    });
    if (!ok) return;
    try {
      await withBusy(button, 'Deleting…', () => api.deleteGallery(gallery.id, !empty));
      if (app.gallery() === gallery.name) app.useGallery('default');
      toast(`Gallery ${gallery.name} was deleted`, 'success');
      await app.onChange();
      await load();
    } catch (error) {
      show(errorRegion, errorMessage(error, `Could not delete gallery ${gallery.name}.`));
    }
  }

  async function load() {
    show(errorRegion, loading('Loading galleries…'));
    try {
      const { galleries } = await api.galleries();
      show(errorRegion);
      show(list, ...galleries.map(card));
    } catch (error) {
      show(list);
      show(errorRegion, errorMessage(error, 'Could not load the galleries.'));
    }
  }

  nameInput.addEventListener('input', () => {
    nameInput.classList.remove('invalid');
    show(createResult);
  });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const name = nameInput.value.trim();
    if (!name) {
      nameInput.classList.add('invalid');
      show(createResult, message('error', h('p', {}, 'Enter a name for the gallery.')));
      return nameInput.focus();
    }
    const button = /** @type {HTMLButtonElement} */ (form.querySelector('[type=submit]'));
    try {
      const { gallery } = await withBusy(button, 'Creating…', () => api.createGallery(name, modelSelect.value || undefined));
      form.reset();
      await loadModels();
      app.useGallery(gallery.name);
      await app.onChange();
      show(
        createResult,
        message(
          'success',
          h('p', {}, h('strong', {}, `Gallery ${gallery.name} is created`), ', and it is now the gallery in use.'),
          h('p', {}, h('a', { href: '#/enroll' }, `Enroll the first person into ${gallery.name}`)),
        ),
      );
      await load();
    } catch (error) {
      nameInput.classList.add('invalid');
      show(createResult, errorMessage(error, 'Could not create the gallery.'));
      nameInput.focus();
    }
  });

  void loadModels();
  return {
    show() {
      show(createResult);
      void load();
    },
  };
}
