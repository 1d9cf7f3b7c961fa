import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSubjectFaces } from '../../../src/eval/descriptor-file.js';
import { codeOf } from '../../helpers/errors.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'facerec-descriptor-file-'));
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

const quality = { size: 90, score: 0.99, sharpness: 120, yaw: 3, roll: 1 };

describe('saved descriptors', () => {
  it('reads `facerec embed` lines: the subject is the face nearest the centre, with its quality', async () => {
    const file = path.join(tmp, 'embed.jsonl');
    const lines = [
      // A bystander in the corner, the subject in the middle.
      {
        f: 'A/A_0001.jpg',
        w: 250,
        h: 250,
        model: 'm1',
        faces: [
          { box: [0, 0, 40, 40], score: 0.9, quality, descriptor: [9, 9] },
          { box: [80, 80, 90, 90], score: 0.99, quality, descriptor: [1, 2] },
        ],
      },
      { f: 'B/B_0001.jpg', w: 250, h: 250, model: 'm1', faces: [] },
      { f: 'C/C_0001.jpg', w: 250, h: 250, model: 'm1', faces: [{ box: [80, 80, 90, 90], score: 0.99, descriptor: [3, 4] }] },
    ];
    await writeFile(file, `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
    const { subjects, model } = await loadSubjectFaces(file);
    expect(model).toBe('m1');
    expect(subjects.get('A/A_0001.jpg')).toEqual({ descriptor: [1, 2], quality });
    expect(subjects.get('B/B_0001.jpg')).toEqual({ descriptor: null, quality: null });
    expect(subjects.get('C/C_0001.jpg')).toEqual({ descriptor: [3, 4], quality: null }); // written before embed had quality
  });

  it('reads `eval … --save` lines: the shipped pipeline’s descriptor', async () => {
    const file = path.join(tmp, 'eval.jsonl');
    const subject = {
      width: 250,
      height: 250,
      faces: 1,
      model: 'm2',
      engine: { dlib: [0, 0], dlibMirror: [5, 6] },
      subject: null,
      plain: null,
    };
    await writeFile(
      file,
      `${JSON.stringify({ f: 'A/A_0001.jpg', ...subject })}\n${JSON.stringify({ f: 'B/B_0001.jpg', ...subject, faces: 0, engine: null })}\n`,
    );
    const { subjects, model } = await loadSubjectFaces(file);
    expect(model).toBe('m2');
    expect(subjects.get('A/A_0001.jpg')).toEqual({ descriptor: [5, 6], quality: null });
    expect(subjects.get('B/B_0001.jpg')!.descriptor).toBeNull();
  });

  it('names the line it cannot read', async () => {
    const file = path.join(tmp, 'bad.jsonl');
    await writeFile(file, `${JSON.stringify({ f: 'A/A_0001.jpg', w: 1, h: 1, faces: [] })}\nnot json\n`);
    const err = await loadSubjectFaces(file).catch((e: unknown) => e);
    expect(
      codeOf(() => {
        throw err;
      }),
    ).toBe('INVALID_ARGUMENT');
    expect((err as Error).message).toMatch(/bad\.jsonl:2/);
  });
});
