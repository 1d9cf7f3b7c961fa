/** Verify (is this photo that person?) and compare (are two photos the same person?), each with a clear answer. */
import { api } from '../api.js';
import { $, errorMessage, formatDistance, formatPercent, h, loading, message, plural, show, withBusy } from '../dom.js';
import { explainConfidence, explainDistance, explainThreshold } from '../explain.js';
import { photoSlot } from '../photos.js';
import { store } from '../store.js';

// The distance bar spans 0..this; descriptors of different people are rarely farther apart.
const SCALE = 1.2;

/**
 * The answer: same or different, the distance against the threshold, and the confidence.
 * @param {{ match: boolean, distance: number, threshold: number, confidence: number }} r @param {string} sameText @param {string} differentText
 */
function verdict(r, sameText, differentText) {
  const pct = (/** @type {number} */ v) => `${Math.min(100, (v / SCALE) * 100)}%`;
  return h(
    'div',
    { className: `verdict ${r.match ? 'same' : 'different'}` },
    h(
      'div',
      { className: 'verdict-head' },
      h('span', { className: 'verdict-icon', 'aria-hidden': 'true' }, r.match ? '✓' : '✕'),
      h(
        'div',
        {},
        h('p', { className: 'verdict-title' }, r.match ? 'Same person' : 'Different people'),
        h('p', {}, r.match ? sameText : differentText),
      ),
    ),
    h(
      'div',
      {
        className: 'distance-bar',
        role: 'img',
        'aria-label': `Distance ${formatDistance(r.distance)}; the threshold is ${formatDistance(r.threshold)}`,
      },
      h('span', { className: 'distance-fill', style: { width: pct(r.distance) } }),
      h('span', { className: 'distance-threshold', style: { left: pct(r.threshold) }, title: 'Threshold' }),
    ),
    h(
      'dl',
      { className: 'facts' },
      h('div', {}, h('dt', {}, 'Distance', explainDistance()), h('dd', {}, formatDistance(r.distance))),
      h('div', {}, h('dt', {}, 'Threshold', explainThreshold({ verify: r.threshold })), h('dd', {}, formatDistance(r.threshold))),
      h('div', {}, h('dt', {}, 'Confidence', explainConfidence()), h('dd', {}, formatPercent(r.confidence))),
    ),
  );
}

/** @param {{ gallery: () => string }} app */
export function verifyView(app) {
  const person = /** @type {HTMLSelectElement} */ ($('#verify-person'));
  const verifyForm = /** @type {HTMLFormElement} */ ($('#verify-form'));
  const verifyResult = $('#verify-result');
  const compareForm = /** @type {HTMLFormElement} */ ($('#compare-form'));
  const compareResult = $('#compare-result');
  const verifyLargest = /** @type {HTMLInputElement} */ ($('#verify-largest'));
  const compareLargest = /** @type {HTMLInputElement} */ ($('#compare-largest'));
  const photo = photoSlot(/** @type {HTMLInputElement} */ ($('#verify-file')), () => show(verifyResult));
  const photoA = photoSlot(/** @type {HTMLInputElement} */ ($('#compare-file-a')), () => show(compareResult));
  const photoB = photoSlot(/** @type {HTMLInputElement} */ ($('#compare-file-b')), () => show(compareResult));

  async function loadPeople() {
    const chosen = person.value;
    try {
      const page = await api.people({ gallery: app.gallery(), limit: 200 });
      const people = page.people;
      if (people.length === 0) {
        person.replaceChildren(h('option', { value: '', disabled: true, selected: true }, 'No one is enrolled yet'));
        return;
      }
      person.replaceChildren(
        h('option', { value: '', disabled: true, selected: !chosen }, 'Choose a person…'),
        ...people.map((p) => h('option', { value: p.id, selected: p.id === chosen }, `${p.name} (${plural(p.faceCount, 'face')})`)),
      );
    } catch (error) {
      person.replaceChildren(h('option', { value: '' }, 'Could not load people'));
      show(verifyResult, errorMessage(error, 'Could not load people.'));
    }
  }

  verifyForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!person.value) return show(verifyResult, message('error', h('p', {}, 'Choose the person to check against.')));
    const file = photo.file;
    if (!file) return show(verifyResult, message('error', h('p', {}, 'Choose a photo to check.')));
    const name = person.selectedOptions[0]?.textContent?.replace(/ \(\d+ faces?\)$/, '') ?? 'this person';
    const button = /** @type {HTMLButtonElement} */ (verifyForm.querySelector('[type=submit]'));
    show(verifyResult, loading('Comparing faces…'));
    try {
      const r = await withBusy(button, 'Verifying…', () =>
        api.verify(file, {
          gallery: app.gallery(),
          personId: person.value,
          threshold: store.threshold,
          largestFace: verifyLargest.checked,
        }),
      );
      const which = r.facesInPhoto > 1 ? `The largest of the ${r.facesInPhoto} faces in this photo` : 'This photo';
      show(verifyResult, verdict(r, `${which} looks like ${r.person.name}.`, `${which} does not look like ${r.person.name}.`));
    } catch (error) {
      show(verifyResult, errorMessage(error, `Could not verify ${name}.`));
    }
  });

  compareForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const [fileA, fileB] = [photoA.file, photoB.file];
    if (!fileA || !fileB) return show(compareResult, message('error', h('p', {}, 'Choose two photos to compare.')));
    const button = /** @type {HTMLButtonElement} */ (compareForm.querySelector('[type=submit]'));
    show(compareResult, loading('Comparing faces…'));
    try {
      const r = await withBusy(button, 'Comparing…', () =>
        api.compare(fileA, fileB, { threshold: store.threshold, largestFace: compareLargest.checked }),
      );
      const faces =
        r.facesInPhotos[0] > 1 || r.facesInPhotos[1] > 1 ? 'The largest faces of the two photos' : 'The faces of the two photos';
      show(compareResult, verdict(r, `${faces} look like the same person.`, `${faces} look like different people.`));
    } catch (error) {
      const which = /** @type {{ details?: { image?: string } }} */ (error).details?.image;
      show(
        compareResult,
        errorMessage(error, which === 'image A' ? 'The first photo:' : which === 'image B' ? 'The second photo:' : 'Could not compare.'),
      );
    }
  });

  return { show: loadPeople };
}
