/**
 * Identify: the photo with each face boxed and named (or Unknown), drawn client-side from the JSON boxes, so that
 * moving the threshold slider only re-runs the request, and a list of faces with distance, confidence, candidates.
 * Faces are numbered left to right; their labels are placed so that none covers another or leaves the photo
 * (labels.js), and on a phone they shrink to the number, the names being in the list below.
 */
/** @import { App } from '../app.js' */
/** @import { IdentifiedFace, IdentifyResult } from '../api.js' */
import { api } from '../api.js';
import { attributesLine } from '../attributes.js';
import { $, errorMessage, formatDistance, formatPercent, h, message, plural, show } from '../dom.js';
import { explainConfidence, explainDistance, explainThreshold, WEAK_CONFIDENCE, weakMatchText } from '../explain.js';
import { placeLabels, readingOrder } from '../labels.js';
import { bindDropzone, hasCamera, openCamera } from '../photos.js';
import { store } from '../store.js';
import { sightingActions } from './sighting-actions.js';

import { serverSettings } from '../settings.js';

const OUTCOME_TEXT = { match: 'Recognised', weak: 'Weak match', ambiguous: 'Unsure', unknown: 'No match' };

/** What the threshold was and where it came from, in words. @param {IdentifyResult} result */
function thresholdNote(result) {
  const rate = result.expectedFpir === null ? '' : ` A stranger is expected to get a name ${formatRate(result.expectedFpir)} of the time.`;
  const threshold = `Threshold ${formatDistance(result.threshold)}`;
  if (result.thresholdSource === 'request') return `${threshold}, as set on the slider or in Settings.${rate}`;
  const how = result.thresholdSource === 'gallery-calibrated' ? ', learned from this gallery’s own faces' : '';
  return `${threshold}: set for this gallery’s size${how}, so that strangers are rarely named.${rate}`;
}

/** A small rate as a percentage with the digits it needs. @param {number} rate */
export function formatRate(rate) {
  // Rounded first, so that 0.0099999 reads 1.0%, not 1.00%.
  const pct = Math.round(rate * 10000) / 100;
  return `${pct >= 10 ? pct.toFixed(0) : pct >= 1 ? pct.toFixed(1) : pct.toFixed(2)}%`;
}

/** A match named below even odds: only a loosened threshold gives one. @param {IdentifiedFace} face */
export const isWeak = (face) => face.outcome === 'match' && face.confidence !== null && face.confidence < WEAK_CONFIDENCE;

/** @param {IdentifiedFace} face @returns {'match' | 'weak' | 'ambiguous' | 'unknown'} */
const kindOf = (face) => (isWeak(face) ? 'weak' : face.outcome);

// One arrow key press moves the threshold by this much; the slider itself has steps of 0.001.
const KEY_STEP = 0.01;
const PAGE_STEP = 0.05;

