/**
 * Reads saved descriptors of LFW-style images, in either format the project writes: `facerec embed` (one line per
 * image with every face found) or `facerec eval lfw|identify --save` (one line per image with its subject under
 * each pipeline). Either way each image gives its subject: the face nearest the centre, as the LFW protocol says.
 */
import { readFile } from 'node:fs/promises';
import { FacerecError } from '../errors.js';
import type { SeenQuality } from '../match/learn.js';
import { shippedDescriptor } from './lfw-runner.js';
import type { SubjectDescriptors } from './variants.js';

export interface SubjectFace {
  descriptor: number[] | null;
  /** The engine's quality measures, when the file has them (`facerec embed` writes them). */
  quality: SeenQuality | null;
}

interface EmbedLine {
  f: string;
  w: number;
  h: number;
  model?: string;
  faces: Array<{ box: [number, number, number, number]; score: number; descriptor: number[]; quality?: SeenQuality }>;
  error?: unknown;
}

/** The face nearest the image centre of an embed line, or null. */
function subjectOf(line: EmbedLine): SubjectFace {
  let best: EmbedLine['faces'][number] | undefined;
  let bestDistance = Infinity;
  for (const face of line.faces) {
    const [x, y, w, h] = face.box;
    const d = Math.hypot(x + w / 2 - line.w / 2, y + h / 2 - line.h / 2);
    if (d < bestDistance) [best, bestDistance] = [face, d];
  }
  return { descriptor: best?.descriptor ?? null, quality: best?.quality ?? null };
}

/**
 * Each image's subject (keyed by its path as written, `Name/Name_NNNN.jpg` for LFW) and the descriptor model that
 * made them (null when the file does not say).
 */
export async function loadSubjectFaces(file: string): Promise<{ subjects: Map<string, SubjectFace>; model: string | null }> {
  const subjects = new Map<string, SubjectFace>();
  let model: string | null = null;
  const lines = (await readFile(file, 'utf8')).split('\n');
  lines.forEach((text, i) => {
    if (!text.trim()) return;
    let line: (Partial<EmbedLine> & Partial<SubjectDescriptors> & { f?: string }) | undefined;
    try {
      line = JSON.parse(text) as typeof line;
    } catch {
      line = undefined;
    }
    if (!line || typeof line.f !== 'string')
      throw new FacerecError('INVALID_ARGUMENT', `${file}:${i + 1} is not a line of \`facerec embed\` or of \`eval … --save\``, {
        file,
        line: i + 1,
      });
    if (Array.isArray(line.faces)) {
      subjects.set(line.f, subjectOf(line as EmbedLine));
      model ??= line.model ?? null;
    } else {
      subjects.set(line.f, { descriptor: shippedDescriptor(line as SubjectDescriptors), quality: null });
      model ??= line.model ?? null;
    }
  });
  return { subjects, model };
}
