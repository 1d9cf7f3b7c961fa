/**
 * Identify: the photo with each face boxed and named (or Unknown), drawn client-side from the JSON boxes, so that
 * moving the threshold slider only re-runs the request, and a list of faces with distance, confidence, candidates.
 */
/** @import { IdentifiedFace, IdentifyResult } from '../api.js' */
import { api } from '../api.js';
import { attributesLine } from '../attributes.js';
import { $, errorMessage, formatDistance, formatPercent, h, message, plural, show } from '../dom.js';
import { bindDropzone, hasCamera, openCamera } from '../photos.js';
import { store } from '../store.js';

import { serverSettings } from '../settings.js';

const OUTCOME_TEXT = { match: 'Recognised', ambiguous: 'Unsure', unknown: 'No match' };

/** What the threshold was and where it came from, in words. @param {IdentifyResult} result */
function thresholdNote(result) {
  const rate = result.expectedFpir === null ? '' : ` A stranger is expected to get a name ${formatRate(result.expectedFpir)} of the time.`;
  const threshold = `Threshold ${result.threshold.toFixed(3)}`;
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

/** @param {{ gallery: () => string }} app */
export function identifyView(app) {
  const input = /** @type {HTMLInputElement} */ ($('#identify-file'));
  const slider = /** @type {HTMLInputElement} */ ($('#identify-threshold'));
  const sliderValue = /** @type {HTMLOutputElement} */ ($('#identify-threshold-value'));
  const stage = $('#identify-stage');
  const image = /** @type {HTMLImageElement} */ ($('#identify-image'));
  const overlay = $('#identify-overlay');
  const busy = /** @type {HTMLElement} */ (stage.querySelector('.stage-busy'));
  const placeholder = $('#identify-placeholder');
  const facesList = $('#identify-faces');
  const status = $('#identify-status');
  const camera = /** @type {HTMLButtonElement} */ ($('#identify-camera'));

  /** @type {File | undefined} */
  let file;
  // Whether the threshold is the user's choice (sent) or still the server's default (not sent).
  let thresholdChosen = store.threshold !== undefined;
  let run = 0;
  let gallery = app.gallery();

  const setSlider = (/** @type {number} */ value) => {
    slider.value = String(value);
    sliderValue.textContent = Number(slider.value).toFixed(2);
  };
  // Until the user picks one, the slider shows the server's own threshold (GET /v1/settings).
  if (store.threshold !== undefined) setSlider(store.threshold);
  else
    void serverSettings().then(
      (s) => store.threshold === undefined && setSlider(s.threshold),
      () => {},
    );

  /** @param {IdentifiedFace} face */
  const labelOf = (face) => (face.outcome === 'match' ? face.label : face.outcome === 'ambiguous' ? 'Unsure' : 'Unknown');

  /** @param {number} i */
  function highlight(i) {
    for (const el of document.querySelectorAll('[data-face]')) el.classList.toggle('highlight', el.getAttribute('data-face') === String(i));
  }

  /** @param {IdentifyResult} result */
  function render(result) {
    show(
      overlay,
      ...result.faces.map((face, i) => {
        const [x = 0, y = 0, w = 0, hgt = 0] = face.box;
        const box = h(
          'div',
          {
            className: `face-box ${face.outcome}`,
            'data-face': i + 1,
            style: {
              left: `${(x / result.width) * 100}%`,
              top: `${(y / result.height) * 100}%`,
              width: `${(w / result.width) * 100}%`,
              height: `${(hgt / result.height) * 100}%`,
            },
          },
          h(
            'span',
            { className: `face-tag${y / result.height < 0.08 ? ' below' : ''}` },
            h('span', { className: 'face-num' }, i + 1),
            labelOf(face),
          ),
        );
        return box;
      }),
    );
    show(
      facesList,
      ...result.faces.map((face, i) => {
        const others = face.candidates.filter((c) => c.person.id !== face.person?.id);
        const item = h(
          'li',
          { className: `face-item ${face.outcome}`, 'data-face': i + 1, tabIndex: 0 },
          h('span', { className: 'face-num', 'aria-hidden': 'true' }, i + 1),
          h(
            'div',
            { className: 'face-body' },
            h(
              'div',
              { className: 'face-title' },
              h('strong', { className: 'face-label' }, face.outcome === 'match' ? face.label : 'Unknown'),
              h(
                'span',
                { className: `badge ${face.outcome}` },
                face.reason === 'FACE_TOO_SMALL' ? 'Too small' : OUTCOME_TEXT[face.outcome],
              ),
            ),
            attributesLine(face.attributes),
            face.distance === null
              ? null
              : h(
                  'dl',
                  { className: 'facts' },
                  h(
                    'div',
                    {},
                    h('dt', {}, face.outcome === 'match' ? 'Distance' : 'Nearest distance'),
                    h('dd', {}, formatDistance(face.distance)),
                  ),
                  h('div', {}, h('dt', {}, 'Confidence'), h('dd', {}, formatPercent(face.confidence))),
                ),
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
                    h('span', { className: 'candidate' }, `${c.person.name} (${formatDistance(c.distance)})`),
                  ]),
                )
              : h('p', { className: 'candidates small muted' }, 'Nobody is enrolled in this gallery yet.'),
          ),
        );
        item.addEventListener('mouseenter', () => highlight(i + 1));
        item.addEventListener('mouseleave', () => highlight(0));
        item.addEventListener('focus', () => highlight(i + 1));
        item.addEventListener('blur', () => highlight(0));
        return item;
      }),
    );
    const known = result.faces.filter((f) => f.outcome === 'match').length;
    const unknown = result.faces.length - known;
    show(
      status,
      message(
        known ? 'success' : 'info',
        h(
          'p',
          {},
          h('strong', {}, `${plural(result.faces.length, 'face')} found`),
          `: ${known} recognised${unknown ? `, ${unknown} unknown` : ''}.`,
        ),
        h('p', { className: 'muted small', id: 'identify-threshold-note', 'data-source': result.thresholdSource }, thresholdNote(result)),
      ),
    );
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
      if (!thresholdChosen) setSlider(result.threshold);
      render(result);
    } catch (error) {
      if (mine !== run) return;
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

  /** @param {File} chosen */
  function choose(chosen) {
    file = chosen;
    if (image.src) URL.revokeObjectURL(image.src);
    image.src = URL.createObjectURL(chosen);
    image.alt = `The photo being identified: ${chosen.name}`;
    stage.hidden = false;
    placeholder.hidden = true;
    show(overlay);
    show(facesList);
    identify();
  }

  bindDropzone($('#identify-drop'), input, (files) => files[0] && choose(files[0]));
  camera.hidden = !hasCamera();
  camera.addEventListener('click', () => openCamera({ single: true, onShot: choose }));
  slider.addEventListener('input', () => (sliderValue.textContent = Number(slider.value).toFixed(2)));
  // Re-run on release (or each arrow key press), not on every pixel of a drag.
  slider.addEventListener('change', () => {
    thresholdChosen = true;
    identify();
  });

  return {
    show() {
      // A new default threshold in Settings applies from now on.
      if (store.threshold !== undefined && !file) {
        thresholdChosen = true;
        setSlider(store.threshold);
      }
      // Another gallery was picked: the same photo against its people.
      if (file && gallery !== app.gallery()) identify();
    },
  };
}
