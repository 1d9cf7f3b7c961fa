import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { EXPRESSIONS, type FaceAttributes } from '../core/face.js';
import { FacerecError } from '../errors.js';
import type { Analysis, Box } from './face-engine.js';

/** The known photo of the self-test and the answer it must give, in models/ (`npm run models:self-test` writes both). */
export const SELF_TEST_FILES = { photo: 'self-test.jpg', record: 'self-test.json' } as const;

export interface SelfTestRecord {
  source: string;
  sha256: string;
  /** The descriptor space the recorded descriptor belongs to. */
  descriptorModelId: string;
  /**
   * The answer at FP32 with SSD at 512² (face-api's own, which tfjs gives too); the attributes, when recorded, are
   * checked when the self-test asks for them (`facerec info`).
   */
  face: { box: Box; descriptor: number[]; attributes?: FaceAttributes };
  /**
   * The answers of the other engine settings, keyed `precision/ssdInput` ('int8/sized', …): int8 graphs and a smaller
   * SSD input give a box and descriptor of their own, each repeated to rounding by a healthy engine.
   */
  variants?: Record<string, { box: Box; descriptor: number[]; attributes?: FaceAttributes }>;
}

/** The record's answer for an engine setting (`precision/ssdInput`); the FP32 512² one is the reference. */
export function expectedAnswer(
  record: SelfTestRecord,
  setting: string,
): { box: Box; descriptor: number[]; attributes?: FaceAttributes } | undefined {
  return setting === 'fp32/512' ? record.face : record.variants?.[setting];
}

export interface SelfTestResult {
  ms: number;
}

export interface SelfTest {
  photo: Uint8Array;
  record: SelfTestRecord;
}

// A healthy engine repeats the recorded answer of its setting to rounding (another tfjs backend to about 1e-4, int8 on
// another CPU's integer kernels to about 1e-3); a broken one is far off.
const MIN_BOX_IOU = 0.9;
const MAX_DESCRIPTOR_DISTANCE = 0.05;
// The attribute nets on either runtime agree to 1e-4; a corrupt net is years and tens of points off.
const MAX_AGE_DIFFERENCE = 1;
const MAX_PROBABILITY_DIFFERENCE = 0.02;

/** Reads the self-test photo and its record, and checks the photo against the record's sha256. */
export async function loadSelfTest(modelsDir: string): Promise<SelfTest> {
  try {
    const photo = await readFile(path.join(modelsDir, SELF_TEST_FILES.photo));
    const record = JSON.parse(await readFile(path.join(modelsDir, SELF_TEST_FILES.record), 'utf8')) as SelfTestRecord;
    const actual = createHash('sha256').update(photo).digest('hex');
    if (actual !== record.sha256) {
      throw new FacerecError('MODEL_CHECKSUM_MISMATCH', `${SELF_TEST_FILES.photo} does not match its sha256 in ${SELF_TEST_FILES.record}`, {
        expected: record.sha256,
        actual,
      });
    }
    return { photo: new Uint8Array(photo), record };
  } catch (err) {
    if (err instanceof FacerecError) throw err;
    throw new FacerecError('MODEL_LOAD_FAILED', `Cannot read the engine self-test in ${modelsDir}: ${(err as Error).message}`, {
      dir: modelsDir,
    });
  }
}

/**
 * Throws ENGINE_UNHEALTHY, saying what differs, when an analysis of the self-test photo is not the recorded one for the
 * engine's setting (`precision/ssdInput`).
 */
export function checkSelfTest(record: SelfTestRecord, analysis: Analysis, descriptorModelId: string, setting = 'fp32/512'): void {
  const fail = (why: string) => {
    throw new FacerecError('ENGINE_UNHEALTHY', `The engine's self-test failed: ${why}`, { reason: why });
  };
  const expected = expectedAnswer(record, setting);
  if (!expected) return fail(`${SELF_TEST_FILES.record} has no answer for the setting ${setting} (npm run models:self-test)`);
  if (analysis.faces.length !== 1) fail(`found ${analysis.faces.length} faces in the self-test photo instead of 1`);
  const face = analysis.faces[0]!;
  const overlap = iou(face.box, expected.box);
  if (!(overlap >= MIN_BOX_IOU)) fail(`the face's box overlaps the recorded one by ${overlap.toFixed(3)} (IoU), under ${MIN_BOX_IOU}`);
  // Another descriptor model describes the photo in another space: its box is checked, not its numbers.
  if (descriptorModelId !== record.descriptorModelId) return;
  const descriptor = face.descriptor ?? [];
  const distance =
    descriptor.length === expected.descriptor.length ? Math.hypot(...descriptor.map((v, i) => v - expected.descriptor[i]!)) : Infinity;
  if (!(distance <= MAX_DESCRIPTOR_DISTANCE))
    fail(`the descriptor is ${distance.toFixed(4)} from the recorded one, over ${MAX_DESCRIPTOR_DISTANCE}`);
  // The attributes of this setting's own box (the attribute nets are FP32 under every setting, their input is not).
  const want = expected.attributes,
    got = face.attributes;
  if (!want || !got) return;
  if (want.age !== undefined && !(Math.abs((got.age ?? NaN) - want.age) <= MAX_AGE_DIFFERENCE))
    fail(`the age is ${got.age} instead of the recorded ${want.age}`);
  const male = (g: FaceAttributes['gender']) => (g ? (g.label === 'male' ? g.probability : 1 - g.probability) : NaN);
  if (want.gender && !(Math.abs(male(got.gender) - male(want.gender)) <= MAX_PROBABILITY_DIFFERENCE))
    fail(`the gender is ${JSON.stringify(got.gender)} instead of the recorded ${JSON.stringify(want.gender)}`);
  if (want.expression) {
    const off = Math.max(
      ...EXPRESSIONS.map((e) => Math.abs((got.expression?.probabilities[e] ?? NaN) - want.expression!.probabilities[e])),
    );
    if (!(off <= MAX_PROBABILITY_DIFFERENCE)) fail(`the expression probabilities are up to ${off} from the recorded ones`);
  }
}

function iou(a: Box, b: Box): number {
  const ix = Math.max(0, Math.min(a[0] + a[2], b[0] + b[2]) - Math.max(a[0], b[0]));
  const iy = Math.max(0, Math.min(a[1] + a[3], b[1] + b[3]) - Math.max(a[1], b[1]));
  const inter = ix * iy;
  return inter / (a[2] * a[3] + b[2] * b[3] - inter);
}
