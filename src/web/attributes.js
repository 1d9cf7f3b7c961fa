/**
 * A face's estimated attributes (age, gender, expression) as the result views show them: one short line, with the
 * probabilities, and a tooltip saying they are estimates. The views ask for them with `attributes=all`.
 */
/** @import { FaceAttributes } from './api.js' */
import { h } from './dom.js';

/** @param {number} p */
const percent = (p) => `${Math.round(p * 100)}%`;

/**
 * "~31 y · female 93% · happy 99%", or '' when the face has none.
 * @param {FaceAttributes | undefined} attributes
 */
export function attributesText(attributes) {
  if (!attributes) return '';
  const parts = [];
  if (attributes.age !== undefined) parts.push(`~${Math.round(attributes.age)} y`);
  if (attributes.gender) parts.push(`${attributes.gender.label} ${percent(attributes.gender.probability)}`);
  if (attributes.expression) parts.push(`${attributes.expression.label} ${percent(attributes.expression.probability)}`);
  return parts.join(' · ');
}

/**
 * The line a result view shows under a face, or null when the face has no attributes.
 * @param {FaceAttributes | undefined} attributes
 */
export function attributesLine(attributes) {
  const text = attributesText(attributes);
  if (!text) return null;
  return h(
    'p',
    {
      className: 'face-attributes small muted',
      title: 'Estimated from the face alone: apparent age (not measured), gender and expression with their probabilities',
    },
    text,
  );
}
