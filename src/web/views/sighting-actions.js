/**
 * What a user can say about a face that Identify kept (a sighting, when the gallery keeps faces): confirm a match
 * (POST /v1/sightings/{id}/confirm: the face may become one more of the person's templates), or correct it (PATCH
 * /v1/sightings/{id}: another person of the gallery, or nobody enrolled), kept as the user's word. Shown in each face
 * of Identify's list.
 */
/** @import { IdentifiedFace } from '../api.js' */
import { api } from '../api.js';
import { errorMessage, h, message, show, withBusy } from '../dom.js';
import { personPicker } from '../people-picker.js';

/** Why a confirmed face did not become one of the person's faces (template.reason), in words. @type {Record<string, string>} */
const NOT_ADDED = {
  already: 'this face is one of theirs already',
  'near-duplicate': 'they have a face very like it',
  cap: 'they have as many faces as the gallery keeps, each adding more than this one',
  quality: 'the face is too small, blurred or turned to learn from',
  guard: 'it is too far from their other faces to add without a second look',
  'same-photo': 'they have a face from this photo already',
};

/**
 * The controls for one identified face, or null when the face was not kept.
 * @param {IdentifiedFace} face @param {string} gallery the id of the gallery it was identified in
 */
export function sightingActions(face, gallery) {
  const kept = face.sightingId;
  if (!kept) return null;
  const sightingId = kept;
  const matched = face.outcome === 'match' && face.person ? face.person : null;
  const region = h('div', { className: 'sighting-actions', 'aria-live': 'polite' });

  function buttons() {
    const row = h('div', { className: 'row' });
    if (matched) {
      const confirm = h(
        'button',
        { type: 'button', className: 'button small', 'aria-label': `Confirm: this is ${matched.name}` },
        '✓ Confirm',
      );
      confirm.addEventListener('click', () => void confirmMatch(confirm));
      const wrong = h('button', { type: 'button', className: 'button ghost small' }, `Not ${matched.name}?`);
      wrong.addEventListener('click', () => correct());
      row.append(confirm, wrong);
    } else {
      const who = h('button', { type: 'button', className: 'button small' }, 'Who is this?');
      who.addEventListener('click', () => correct());
      row.append(who);
    }
    show(
      region,
      matched
        ? null
        : h('p', { className: 'muted small' }, 'Kept with the gallery’s ', h('a', { href: '#/unknown' }, 'unknown faces'), '.'),
      row,
    );
  }

  /** @param {HTMLButtonElement} button */
  async function confirmMatch(button) {
    if (!matched) return;
    try {
      const { template } = await withBusy(button, 'Confirming…', () => api.confirmSighting(sightingId));
      show(
        region,
        message(
          'success',
          h('p', {}, h('strong', {}, `Confirmed: ${matched.name}`)),
          h(
            'p',
            { className: 'small' },
            template.added
              ? `This face is now one of ${matched.name}’s faces, so they are recognised a little better.`
              : `Kept as your word. No face added to ${matched.name}: ${NOT_ADDED[template.reason] ?? template.reason}.`,
          ),
        ),
      );
    } catch (error) {
      buttons();
      region.append(errorMessage(error, 'Could not confirm.'));
    }
  }

  /** Picks who the face is instead: another person, or (for a match) nobody enrolled. */
  function correct() {
    const picker = personPicker({
      gallery,
      label: matched ? `Who is it, if not ${matched.name}?` : 'Who is this?',
      exclude: matched?.id,
      unknown: matched ? 'Unknown: nobody enrolled' : undefined,
      prefer: face.candidates.map((c) => c.person.id),
    });
    const save = h('button', { type: 'submit', className: 'button primary small' }, 'Save');
    const cancel = h('button', { type: 'button', className: 'button ghost small' }, 'Cancel');
    const status = h('div', { hidden: true });
    const form = h('form', { className: 'stack correct-form' }, picker.element, status, h('div', { className: 'row' }, save, cancel));
    cancel.addEventListener('click', () => buttons());
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const picked = picker.picked();
      status.hidden = false;
      if (!picked) return show(status, message('error', h('p', {}, 'Pick who this is.')));
      try {
        await withBusy(save, 'Saving…', () => api.correctSighting(sightingId, picked.personId));
        show(
          region,
          message(
            'success',
            h('p', {}, h('strong', {}, picked.personId ? `Corrected: this is ${picked.name}` : 'Corrected: nobody enrolled here')),
            h(
              'p',
              { className: 'small' },
              picked.personId
                ? `Kept as your word, never overturned by facerec. ${picked.name}’s enrolled faces are unchanged.`
                : 'Kept as your word. The face joins the ',
              picked.personId ? '' : h('a', { href: '#/unknown' }, 'unknown faces'),
              picked.personId ? '' : ', where it can be named.',
            ),
          ),
        );
      } catch (error) {
        show(status, errorMessage(error, 'Could not save the correction.'));
      }
    });
    show(region, form);
    picker.ready.then(
      () => picker.select.focus(),
      () => {},
    );
  }

  buttons();
  return region;
}