/** @param {App} app */
export function identifyView(app) {
  const input = /** @type {HTMLInputElement} */ ($('#identify-file'));
  const slider = /** @type {HTMLInputElement} */ ($('#identify-threshold'));
  const sliderValue = /** @type {HTMLOutputElement} */ ($('#identify-threshold-value'));
  const mode = $('#identify-threshold-mode');
  const reset = /** @type {HTMLButtonElement} */ ($('#identify-threshold-reset'));
  const thresholdHelp = $('#identify-threshold-help');
  const stage = $('#identify-stage');
  const frame = /** @type {HTMLElement} */ (stage.querySelector('.stage-frame'));
  const image = /** @type {HTMLImageElement} */ ($('#identify-image'));
  const overlay = $('#identify-overlay');
  const busy = /** @type {HTMLElement} */ (stage.querySelector('.stage-busy'));
  const placeholder = $('#identify-placeholder');
  const facesList = $('#identify-faces');
  const status = $('#identify-status');
  const camera = /** @type {HTMLButtonElement} */ ($('#identify-camera'));

  /** @type {File | undefined} */
  let file;
  // Whether the threshold is the user's choice (sent) or still the server's automatic one (not sent).
  let thresholdChosen = store.threshold !== undefined;
  // The gallery's automatic threshold, as the last answer without a chosen threshold gave it.
  /** @type {number | undefined} */
  let automatic;
  /** @type {number | undefined} */
  let verifyThreshold;
  /** @type {IdentifyResult | undefined} */
  let current;
  let peopleCount = 0;
  let run = 0;
  let gallery = app.gallery();

  /** @param {number} value */
  const setSlider = (value) => {
    slider.value = value.toFixed(3);
    sliderValue.textContent = formatDistance(Number(slider.value));
  };

  function describeMode() {
    reset.hidden = !thresholdChosen;
    if (!thresholdChosen) mode.textContent = 'Automatic: set for this gallery’s size, so that strangers are rarely named.';
    else
      mode.textContent =
        automatic === undefined ? 'Set by you.' : `Set by you; the automatic threshold is ${formatDistance(automatic)} for this gallery.`;
    show(
      thresholdHelp,
      explainThreshold({
        identify: automatic === undefined ? undefined : { threshold: automatic, people: peopleCount, automatic: true },
        verify: verifyThreshold,
      }),
    );
  }

  // Until the user picks one, the slider shows the server's threshold: the gallery's, once a photo was identified.
  if (store.threshold !== undefined) setSlider(store.threshold);
  void serverSettings().then(
    (s) => {
      verifyThreshold = s.threshold;
      if (!thresholdChosen && automatic === undefined) setSlider(s.threshold);
      describeMode();
    },
    () => {},
  );
  // The gallery's own automatic threshold, known before any photo (admin keys only; a recognition key learns it from identify).
  function loadAutomatic() {
    const asked = app.gallery();
    api.galleryThreshold(asked).then(
      (t) => {
        if (asked !== app.gallery()) return;
        automatic = t.threshold;
        peopleCount = t.people;
        if (!thresholdChosen) setSlider(t.threshold);
        describeMode();
      },
      () => {},
    );
  }
  describeMode();

  /** @param {number} n the face's number */
  function highlight(n) {
    for (const el of document.querySelectorAll('[data-face]')) el.classList.toggle('highlight', el.getAttribute('data-face') === String(n));
  }

  /** @param {IdentifiedFace} face */
  const tagText = (face) => (face.outcome === 'match' ? face.label : face.outcome === 'ambiguous' ? 'Unsure' : 'Unknown');

  /** Puts each label near its face, inside the photo and clear of the others (labels.js). */
  function layoutTags() {
    if (!current || stage.hidden) return;
    const width = overlay.clientWidth;
    const height = overlay.clientHeight;
    if (!width || !height) return;
    const tags = /** @type {HTMLElement[]} */ ([...overlay.querySelectorAll('.face-tag')]);
    const result = current;
    const faces = tags.map((tag) => {
      const [x = 0, y = 0, w = 0, hgt = 0] = result.faces[Number(tag.dataset.index)]?.box ?? [];
      return {
        x: (x / result.width) * width,
        y: (y / result.height) * height,
        w: (w / result.width) * width,
        h: (hgt / result.height) * height,
      };
    });
    const sizes = tags.map((tag) => ({ w: tag.offsetWidth, h: tag.offsetHeight }));
    placeLabels(faces, sizes, { w: width, h: height }).forEach((p, i) => {
      const tag = tags[i];
      if (!tag) return;
      tag.style.left = `${p.x}px`;
      tag.style.top = `${p.y}px`;
      tag.style.visibility = 'visible';
    });
  }
  new ResizeObserver(() => layoutTags()).observe(overlay);

  /** @param {IdentifyResult} result */
  function render(result) {
    current = result;
    const order = readingOrder(result.faces.map((f) => f.box));
    const numbered = order.map((index, i) => ({ face: /** @type {IdentifiedFace} */ (result.faces[index]), index, n: i + 1 }));
    const boxes = numbered.map(({ face, n }) => {
      const [x = 0, y = 0, w = 0, hgt = 0] = face.box;
      return h('div', {
        className: `face-box ${kindOf(face)}`,
        'data-face': n,
        style: {
          left: `${(x / result.width) * 100}%`,
          top: `${(y / result.height) * 100}%`,
          width: `${(w / result.width) * 100}%`,
          height: `${(hgt / result.height) * 100}%`,
        },
      });
    });
    // The labels, in reading order: placed once they are in the page and measured.
    const tags = numbered.map(({ face, index, n }) =>
      h(
        'span',
        { className: `face-tag ${kindOf(face)}`, 'data-face': n, 'data-index': index, style: { visibility: 'hidden' } },
        h('span', { className: 'face-num' }, n),
        h('span', { className: 'tag-name' }, tagText(face)),
      ),
    );
    show(overlay, ...boxes, ...tags);
    requestAnimationFrame(layoutTags);

    show(facesList, ...numbered.map(({ face, n }) => faceItem(face, n, result)));
    const weak = result.faces.filter(isWeak).length;
    const known = result.faces.filter((f) => f.outcome === 'match').length - weak;
    const unknown = result.faces.length - known - weak;
    const parts = [
      `${known} recognised`,
      weak ? `${weak} weak ${weak === 1 ? 'match' : 'matches'}` : '',
      unknown ? `${unknown} unknown` : '',
    ];
    show(
      status,
      message(
        known ? 'success' : 'info',
        h('p', {}, h('strong', {}, `${plural(result.faces.length, 'face')} found`), `: ${parts.filter(Boolean).join(', ')}.`),
        h('p', { className: 'muted small', id: 'identify-threshold-note', 'data-source': result.thresholdSource }, thresholdNote(result)),
      ),
      weak
        ? message(
            'warn',
            h(
              'p',
              { id: 'identify-weak-warning' },
              h('strong', {}, weak === 1 ? 'A name below is a weak match. ' : `${weak} names below are weak matches. `),
              result.thresholdSource === 'request'
                ? `The threshold ${formatDistance(result.threshold)} is looser than the automatic one${automatic === undefined ? '' : ` (${formatDistance(automatic)})`}, so faces are named that are more likely someone else.`
                : 'At that distance a face is more likely someone else than this person: check it before you rely on it.',
            ),
            result.thresholdSource === 'request' ? h('p', {}, resetButton('Reset to automatic')) : null,
          )
        : null,
    );
  }

  /** @param {string} label */
  function resetButton(label) {
    const button = h('button', { type: 'button', className: 'button small' }, label);
    button.addEventListener('click', () => resetToAutomatic());
    return button;
  }

  /** @param {IdentifiedFace} face @param {number} n @param {IdentifyResult} result */
  function faceItem(face, n, result) {
    const kind = kindOf(face);
    const others = face.candidates.filter((c) => c.person.id !== face.person?.id);
    /** @param {string} term @param {string} value @param {HTMLElement} [explanation] */
    const fact = (term, value, explanation) => h('div', {}, h('dt', {}, term, explanation ?? null), h('dd', {}, value));
    const item = h(
      'li',
      { className: `face-item ${kind}`, 'data-face': n, tabIndex: 0 },
      h('span', { className: 'face-num', 'aria-hidden': 'true' }, n),
      h(
        'div',
        { className: 'face-body' },
        h(
          'div',
          { className: 'face-title' },
          h('strong', { className: 'face-label' }, face.outcome === 'match' ? face.label : 'Unknown'),
          h('span', { className: `badge ${kind}` }, face.reason === 'FACE_TOO_SMALL' ? 'Too small' : OUTCOME_TEXT[kind]),
        ),
        attributesLine(face.attributes),
        // Unsure: two people are about as close; one confidence would say nothing, each candidate has its own.
        face.distance === null || face.outcome === 'ambiguous'
          ? null
          : h(
              'dl',
              { className: 'facts' },
              fact(face.outcome === 'match' ? 'Distance' : 'Nearest distance', formatDistance(face.distance), explainDistance()),
              fact('Confidence', formatPercent(face.confidence), explainConfidence()),
            ),
        kind === 'weak' && face.distance !== null
          ? h(
              'p',
              { className: 'weak-note small' },
              weakMatchText(face.distance, face.confidence, result.threshold, result.thresholdSource === 'request'),
            )
          : null,
        face.outcome === 'ambiguous'
          ? h(
              'p',
              { className: 'small' },
              'Two enrolled people look about equally like this face, so facerec does not guess. If they are one person, keep one of them in People.',
            )
          : null,
        face.candidates.length
          ? h(
              'p',
              { className: 'candidates small' },
              face.outcome === 'match'
                ? others.length
                  ? 'Next closest: '
                  : ''
                : face.outcome === 'ambiguous'
                  ? 'Could be: '
                  : 'Closest, but too far: ',
              ...(face.outcome === 'match' ? others : face.candidates).flatMap((c, j) => [
                j ? ', ' : '',
                h(
                  'span',
                  { className: 'candidate' },
                  face.outcome === 'ambiguous'
                    ? `${c.person.name} (${formatDistance(c.distance)}, ${formatPercent(c.confidence)})`
                    : `${c.person.name} (${formatDistance(c.distance)})`,
                ),
              ]),
            )
          : h('p', { className: 'candidates small muted' }, 'Nobody is enrolled in this gallery yet.'),
        sightingActions(face, result.gallery.id),
      ),
    );
    item.addEventListener('mouseenter', () => highlight(n));
    item.addEventListener('mouseleave', () => highlight(0));
    item.addEventListener('focus', () => highlight(n));
    item.addEventListener('blur', () => highlight(0));
    return item;
  }

  async function identify() {
    if (!file) return;
    const mine = ++run;
    gallery = app.gallery();
    busy.hidden = false;
    stage.setAttribute('aria-busy', 'true');
    show(
      status,
      h('div', { className: 'loading' }, h('span', { className: 'spinner', 'aria-hidden': 'true' }), h('span', {}, 'Looking for faces…')),
    );
    try {
      const result = await api.identify(file, {
        gallery: app.gallery(),
        threshold: thresholdChosen ? Number(slider.value) : undefined,
        attributes: 'all',
      });
      if (mine !== run) return;
      if (!thresholdChosen) {
        automatic = result.threshold;
        setSlider(result.threshold);
      }
      describeMode();
      render(result);
    } catch (error) {
      if (mine !== run) return;
      current = undefined;
      show(overlay);
      show(facesList);
      show(status, errorMessage(error, 'Could not identify this photo.'));
    } finally {
      if (mine === run) {
        busy.hidden = true;
        stage.removeAttribute('aria-busy');
      }
    }
  }

  function resetToAutomatic() {
    thresholdChosen = false;
    if (automatic !== undefined) setSlider(automatic);
    describeMode();
    slider.focus();
    void identify();
  }

  /** @param {File} chosen */
  function choose(chosen) {
    file = chosen;
    current = undefined;
    if (image.src) URL.revokeObjectURL(image.src);
    image.src = URL.createObjectURL(chosen);
    image.alt = `The photo being identified: ${chosen.name}`;
    stage.hidden = false;
    frame.classList.remove('no-preview');
    placeholder.hidden = true;
    show(overlay);
    show(facesList);
    identify();
  }

  // A file the browser cannot show (not an image, or a format it lacks): no black strip, the answer says the rest.
  image.addEventListener('error', () => {
    if (!file || !image.src) return;
    stage.hidden = true;
    placeholder.hidden = false;
    show(placeholder, h('p', {}, `This browser cannot show ${file.name} as a picture.`));
  });
  image.addEventListener('load', () => requestAnimationFrame(layoutTags));

  bindDropzone($('#identify-drop'), input, (files) => files[0] && choose(files[0]));
  camera.hidden = !hasCamera();
  camera.addEventListener('click', () => openCamera({ single: true, onShot: choose }));
  slider.addEventListener('input', () => (sliderValue.textContent = formatDistance(Number(slider.value))));
  // Re-run on release (or each key press), not on every pixel of a drag.
  slider.addEventListener('change', () => {
    thresholdChosen = true;
    describeMode();
    identify();
  });
  // The slider's steps are 0.001, so that any threshold shows as it is; keys move it by 0.01 (and 0.05 a page).
  slider.addEventListener('keydown', (event) => {
    const delta = {
      ArrowRight: KEY_STEP,
      ArrowUp: KEY_STEP,
      ArrowLeft: -KEY_STEP,
      ArrowDown: -KEY_STEP,
      PageUp: PAGE_STEP,
      PageDown: -PAGE_STEP,
    }[event.key];
    if (delta === undefined) return;
    event.preventDefault();
    const value = Math.min(Number(slider.max), Math.max(Number(slider.min), Math.round((Number(slider.value) + delta) * 1000) / 1000));
    setSlider(value);
    slider.dispatchEvent(new Event('change'));
  });
  reset.addEventListener('click', () => resetToAutomatic());

  return {
    show() {
      // A new default threshold in Settings applies from now on.
      if (store.threshold !== undefined && !file) {
        thresholdChosen = true;
        setSlider(store.threshold);
      }
      if (!thresholdChosen || gallery !== app.gallery()) loadAutomatic();
      describeMode();
      // Another gallery was picked: the same photo against its people.
      if (file && gallery !== app.gallery()) identify();
      else requestAnimationFrame(layoutTags);
    },
  };
}
