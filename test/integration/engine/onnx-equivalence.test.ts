/**
 * ONNX Runtime against tfjs (face-api's own code, the reference) on real photos: the same faces, boxes, scores,
 * landmarks and descriptors, so that descriptors stored under either runtime stay valid under the other.
 */
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { FaceEngine, type AnalyzeOptions, type Face } from '../../../src/engine/face-engine.js';
import { dataset, describeWithDatasets, FACE_API_DEMO, HAS_DATASETS } from '../../helpers/datasets.js';

let onnx: FaceEngine;
let tfjs: FaceEngine;

beforeAll(async () => {
  // face-api's own numbers: the FP32 graphs with SSD at 512² (int8 and the sized input have their own tests).
  [onnx, tfjs] = await Promise.all([
    FaceEngine.create({ runtime: 'onnx', precision: 'fp32', ssdInput: '512' }),
    FaceEngine.create({ runtime: 'tfjs', backend: 'wasm' }),
  ]);
});

function iou([ax, ay, aw, ah]: Face['box'], [bx, by, bw, bh]: Face['box']): number {
  const ix = Math.max(0, Math.min(ax + aw, bx + bw) - Math.max(ax, bx));
  const iy = Math.max(0, Math.min(ay + ah, by + bh) - Math.max(ay, by));
  return (ix * iy) / (aw * ah + bw * bh - ix * iy);
}

/** The bounds: box IoU ≥ 0.99, scores within 1e-3, landmarks within 0.5 px, descriptors within 1e-3 (L2). */
async function expectSameAnswer(bytes: Uint8Array, options: AnalyzeOptions = {}) {
  const [a, b] = [await onnx.analyzeBytes(bytes, options), await tfjs.analyzeBytes(bytes, options)];
  expect(a.faces.length).toBe(b.faces.length);
  a.faces.forEach((fa, i) => {
    const fb = b.faces[i]!;
    expect(iou(fa.box, fb.box)).toBeGreaterThanOrEqual(0.99);
    expect(Math.abs(fa.score - fb.score)).toBeLessThanOrEqual(1e-3);
    const worst = Math.max(...fa.landmarks.map(([x, y], k) => Math.hypot(x - fb.landmarks[k]![0], y - fb.landmarks[k]![1])));
    expect(worst).toBeLessThanOrEqual(0.5);
    if (fa.descriptor) expect(Math.hypot(...fa.descriptor.map((v, k) => v - fb.descriptor![k]!))).toBeLessThanOrEqual(1e-3);
  });
  return a.faces.length;
}

describe('ONNX Runtime and tfjs give the same answer', () => {
  for (const n of [1, 2, 3, 4, 5, 6]) {
    it(`on face-api's sample${n}.jpg`, async () => {
      expect(await expectSameAnswer(await readFile(path.join(FACE_API_DEMO, `sample${n}.jpg`)))).toBeGreaterThan(0);
    });
  }

  it('with the tiny detector, face-api’s box alignment, and no mirror', async () => {
    const bytes = await readFile(path.join(FACE_API_DEMO, 'sample3.jpg'));
    await expectSameAnswer(bytes, { detector: 'tiny' });
    await expectSameAnswer(bytes, { align: 'box', mirror: false });
  });

  it('on a photo over 2048 px (tiles) and a frame-filling face (the padded retry)', async () => {
    const photo = path.join(FACE_API_DEMO, 'sample2.jpg');
    expect(await expectSameAnswer(await sharp(photo).resize(3000).jpeg().toBuffer())).toBeGreaterThan(0);
    const { width = 0, height = 0 } = await sharp(photo).metadata();
    const close = await sharp(photo)
      .extract({ left: Math.round(width * 0.35), top: 0, width: Math.round(width * 0.3), height: Math.round(height * 0.6) })
      .jpeg()
      .toBuffer();
    await expectSameAnswer(close);
  });
});

describeWithDatasets('ONNX Runtime and tfjs on LFW View 1', () => {
  // The first photo of every 80th person of LFW View 1: 40-odd photos of different people, lighting and pose.
  const files = HAS_DATASETS
    ? readdirSync(dataset('lfw-view1', 'images'))
        .sort()
        .filter((_, i) => i % 80 === 0)
        .map((person) => {
          const dir = dataset('lfw-view1', 'images', person);
          return path.join(dir, readdirSync(dir).sort()[0]!);
        })
    : [];
  it(`gives the same faces and descriptors on ${files.length} images`, { timeout: 300_000 }, async () => {
    let faces = 0;
    for (const file of files) faces += await expectSameAnswer(await readFile(file));
    expect(faces).toBeGreaterThanOrEqual(files.length);
  });
});
