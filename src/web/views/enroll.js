/**
 * Enroll: a name and 1..N photos. Each photo is pre-checked with /v1/detect as soon as it is added (a hint: the
 * server's default quality gates), then the server's own verdict per photo is shown after saving.
 */
/** @import { AcceptedFace, DetectedFace, EnrollmentGates, Rejection } from '../api.js' */
import { api } from '../api.js';
import { attributesLine } from '../attributes.js';
import { $, errorMessage, h, loading, message, plural, show, withBusy } from '../dom.js';
import { reasonFor } from '../messages.js';
import { bindDropzone, hasCamera, openCamera } from '../photos.js';

import { serverSettings } from '../settings.js';

/**
 * @typedef {'checking' | 'ok' | 'warn' | 'bad' | 'unchecked' | 'enrolled' | 'rejected'} PhotoState
 * @typedef {{ file: File, url: string, state: PhotoState, text: string, face?: DetectedFace }} Photo the face: the largest the check found
 */

const ICONS = { checking: '', ok: '✓', warn: '!', bad: '✕', unchecked: '?', enrolled: '✓', rejected: '✕' };

/**
 * The likely verdict for a photo from its detected faces, by the server's own enrollment gates.
 * @param {DetectedFace[]} faces @param {boolean} largestFace @param {EnrollmentGates} g
 * @returns {{ state: PhotoState, text: string }}
 */
export function precheck(faces, largestFace, g) {
  const face = faces[0]; // the largest: the server lists faces largest first
  if (!face) return { state: 'bad', text: 'No face found' };
  if (faces.length > 1 && !largestFace) return { state: 'bad', text: `Several faces (${faces.length})` };
  const q = face.quality;
  if (q.size < g.minFaceSize) return { state: 'warn', text: 'Face may be too small' };
  if (face.score < g.minScore) return { state: 'warn', text: 'Face unclear' };
  if (q.sharpness < g.minSharpness) return { state: 'warn', text: 'May be too blurry' };
  if (Math.abs(q.yaw) > g.maxYaw || Math.abs(q.roll) > g.maxRoll) return { state: 'warn', text: 'Head turned too far' };
  return { state: 'ok', text: faces.length > 1 ? 'Largest face will be used' : 'Face found' };
}

