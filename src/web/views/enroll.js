/**
 * Enroll: a name and 1..N photos, into the gallery in use. Each photo is pre-checked with /v1/detect as soon as it
 * is added (a hint: the server's default quality gates); in a photo of several people the user clicks the face to
 * enroll (sent as its box, faceBoxes). Before saving, a name that the gallery already has asks whether these are
 * more photos of that person; the server's DUPLICATE_PERSON (the face is someone else's already) and its
 * POSSIBLE_DUPLICATE_PERSON warning (looks like someone else) are questions with answers too, never a quiet note.
 */
/** @import { App } from '../app.js' */
/** @import { AcceptedFace, DetectedFace, EnrollmentGates, EnrollResult, ListedPerson, PersonRef, Rejection } from '../api.js' */
import { api, ApiError } from '../api.js';
import { attributesLine } from '../attributes.js';
import { $, ask, errorMessage, formatDistance, h, loading, message, plural, show, withBusy } from '../dom.js';
import { readingOrder } from '../labels.js';
import { reasonFor } from '../messages.js';
import { bindDropzone, hasCamera, openCamera } from '../photos.js';

import { serverSettings } from '../settings.js';

/**
 * @typedef {'checking' | 'ok' | 'warn' | 'bad' | 'unchecked' | 'choose' | 'enrolled' | 'rejected'} PhotoState
 * @typedef {{ file: File, url: string, state: PhotoState, text: string, faces?: DetectedFace[], size?: { width: number, height: number }, chosen?: number, broken?: boolean }} Photo
 *   faces: as /v1/detect found them (largest first); chosen: the index of the face to enroll, in a photo of several
 * @typedef {{ kind: 'create' } | { kind: 'add', person: PersonRef }} Target
 */

const ICONS = { checking: '', ok: '✓', warn: '!', bad: '✕', unchecked: '?', choose: '?', enrolled: '✓', rejected: '✕' };

/**
 * The likely verdict for a photo from its detected faces, by the server's own enrollment gates.
 * @param {DetectedFace[]} faces @param {boolean} largestFace @param {EnrollmentGates} g
 * @param {number} [chosen] the face picked in a photo of several
 * @returns {{ state: PhotoState, text: string }}
 */
export function precheck(faces, largestFace, g, chosen) {
  // The chosen one, else the largest: the server lists faces largest first.
  const face = chosen === undefined ? faces[0] : faces[chosen];
  if (!face) return { state: 'bad', text: 'No face found' };
  if (faces.length > 1 && chosen === undefined && !largestFace)
    return { state: 'choose', text: `${faces.length} faces: click the one to enroll` };
  const q = face.quality;
  if (q.size < g.minFaceSize) return { state: 'warn', text: 'Face may be too small' };
  if (face.score < g.minScore) return { state: 'warn', text: 'Face unclear' };
  if (q.sharpness < g.minSharpness) return { state: 'warn', text: 'May be too blurry' };
  if (Math.abs(q.yaw) > g.maxYaw || Math.abs(q.roll) > g.maxRoll) return { state: 'warn', text: 'Head turned too far' };
  if (faces.length === 1) return { state: 'ok', text: 'Face found' };
  if (chosen === undefined) return { state: 'ok', text: 'Largest face will be used' };
  return { state: 'ok', text: `Face ${readingOrder(faces.map((f) => f.box)).indexOf(chosen) + 1} of ${faces.length} chosen` };
}

/**
 * The face of a photo that the server refused as already another person's (DUPLICATE_PERSON): as the error itself
 * (409, every photo refused, that one first), or among the rejections of an error or of a partial enrollment.
 * @param {unknown} source an ApiError, or an enrollment's rejections
 * @returns {{ person: PersonRef, image: number } | undefined}
 */
export function duplicatePerson(source) {
  /** @type {Rejection[]} */
  let rejected = [];
  if (source instanceof ApiError) {
    const details = /** @type {{ person?: PersonRef, image?: number, rejected?: Rejection[] }} */ (source.details);
    if (source.code === 'DUPLICATE_PERSON' && details.person) return { person: details.person, image: details.image ?? 0 };
    rejected = details.rejected ?? [];
  } else if (Array.isArray(source)) rejected = source;
  const first = rejected.find((r) => r.code === 'DUPLICATE_PERSON');
  const person = /** @type {{ person?: PersonRef } | undefined} */ (first?.details)?.person;
  return first && person ? { person, image: first.index } : undefined;
}

