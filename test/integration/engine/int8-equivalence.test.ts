/**
 * The default engine (int8 graphs, SSD's input sized to the photo) against face-api's own numbers (FP32, 512²) on real
 * photos, within the bounds measured when int8 and the sized input were chosen (docs/models.md, int8; measured on these
 * photos: box IoU ≥ 0.83, scores within 0.065, the ResNet alone within 0.046 on the same landmarks, median 0.023).
 */
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { FaceEngine, type Face } from '../../../src/engine/face-engine.js';
import { decodeImage } from '../../../src/image/decode.js';
import { annotatedPhotos, scorePhoto } from '../../../src/eval/detection.js';
import { DEFAULT_BOXES_FILE } from '../../../src/eval/setup.js';
import { dataset, DATASETS_DIR, describeWithDatasets, FACE_API_DEMO, HAS_DATASETS } from '../../helpers/datasets.js';

let fp32: FaceEngine;
let int8: FaceEngine;
let sized: FaceEngine;

beforeAll(async () => {
  [fp32, int8, sized] = await Promise.all([
    FaceEngine.create({ runtime: 'onnx', precision: 'fp32', ssdInput: '512' }),
    FaceEngine.create({ runtime: 'onnx', precision: 'int8', ssdInput: '512' }),
    FaceEngine.create({ runtime: 'onnx', precision: 'int8', ssdInput: 'sized' }),
  ]);
});

function iou([ax, ay, aw, ah]: Face['box'], [bx, by, bw, bh]: Face['box']): number {
  const ix = Math.max(0, Math.min(ax + aw, bx + bw) - Math.max(ax, bx));
  const iy = Math.max(0, Math.min(ay + ah, by + bh) - Math.max(ay, by));
  return (ix * iy) / (aw * ah + bw * bh - ix * iy);
}
const distance = (a: number[], b: number[]) => Math.hypot(...a.map((v, k) => v - b[k]!));
const median = (v: number[]) => [...v].sort((p, q) => p - q)[v.length >> 1]!;

/** For each face of `a`, the face of `b` with the best overlap (and that overlap). */
function matched(a: Face[], b: Face[]): [Face, Face, number][] {
  return a.map((fa) => {
    const [best, overlap] = b.map((fb) => [fb, iou(fa.box, fb.box)] as const).sort((p, q) => q[1] - p[1])[0] ?? [fa, 0];
    return [fa, best, overlap];
  });
}

// The first photo of every 80th person of LFW View 1, as in onnx-equivalence.test.ts, and face-api's demo samples.
const lfw = HAS_DATASETS
  ? readdirSync(dataset('lfw-view1', 'images'))
      .sort()
      .filter((_, i) => i % 80 === 0)
      .map((person) => {
        const dir = dataset('lfw-view1', 'images', person);
        return path.join(dir, readdirSync(dir).sort()[0]!);
      })
  : [];
const demo = [1, 2, 3, 4, 5, 6].map((n) => path.join(FACE_API_DEMO, `sample${n}.jpg`));

describeWithDatasets('int8 graphs against FP32, SSD at 512²', () => {
  it(
    `find the same faces, with close boxes, scores and descriptors, on ${demo.length + lfw.length} photos`,
    { timeout: 300_000 },
    async () => {
      const descriptors: number[] = [];
      for (const file of [...demo, ...lfw]) {
        const bytes = await readFile(file);
        const [a, b] = [await fp32.analyzeBytes(bytes), await int8.analyzeBytes(bytes)];
        expect(b.faces.length, file).toBe(a.faces.length);
        for (const [fa, fb, overlap] of matched(a.faces, b.faces)) {
          expect(overlap, file).toBeGreaterThanOrEqual(0.8);
          expect(Math.abs(fa.score - fb.score), file).toBeLessThanOrEqual(0.1);
          descriptors.push(distance(fa.descriptor!, fb.descriptor!));
        }
      }
      // Whole pipeline (SSD, then landmarks on its box, then the ResNet): measured median 0.04, max 0.17 (a box moved).
      expect(median(descriptors)).toBeLessThanOrEqual(0.06);
      expect(Math.max(...descriptors)).toBeLessThanOrEqual(0.25);
    },
  );

  it('describe the same aligned faces within 0.06 of FP32 (the ResNet alone)', { timeout: 300_000 }, async () => {
    const distances: number[] = [];
    for (const file of [...demo, ...lfw.slice(0, 20)]) {
      const image = await decodeImage(await readFile(file));
      const landmarks = (await fp32.analyze(image, { descriptors: false })).faces.map((f) => f.landmarks);
      const [a, b] = [await fp32.describe(image, landmarks, 'dlib', true), await int8.describe(image, landmarks, 'dlib', true)];
      a.forEach((d, i) => distances.push(distance(d, b[i]!)));
    }
    expect(distances.length).toBeGreaterThanOrEqual(40);
    expect(median(distances)).toBeLessThanOrEqual(0.035);
    expect(Math.max(...distances)).toBeLessThanOrEqual(0.06);
  });
});

