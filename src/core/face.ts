/** What a found face is, shared by the engine that finds it, the store that keeps it and the adapters that show it. */

/** [x, y, width, height] in the photo's pixels. */
export type Box = [x: number, y: number, width: number, height: number];

/** [x, y] in the photo's pixels. */
export type Point = [x: number, y: number];

/** Per face: its size (shorter box side, px), detector score, sharpness of the aligned chip, and head pose (degrees). */
export interface FaceQuality {
  size: number;
  score: number;
  sharpness: number;
  yaw: number;
  roll: number;
  /** How wide a face the landmarks outline, over the box's width (engine/face-check.ts); absent on faces enrolled before it. */
  landmarkSpan?: number;
}

/** The attributes a request may ask for per face (`attributes=age,gender,expression`, or `all`). */
export const ATTRIBUTE_NAMES = ['age', 'gender', 'expression'] as const;
export type AttributeName = (typeof ATTRIBUTE_NAMES)[number];

/** face-api's seven expressions, in its faceExpressionNet's output order. */
export const EXPRESSIONS = ['neutral', 'happy', 'sad', 'angry', 'fearful', 'disgusted', 'surprised'] as const;
export type Expression = (typeof EXPRESSIONS)[number];

export const GENDERS = ['female', 'male'] as const;
export type Gender = (typeof GENDERS)[number];

/**
 * What face-api's attribute nets estimate from a face, each present only when it was asked for. Estimates, not facts:
 * docs/accuracy.md says how far each was measured (age: uncalibrated, not measured here).
 */
export interface FaceAttributes {
  /** Apparent age in years (ageGenderNet's regression), one decimal. */
  age?: number;
  /** The more likely label and its probability (0.5..1). */
  gender?: { label: Gender; probability: number };
  /** The most likely expression, its probability, and all seven (summing to 1). */
  expression?: { label: Expression; probability: number; probabilities: Record<Expression, number> };
}

const percent = (p: number): string => `${Math.round(p * 100)}%`;

/** A face's attributes in a few words, as the CLI prints them and annotated images show them: "~31 y · female 93% · happy 99%". */
export function attributesText(attributes: FaceAttributes): string {
  const parts: string[] = [];
  if (attributes.age !== undefined) parts.push(`~${Math.round(attributes.age)} y`);
  if (attributes.gender) parts.push(`${attributes.gender.label} ${percent(attributes.gender.probability)}`);
  if (attributes.expression) parts.push(`${attributes.expression.label} ${percent(attributes.expression.probability)}`);
  return parts.join(' · ');
}