/** @param {App} app */
export function enrollView(app) {
  const form = /** @type {HTMLFormElement} */ ($('#enroll-form'));
  const galleryLine = $('#enroll-gallery');
  const nameInput = /** @type {HTMLInputElement} */ ($('#enroll-name'));
  const nameError = $('#enroll-name-error');
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
  /** @type {Promise<EnrollmentGates | undefined> | undefined} */
  let gates;

  /** A thumbnail that says so when the browser cannot show the file, instead of a broken image. @param {Photo} photo */
  function thumbnail(photo) {
    if (photo.broken) return h('span', { className: 'no-preview', 'aria-hidden': 'true' }, 'No preview');
    const img = h('img', { src: photo.url, alt: '' });
    img.addEventListener('error', () => {
      photo.broken = true;
      img.replaceWith(thumbnail(photo));
    });
    return img;
  }

  /** The photo with a button on each face, numbered left to right; the chosen one pressed. @param {Photo} photo */
  function chooser(photo) {
    const faces = photo.faces ?? [];
    const { width = 1, height = 1 } = photo.size ?? {};
    const order = readingOrder(faces.map((f) => f.box));
    const buttons = order.map((index, i) => {
      const [x = 0, y = 0, w = 0, hgt = 0] = faces[index]?.box ?? [];
      const pressed = photo.chosen === index;
      const button = h(
        'button',
        {
          type: 'button',
          className: 'face-pick',
          disabled: saved,
          'aria-pressed': String(pressed),
          'aria-label': `Face ${i + 1} of ${faces.length}, from the left`,
          'data-face': i + 1,
          style: {
            left: `${(x / width) * 100}%`,
            top: `${(y / height) * 100}%`,
            width: `${(w / width) * 100}%`,
            height: `${(hgt / height) * 100}%`,
          },
        },
        h('span', { className: 'face-num' }, i + 1),
      );
      button.addEventListener('click', () => choose(photo, index));
      return button;
    });
    return h('div', { className: 'chooser', role: 'group', 'aria-label': `Faces in ${photo.file.name}` }, thumbnail(photo), ...buttons);
  }

  /** @param {Photo} photo @param {number} index */
  async function choose(photo, index) {
    photo.chosen = index;
    const g = await (gates ??= serverSettings().then(
      (s) => s.enrollment,
      () => undefined,
    ));
    if (photo.faces) Object.assign(photo, g ? precheck(photo.faces, largest.checked, g, index) : { state: 'ok', text: `Face chosen` });
    render();
    show(result);
    /** @type {HTMLElement | null} */ (list.querySelector(`[data-photo="${photos.indexOf(photo)}"] [aria-pressed="true"]`))?.focus();
  }

  function render() {
    show(
      list,
      ...photos.map((photo, i) => {
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
        const group = (photo.faces?.length ?? 0) > 1;
        /** @type {HTMLElement | null} */
        let useLargest = null;
        if (group && !saved && photo.chosen !== 0) {
          useLargest = h('button', { type: 'button', className: 'button small' }, 'Use the largest face');
          useLargest.addEventListener('click', () => void choose(photo, 0));
        }
        return h(
          'li',
          { className: `photo ${photo.state}${group ? ' group' : ''}`, 'data-state': photo.state, 'data-photo': i },
          group ? chooser(photo) : thumbnail(photo),
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
            // The estimated attributes of the face to enroll: the only one, or the one chosen.
            photo.faces && (photo.faces.length === 1 || photo.chosen !== undefined)
              ? attributesLine(photo.faces[photo.chosen ?? 0]?.attributes)
              : null,
            useLargest,
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

  function describeGallery() {
    show(
      galleryLine,
      'Into gallery ',
      h('strong', {}, app.gallery()),
      '. ',
      h('span', { className: 'muted' }, 'Pick another at the top, or '),
      h('a', { href: '#/galleries' }, 'manage galleries'),
      h('span', { className: 'muted' }, '.'),
    );
  }

  async function runChecks() {
    if (checking) return;
    checking = true;
    while (checkQueue.length) {
      const photo = checkQueue.shift();
      if (!photo || !photos.includes(photo) || photo.state !== 'checking') continue;
      try {
        const [detection, settings] = await Promise.all([api.detect(photo.file, { attributes: 'all' }), serverSettings()]);
        if (photo.state === 'checking') {
          photo.faces = detection.faces;
          photo.size = { width: detection.width, height: detection.height };
          if (photo.chosen !== undefined && !detection.faces[photo.chosen]) photo.chosen = undefined;
          Object.assign(photo, precheck(detection.faces, largest.checked, settings.enrollment, photo.chosen));
        }
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
    setNameError(false);
    show(result);
    render();
  }

  /** @param {boolean} on */
  function setNameError(on) {
    nameInput.classList.toggle('invalid', on);
    nameError.hidden = !on;
    if (on) nameInput.setAttribute('aria-invalid', 'true');
    else nameInput.removeAttribute('aria-invalid');
  }

  /**
   * Marks each photo with the server's verdict.
   * @param {AcceptedFace[]} accepted @param {Rejection[]} rejected @param {Photo[]} sent @param {string} [as] the person's name, when not the one typed
   */
  function applyVerdicts(accepted, rejected, sent, as) {
    for (const a of accepted) {
      const photo = sent[a.index];
      if (!photo) continue;
      const twin = a.warnings?.[0]?.person.name;
      Object.assign(photo, {
        state: twin ? 'warn' : 'enrolled',
        text: `${as ? `Enrolled as ${as}` : 'Enrolled'}${twin ? ` · looks like ${twin}` : ''}`,
      });
    }
    for (const r of rejected) {
      const photo = sent[r.index];
      if (photo) Object.assign(photo, { state: 'rejected', text: `Not used: ${reasonFor(r.code, r.details)}` });
    }
  }

  /** The people of the gallery with exactly this name (regardless of case); none when they cannot be listed. @param {string} name */
  async function namesake(name) {
    try {
      const page = await api.people({ gallery: app.gallery(), search: name, limit: 200 });
      return page.people.filter((p) => p.name.trim().toLowerCase() === name.toLowerCase());
    } catch {
      return /** @type {ListedPerson[]} */ ([]);
    }
  }

  /** @param {Photo[]} sent */
  const faceBoxesOf = (sent) => sent.map((p) => (p.chosen !== undefined ? (p.faces?.[p.chosen]?.box ?? null) : null));

  /**
   * Enrolls the photos as `name`, asking first when the gallery has someone of that name, and again when the server
   * finds a face that is already another person's. Resolves with the answer and whom it went to, or undefined when the
   * user cancelled (nothing saved).
   * @param {string} name @param {Photo[]} sent
   * @returns {Promise<{ response: EnrollResult, target: Target } | undefined>}
   */
  async function save(name, sent) {
    const gallery = app.gallery();
    /** @type {Target} */
    let target = { kind: 'create' };
    const same = await namesake(name);
    if (same.length) {
      const answer = await ask({
        title: `${name} is already in gallery ${gallery}`,
        message: [
          h(
            'p',
            {},
            same.length === 1
              ? `${same[0]?.name} has ${plural(same[0]?.faceCount ?? 0, 'face')}. Are these more photos of the same person?`
              : `${same.length} people are already named ${name}. Are these more photos of one of them?`,
          ),
          h('p', { className: 'muted small' }, 'Two people of one name are told apart only by their faces, in People and in every answer.'),
        ],
        choices: [
          ...same.slice(0, 3).map((p) => ({
            value: p.id,
            label: `Add the photos to ${p.name}${same.length > 1 ? ` (${plural(p.faceCount, 'face')})` : ''}`,
            kind: /** @type {const} */ ('primary'),
          })),
          { value: 'new', label: `Create a second ${name}` },
        ],
      });
      if (!answer) return undefined;
      const person = same.find((p) => p.id === answer);
      if (person) target = { kind: 'add', person: { id: person.id, name: person.name } };
    }
    let allowDuplicatePerson = false;
    const files = sent.map((p) => p.file);
    const faceBoxes = faceBoxesOf(sent);
    for (;;) {
      try {
        const response =
          target.kind === 'create'
            ? await api.createPerson(
                { gallery, name, externalId: externalInput.value.trim() || undefined, largestFace: largest.checked || undefined },
                files,
                { faceBoxes, allowDuplicatePerson },
              )
            : await api.addFaces(target.person.id, gallery, files, { faceBoxes, allowDuplicatePerson, largestFace: largest.checked });
        return { response, target };
      } catch (error) {
        const duplicate = allowDuplicatePerson ? undefined : duplicatePerson(error);
        if (!duplicate) throw error;
        const other = duplicate.person;
        const photo = sent[duplicate.image];
        const answer = await ask({
          title: `This face is already enrolled as ${other.name}`,
          message: [
            h(
              'p',
              {},
              `${photo ? `${photo.file.name} shows` : 'A photo shows'} the face of ${other.name}, who is already in gallery ${gallery}. `,
              target.kind === 'create'
                ? `Enrolling it as ${name} too would make two people of one face: Identify would then be unsure between them.`
                : `Adding it to ${target.person.name} would give two people one face: Identify would then be unsure between them.`,
            ),
          ],
          choices: [
            { value: 'add', label: `Add the photos to ${other.name}`, kind: 'primary' },
            { value: 'override', label: target.kind === 'create' ? `Enroll as ${name} anyway` : `Add to ${target.person.name} anyway` },
          ],
        });
        if (!answer) return undefined;
        if (answer === 'add') target = { kind: 'add', person: other };
        else allowDuplicatePerson = true;
      }
    }
  }

  /**
   * The enrollment's outcome; a face that also looks like someone else is a warning with what to do about it.
   * @param {EnrollResult} response @param {Target} target @param {Photo[]} sent
   */
  function showOutcome(response, target, sent) {
    const skipped = response.rejected.length;
    const person = response.person;
    const where = `in gallery ${app.gallery()}`;
    const headline =
      target.kind === 'create'
        ? `${person.name} is enrolled ${where} with ${plural(response.faces.length, 'face')}.`
        : `${plural(response.faces.length, 'face')} added to ${person.name} ${where}: ${plural(person.faceCount, 'face')} in all.`;
    const links = h(
      'p',
      {},
      h('a', { href: '#/people' }, 'See everyone in People'),
      ' · ',
      h('a', { href: '#/identify' }, 'Try identifying a photo'),
    );
    const warned = response.faces.filter((f) => f.warnings?.length);
    const twin = warned[0]?.warnings[0];
    const refused = duplicatePerson(response.rejected);
    if (refused) return showRefused(response, refused, sent, headline, links);
    if (!twin) {
      show(
        result,
        message(
          skipped ? 'warn' : 'success',
          h('p', {}, h('strong', {}, headline)),
          skipped ? h('p', {}, `${plural(skipped, 'photo')} could not be used; see the reasons below.`) : null,
          links,
        ),
      );
      return;
    }
    // Looks like someone else: two cards for one person would make Identify unsure between them. Ask.
    const which = warned.map((f) => sent[f.index]?.file.name ?? `photo ${f.index + 1}`).join(', ');
    const actions = h('div', { className: 'row' });
    const panel = message(
      'warn',
      h('p', {}, h('strong', {}, headline)),
      h(
        'p',
        { id: 'enroll-duplicate-warning' },
        h('strong', {}, `But ${which} also ${warned.length === 1 ? 'looks' : 'look'} like ${twin.person.name}`),
        ` (distance ${formatDistance(twin.distance)}). If they are one person, Identify will be unsure between ${person.name} and ${twin.person.name}.`,
      ),
      actions,
      skipped ? h('p', {}, `${plural(skipped, 'photo')} could not be used; see the reasons below.`) : null,
    );
    const same = h(
      'button',
      { type: 'button', className: 'button primary' },
      target.kind === 'create' ? `Same person: move the photos to ${twin.person.name}` : `Same person: take these faces off ${person.name}`,
    );
    const different = h('button', { type: 'button', className: 'button' }, 'They are different people');
    actions.append(same, different);
    different.addEventListener('click', () =>
      show(result, message('success', h('p', {}, h('strong', {}, headline)), h('p', {}, `Kept apart from ${twin.person.name}.`), links)),
    );
    same.addEventListener('click', () =>
      withBusy(same, 'Moving…', async () => {
        try {
          if (target.kind === 'create') {
            // The same photos (and chosen faces) go to the other person first, then the new person goes: a failure
            // on the way loses nothing. Until then the faces are the new person's too, which the override allows.
            const photosUsed = response.faces.map((f) => /** @type {Photo} */ (sent[f.index]));
            const moved = await api.addFaces(
              twin.person.id,
              app.gallery(),
              photosUsed.map((p) => p.file),
              {
                faceBoxes: faceBoxesOf(photosUsed),
                largestFace: largest.checked,
                allowDuplicatePerson: true,
              },
            );
            await api.deletePerson(person.id, app.gallery());
            applyVerdicts(moved.faces, moved.rejected, photosUsed, twin.person.name);
            show(
              result,
              message(
                'success',
                h(
                  'p',
                  {},
                  h('strong', {}, `${plural(moved.faces.length, 'face')} moved to ${twin.person.name}`),
                  ` (${plural(moved.person.faceCount, 'face')} in all).`,
                ),
                h('p', {}, `${person.name} was removed.`),
                moved.rejected.length
                  ? h('p', {}, `${plural(moved.rejected.length, 'photo')} could not be added; see the reasons below.`)
                  : null,
                links,
              ),
            );
          } else {
            for (const f of warned) await api.removeFace(person.id, f.id);
            for (const f of warned) {
              const photo = sent[f.index];
              if (photo) Object.assign(photo, { state: 'rejected', text: `Taken off ${person.name}: looks like ${twin.person.name}` });
            }
            show(
              result,
              message('success', h('p', {}, h('strong', {}, `${plural(warned.length, 'face')} taken off ${person.name}.`)), links),
            );
          }
        } catch (error) {
          show(result, errorMessage(error, 'Could not move the photos.'));
        }
        render();
        void app.onChange();
      }),
    );
    show(result, panel);
  }

  /**
   * Some photos enrolled, and one refused because its face is already someone else's: said, with the override at hand.
   * @param {EnrollResult} response @param {{ person: PersonRef, image: number }} refused @param {Photo[]} sent
   * @param {string} headline @param {HTMLElement} links
   */
  function showRefused(response, refused, sent, headline, links) {
    const person = response.person;
    const indices = response.rejected.filter((r) => r.code === 'DUPLICATE_PERSON').map((r) => r.index);
    const photos = indices.map((i) => /** @type {Photo} */ (sent[i]));
    const names = photos.map((p) => p.file.name).join(', ');
    const anyway = h(
      'button',
      { type: 'button', className: 'button' },
      `Add ${photos.length === 1 ? 'it' : 'them'} to ${person.name} anyway`,
    );
    anyway.addEventListener('click', () =>
      withBusy(anyway, 'Adding…', async () => {
        try {
          const added = await api.addFaces(
            person.id,
            app.gallery(),
            photos.map((p) => p.file),
            {
              faceBoxes: faceBoxesOf(photos),
              largestFace: largest.checked,
              allowDuplicatePerson: true,
            },
          );
          applyVerdicts(added.faces, added.rejected, photos);
          show(
            result,
            message(
              'success',
              h(
                'p',
                {},
                h('strong', {}, `${plural(added.faces.length, 'face')} added to ${person.name} on purpose`),
                ` (${plural(added.person.faceCount, 'face')} in all).`,
              ),
              links,
            ),
          );
        } catch (error) {
          show(result, errorMessage(error, 'Could not add the photos.'));
        }
        render();
        void app.onChange();
      }),
    );
    show(
      result,
      message(
        'warn',
        h('p', {}, h('strong', {}, headline)),
        h(
          'p',
          { id: 'enroll-duplicate-refused' },
          h('strong', {}, `${names} ${photos.length === 1 ? 'was' : 'were'} not used: already enrolled as ${refused.person.name}. `),
          `The same face under two names would make Identify unsure between ${person.name} and ${refused.person.name}.`,
        ),
        h('div', { className: 'row' }, anyway),
        links,
      ),
    );
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
  nameInput.addEventListener('input', () => setNameError(false));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const name = nameInput.value.trim();
    if (!name) {
      setNameError(true);
      show(result);
      return nameInput.focus();
    }
    if (photos.length === 0) {
      show(result, message('error', h('p', {}, 'Add at least one photo of their face.')));
      return filesInput.focus();
    }
    const undecided = photos.find((p) => p.state === 'choose');
    if (undecided) {
      show(
        result,
        message(
          'error',
          h(
            'p',
            {},
            `${undecided.file.name} shows ${plural(undecided.faces?.length ?? 0, 'face')}: click the face of ${name} on it, use the largest face, or remove the photo.`,
          ),
        ),
      );
      return /** @type {HTMLElement | null} */ (list.querySelector(`[data-photo="${photos.indexOf(undecided)}"] .face-pick`))?.focus();
    }
    const sent = [...photos];
    checkQueue.length = 0;
    show(result, loading(`Enrolling ${name}: analysing ${plural(sent.length, 'photo')}…`));
    try {
      const saving = await withBusy(submit, 'Enrolling…', () => save(name, sent));
      if (!saving) {
        show(result, message('info', h('p', {}, 'Nothing was saved. Change the name or the photos, or try again.')));
        return;
      }
      const { response, target } = saving;
      applyVerdicts(
        response.faces,
        response.rejected,
        sent,
        target.kind === 'add' && target.person.name !== name ? target.person.name : undefined,
      );
      saved = true;
      showOutcome(response, target, sent);
      void app.onChange();
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
    } finally {
      render();
    }
  });

  render();
  return {
    show: () => describeGallery(),
  };
}