/** @param {{ gallery: () => string, onChange: () => void }} app */
export function enrollView(app) {
  const form = /** @type {HTMLFormElement} */ ($('#enroll-form'));
  const nameInput = /** @type {HTMLInputElement} */ ($('#enroll-name'));
  const externalInput = /** @type {HTMLInputElement} */ ($('#enroll-external'));
  const largest = /** @type {HTMLInputElement} */ ($('#enroll-largest'));
  const list = $('#enroll-photos');
  const result = $('#enroll-result');
  const submit = /** @type {HTMLButtonElement} */ ($('#enroll-submit'));
  const reset = /** @type {HTMLButtonElement} */ ($('#enroll-reset'));
  const camera = /** @type {HTMLButtonElement} */ ($('#enroll-camera'));
  const filesInput = /** @type {HTMLInputElement} */ ($('#enroll-files'));

  /** @type {Photo[]} */
  let photos = [];
  let saved = false;
  /** @type {Photo[]} */
  const checkQueue = [];
  let checking = false;

  function render() {
    show(
      list,
      ...photos.map((photo) => {
        const remove = h(
          'button',
          { type: 'button', className: 'icon-button', 'aria-label': `Remove ${photo.file.name}`, title: 'Remove', disabled: saved },
          '✕',
        );
        remove.addEventListener('click', () => {
          photos = photos.filter((p) => p !== photo);
          URL.revokeObjectURL(photo.url);
          render();
        });
        return h(
          'li',
          { className: `photo ${photo.state}`, 'data-state': photo.state },
          h('img', { src: photo.url, alt: '' }),
          h(
            'div',
            { className: 'photo-info' },
            h('span', { className: 'photo-name', title: photo.file.name }, photo.file.name),
            h(
              'span',
              { className: 'status' },
              photo.state === 'checking'
                ? h('span', { className: 'spinner small', 'aria-hidden': 'true' })
                : h('span', { className: 'status-icon', 'aria-hidden': 'true' }, ICONS[photo.state]),
              h('span', { className: 'status-text' }, photo.text),
            ),
            attributesLine(photo.face?.attributes),
          ),
          saved ? null : remove,
        );
      }),
    );
    submit.hidden = saved;
    submit.textContent = photos.length ? `Enroll with ${plural(photos.length, 'photo')}` : 'Enroll';
    // Once saved, the form shows the result until the next person is started.
    for (const control of [nameInput, externalInput, largest, filesInput, camera]) control.disabled = saved;
    reset.textContent = saved ? 'Enroll another person' : 'Start over';
    reset.className = saved ? 'button primary' : 'button ghost';
  }

  async function runChecks() {
    if (checking) return;
    checking = true;
    while (checkQueue.length) {
      const photo = checkQueue.shift();
      if (!photo || !photos.includes(photo) || photo.state !== 'checking') continue;
      try {
        const [detection, settings] = await Promise.all([api.detect(photo.file, { attributes: 'all' }), serverSettings()]);
        if (photo.state === 'checking')
          Object.assign(photo, precheck(detection.faces, largest.checked, settings.enrollment), { face: detection.faces[0] });
      } catch (error) {
        const code = /** @type {{ code?: string }} */ (error).code ?? '';
        if (photo.state === 'checking') {
          const unreadable = ['UNSUPPORTED_IMAGE', 'IMAGE_TOO_LARGE', 'PAYLOAD_TOO_LARGE'].includes(code);
          Object.assign(photo, unreadable ? { state: 'bad', text: reasonFor(code) } : { state: 'unchecked', text: 'Not checked' });
          // The server itself is the problem (key, overload): say so once, above the photos.
          if (!unreadable) show(result, errorMessage(error, 'Could not check the photos.'));
        }
      }
      render();
    }
    checking = false;
  }

  /** @param {File[]} files */
  async function addFiles(files) {
    if (saved) return;
    // The server's own limit per call; if it cannot be asked, the server will say so on saving.
    const most = await serverSettings().then(
      (s) => s.limits.photosPerCall,
      () => Infinity,
    );
    const room = most - photos.length;
    if (files.length > room)
      show(
        result,
        message('warn', h('p', {}, `At most ${most} photos per person at once; ${plural(files.length - room, 'photo')} left out.`)),
      );
    for (const file of files.slice(0, Math.max(0, room))) {
      /** @type {Photo} */
      const photo = { file, url: URL.createObjectURL(file), state: 'checking', text: 'Checking…' };
      photos.push(photo);
      checkQueue.push(photo);
    }
    render();
    runChecks();
  }

  function resetForm() {
    saved = false;
    photos.forEach((p) => URL.revokeObjectURL(p.url));
    photos = [];
    checkQueue.length = 0;
    form.reset();
    nameInput.classList.remove('invalid');
    show(result);
    render();
  }

  /** Marks each photo with the server's verdict. @param {AcceptedFace[]} accepted @param {Rejection[]} rejected @param {Photo[]} sent */
  function applyVerdicts(accepted, rejected, sent) {
    for (const a of accepted) {
      const photo = sent[a.index];
      if (!photo) continue;
      const twin = a.warnings?.[0]?.person.name;
      Object.assign(photo, { state: 'enrolled', text: twin ? `Enrolled · also looks like ${twin}` : 'Enrolled' });
    }
    for (const r of rejected) {
      const photo = sent[r.index];
      if (photo) Object.assign(photo, { state: 'rejected', text: `Not used: ${reasonFor(r.code, r.details)}` });
    }
  }

  bindDropzone($('#enroll-drop'), filesInput, (files) => void addFiles(files));
  camera.hidden = !hasCamera();
  camera.addEventListener('click', () => openCamera({ onShot: (file) => void addFiles([file]) }));
  largest.addEventListener('change', () => {
    // The hint depends on the option: check again.
    if (saved) return;
    for (const p of photos) {
      if (p.state === 'checking') continue;
      Object.assign(p, { state: 'checking', text: 'Checking…' });
      checkQueue.push(p);
    }
    render();
    runChecks();
  });
  reset.addEventListener('click', () => {
    resetForm();
    nameInput.focus();
  });
  nameInput.addEventListener('input', () => nameInput.classList.remove('invalid'));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const name = nameInput.value.trim();
    if (!name) {
      nameInput.classList.add('invalid');
      show(result, message('error', h('p', {}, 'Enter the person’s name.')));
      return nameInput.focus();
    }
    if (photos.length === 0) {
      show(result, message('error', h('p', {}, 'Add at least one photo of their face.')));
      return filesInput.focus();
    }
    const sent = [...photos];
    checkQueue.length = 0;
    show(result, loading(`Enrolling ${name}: analysing ${plural(sent.length, 'photo')}…`));
    try {
      const response = await withBusy(submit, 'Enrolling…', () =>
        api.createPerson(
          { gallery: app.gallery(), name, externalId: externalInput.value.trim() || undefined, largestFace: largest.checked || undefined },
          sent.map((p) => p.file),
        ),
      );
      applyVerdicts(response.faces, response.rejected, sent);
      saved = true;
      const skipped = response.rejected.length;
      show(
        result,
        message(
          skipped ? 'warn' : 'success',
          h('p', {}, h('strong', {}, `${response.person.name} is enrolled with ${plural(response.faces.length, 'face')}.`)),
          skipped ? h('p', {}, `${plural(skipped, 'photo')} could not be used; see the reasons below.`) : null,
          h(
            'p',
            {},
            h('a', { href: '#/people' }, 'See everyone in People'),
            ' · ',
            h('a', { href: '#/identify' }, 'Try identifying a photo'),
          ),
        ),
      );
      app.onChange();
    } catch (error) {
      const rejected = /** @type {{ details?: { rejected?: Rejection[] } }} */ (error).details?.rejected;
      if (rejected) {
        applyVerdicts([], rejected, sent);
        show(
          result,
          message(
            'error',
            h(
              'p',
              {},
              h('strong', {}, 'Nothing was saved. '),
              'None of the photos could be used; see the reasons below. Remove them and add clearer photos.',
            ),
          ),
        );
        for (const p of sent) if (p.state === 'rejected') p.text = p.text.replace(/^Not used: /, '');
      } else {
        show(result, errorMessage(error, 'Could not enroll.'));
      }
    }
    render();
  });

  render();
  return {
    show: () => undefined,
  };
}
