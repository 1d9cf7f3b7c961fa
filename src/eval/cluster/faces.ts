/** The faces the clustering evaluation clusters: the subject face of each image of a `facerec embed` output. */
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { FacerecError } from '../../errors.js';

/** One line of `facerec embed` output. */
interface EmbedLine {
  f: string;
  w: number;
  h: number;
  model?: string;
  faces: Array<{ box: [number, number, number, number]; score: number; descriptor: number[] }>;
  error?: { code: string; message: string };
}

/** The subject face of one image, with its identity (the image's folder name). */
export interface LabelledFace {
  file: string;
  identity: string;
  descriptor: number[];
  box: [number, number, number, number];
  score: number;
  /** Other faces found in the same image (not clustered; the product would keep them as sightings too). */
  others: number;
}

export interface LabelledFaces {
  model: string;
  faces: LabelledFace[];
  /** Images with no face found, or unreadable. */
  withoutFace: string[];
}

/** The face whose box centre is nearest the image centre (LFW's subject rule). */
function subject(line: EmbedLine): EmbedLine['faces'][number] | undefined {
  let best: EmbedLine['faces'][number] | undefined;
  let bestDistance = Infinity;
  for (const face of line.faces) {
    const [x, y, w, h] = face.box;
    const d = Math.hypot(x + w / 2 - line.w / 2, y + h / 2 - line.h / 2);
    if (d < bestDistance) [best, bestDistance] = [face, d];
  }
  return best;
}

/** The identity of `file`: the name of the folder that holds it (LFW's Name/Name_NNNN.jpg). */
export const identityOf = (file: string): string => path.posix.basename(path.posix.dirname(file.split(path.sep).join('/')));

/** Reads an embed JSONL; every image must come from one descriptor model. */
export async function loadLabelledFaces(file: string): Promise<LabelledFaces> {
  const faces: LabelledFace[] = [];
  const withoutFace: string[] = [];
  let model: string | undefined;
  let lineNo = 0;
  for await (const text of createInterface({ input: createReadStream(file) })) {
    lineNo++;
    if (!text.trim()) continue;
    let line: EmbedLine;
    try {
      line = JSON.parse(text) as EmbedLine;
    } catch {
      throw new FacerecError('INVALID_ARGUMENT', `${file}:${lineNo} is not JSON (expected \`facerec embed\` output)`);
    }
    if (typeof line.f !== 'string' || !Array.isArray(line.faces))
      throw new FacerecError('INVALID_ARGUMENT', `${file}:${lineNo} is not a \`facerec embed\` line (needs "f" and "faces")`);
    const face = subject(line);
    if (!face) {
      withoutFace.push(line.f);
      continue;
    }
    if (line.model) {
      if (model && model !== line.model)
        throw new FacerecError('INVALID_ARGUMENT', `${file} mixes descriptor models (${model}, ${line.model}): they cannot be compared`);
      model = line.model;
    }
    faces.push({
      file: line.f,
      identity: identityOf(line.f),
      descriptor: face.descriptor,
      box: face.box,
      score: face.score,
      others: line.faces.length - 1,
    });
  }
  if (faces.length === 0) throw new FacerecError('INVALID_ARGUMENT', `${file} holds no face to cluster`);
  if (!model) throw new FacerecError('INVALID_ARGUMENT', `${file} does not name its descriptor model ("model" in each line)`);
  return { model, faces, withoutFace };
}