describeWithDatasets("SSD's input sized to the photo", () => {
  const sameFaces = async (bytes: Uint8Array, label: string) => {
    const [a, b] = [await int8.analyzeBytes(bytes, { descriptors: false }), await sized.analyzeBytes(bytes, { descriptors: false })];
    expect(b.faces.length, label).toBe(a.faces.length);
    for (const [, , overlap] of matched(a.faces, b.faces)) expect(overlap, label).toBeGreaterThanOrEqual(0.5);
    return a.faces.length;
  };
  /** Every face 512² finds, the sized input finds too (it may find more: the annotations then say whether they are faces). */
  const coversFaces = async (bytes: Uint8Array, label: string) => {
    const [a, b] = [await int8.analyzeBytes(bytes, { descriptors: false }), await sized.analyzeBytes(bytes, { descriptors: false })];
    for (const [, , overlap] of matched(a.faces, b.faces)) expect(overlap, label).toBeGreaterThanOrEqual(0.5);
  };

  it('finds the same faces as at 512² in small photos (92–426 px: ORL, BBT crops, face_recognition)', { timeout: 120_000 }, async () => {
    const files = [
      ...[1, 9, 17, 25, 33].map((s) => dataset('orl-att-faces', `s${s}`, '1.png')),
      ...['amy', 'howard', 'raj', 'sheldon'].map((p) => dataset('bbt', 'identities', p, `${p}1.png`)),
      ...['misc/obama_small.jpg', 'misc/obama-240p.jpg', 'misc/alex-lacamoire.png'].map((f) => dataset('face-recognition-examples', f)),
    ];
    let faces = 0;
    for (const file of files) faces += await sameFaces(await readFile(file), file);
    expect(faces).toBe(files.length);
  });

  it(
    "finds every face of dlib's PASCAL photos that 512² finds, shrunk to 320 and 400 px (SSD at 320² and 448²)",
    { timeout: 300_000 },
    async () => {
      const photos = (await annotatedPhotos({ datasets: DATASETS_DIR, boxesFile: DEFAULT_BOXES_FILE, demoDir: FACE_API_DEMO })).filter(
        (p) => p.set === 'dlib-faces',
      );
      for (const side of [320, 400]) {
        let found = 0,
          falseFaces = 0,
          annotated = 0;
        for (const photo of photos) {
          const original = await photo.bytes();
          const { width = 0, height = 0 } = await sharp(original).metadata();
          const bytes = await sharp(original).resize(side, side, { fit: 'inside' }).jpeg({ quality: 95 }).toBuffer();
          const scale = side / Math.max(width, height);
          const shrink = (boxes: Face['box'][]) => boxes.map((b) => b.map((v) => v * scale) as Face['box']);
          const boxes = (await sized.analyzeBytes(bytes, { descriptors: false })).faces.map((f) => f.box);
          const score = scorePhoto(shrink(photo.faces), shrink(photo.ignore), boxes);
          found += score.found;
          falseFaces += score.falseFaces;
          annotated += photo.faces.length;
          await coversFaces(bytes, `${photo.name} at ${side} px`);
        }
        // All 43 faces (37–109 px in the originals) at both sizes, and nothing else (at 320 px, 2007_007763's seventh face,
        // 24 px there, is found by the sized input and missed at 512²).
        expect(found, `${side} px`).toBe(annotated);
        expect(falseFaces, `${side} px`).toBe(0);
      }
    },
  );

  it('runs SSD at 512² on large photos, so their answer is the same', { timeout: 120_000 }, async () => {
    for (const file of demo) {
      const bytes = await readFile(file);
      const [a, b] = [await int8.analyzeBytes(bytes, { descriptors: false }), await sized.analyzeBytes(bytes, { descriptors: false })];
      expect(b.faces.map((f) => f.box)).toEqual(a.faces.map((f) => f.box));
    }
  });

  it(
    `finds the subject of every LFW photo as 512² does, and as many faces in all (${lfw.length} photos)`,
    { timeout: 300_000 },
    async () => {
      let at512 = 0,
        atSized = 0;
      for (const file of lfw) {
        const bytes = await readFile(file);
        const [a, b] = [await int8.analyzeBytes(bytes, { descriptors: false }), await sized.analyzeBytes(bytes, { descriptors: false })];
        const centre = (faces: Face[]) =>
          faces.sort(
            (p, q) =>
              Math.hypot(p.box[0] + p.box[2] / 2 - 125, p.box[1] + p.box[3] / 2 - 125) -
              Math.hypot(q.box[0] + q.box[2] / 2 - 125, q.box[1] + q.box[3] / 2 - 125),
          )[0]!;
        expect(iou(centre(a.faces).box, centre(b.faces).box), file).toBeGreaterThanOrEqual(0.5);
        at512 += a.faces.length;
        atSized += b.faces.length;
      }
      // The sized input finds more of the small faces at the edges of LFW's crops (measured: 3 more and 1 fewer here).
      expect(atSized).toBeGreaterThanOrEqual(at512);
    },
  );
});

describe('the engine reports its precision and input', () => {
  it('in its info, with the int8 graphs in the model ids', () => {
    expect(sized.info()).toMatchObject({ runtime: 'onnx', precision: 'int8', ssdInput: 'sized' });
    expect(sized.info().models.ssdMobilenetv1).toMatch(/\+onnx-int8\.[0-9a-f]{12}$/);
    expect(sized.info().models.faceRecognitionNet).toMatch(/\+onnx-int8\.[0-9a-f]{12}$/);
    expect(sized.info().models.faceLandmark68Net).toMatch(/\+onnx\.[0-9a-f]{12}$/);
    expect(fp32.info()).toMatchObject({ precision: 'fp32', ssdInput: '512' });
    expect(fp32.info().models.ssdMobilenetv1).toMatch(/\+onnx\.[0-9a-f]{12}$/);
    // Same descriptor space: galleries need no re-embedding across the switch (docs/models.md, int8).
    expect(sized.info().descriptorModelId).toBe(fp32.info().descriptorModelId);
  });
});
