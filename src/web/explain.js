/**
 * The numbers in plain words, once for every page: what a distance, a threshold and a confidence are, and why
 * Identify's threshold is not Verify's. Shown behind a "?" beside each number (dom.js help).
 */
import { formatDistance, formatPercent, h, help } from './dom.js';

/** Confidence under which a name is shown as a weak match: the model's even odds (distance about 0.607 by default). */
export const WEAK_CONFIDENCE = 0.5;

export const explainDistance = () =>
  help(
    'What is the distance?',
    h(
      'p',
      {},
      'How different two faces look, from 0 (the same photo) upward. Photos of one person are usually under 0.5 apart; two different people usually over 0.7.',
    ),
  );

export const explainConfidence = () =>
  help(
    'What is the confidence?',
    h(
      'p',
      {},
      'How likely two faces at this distance are the same person, measured on thousands of labelled pairs of photos. ',
      'It depends on the distance only: loosening the threshold can name a face whose confidence is low.',
    ),
  );

/**
 * Identify's threshold and Verify's, side by side, with the numbers in force when they are known.
 * @param {{ identify?: { threshold: number, people: number, automatic: boolean }, verify?: number }} [known]
 */
export function explainThreshold(known = {}) {
  const { identify, verify } = known;
  return help(
    'What is the threshold?',
    h('p', {}, 'The largest distance still counted as the same person. Lower is stricter.'),
    h(
      'p',
      {},
      h('strong', {}, 'Identify'),
      ' compares a face with everyone in the gallery, so a stranger has more chances to look like someone as the gallery grows. ',
      'Its automatic threshold is set for the gallery’s size, so that a stranger is named about 1 time in 100',
      identify?.automatic
        ? ` (now ${formatDistance(identify.threshold)} for ${identify.people === 1 ? '1 person' : `${identify.people} people`})`
        : '',
      '.',
    ),
    h(
      'p',
      {},
      h('strong', {}, 'Verify and Compare'),
      ' check one pair of faces, so they use the model’s fixed threshold',
      verify === undefined ? '' : ` (${formatDistance(verify)})`,
      '.',
    ),
  );
}

/**
 * A sentence on a weak match.
 * @param {number} distance @param {number | null} confidence @param {number} threshold @param {boolean} loosened the threshold was set by hand
 */
export const weakMatchText = (distance, confidence, threshold, loosened) =>
  `Only ${formatPercent(confidence)} likely to be this person (distance ${formatDistance(distance)})` +
  (loosened ? `: named because the threshold ${formatDistance(threshold)} is looser than the automatic one.` : '.');
