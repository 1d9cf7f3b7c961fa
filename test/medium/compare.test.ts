/** The use cases without a database: compare two photos, detect faces, draw the results. */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { compare } from '../../src/service/compare.service.js';
import { detect } from '../../src/service/detect.service.js';
import { drawDetections, drawIdentification } from '../../src/service/draw.service.js';
import type { IdentifyResult } from '../../src/service/identify.service.js';
import { rejection } from '../helpers/errors.js';
import { fakeAnalyzer, faceless, groupPhoto, notAnImage, portrait, FAKE_DESCRIPTOR_MODEL_ID } from '../helpers/fake-analyzer.js';
import { verifyThresholdOf } from '../helpers/models.js';
import { BASE_CONFIG, codeOf, withConfig } from './harness.js';

const analyzer = fakeAnalyzer();
const ctx = { analyzer, config: BASE_CONFIG };

describe('compare', () => {
  it('matches two photos of one person (~0.3) and not of two people (~1.0)', async () => {
    const same = await compare(ctx, await portrait('alice'), await portrait('alice'));
    expect(same).toMatchObject({
      match: true,
      threshold: verifyThresholdOf(ctx),
      model: FAKE_DESCRIPTOR_MODEL_ID,
      facesInPhotos: [1, 1],
      boxes: [
        [10, 10, 120, 144],
        [10, 10, 120, 144],
      ],
    });
    expect(same.distance).toBeGreaterThan(0.2);
    expect(same.distance).toBeLessThan(0.4);
    expect(same.confidence).toBeGreaterThan(0.9);
    const different = await compare(ctx, await portrait('alice'), await portrait('bob'));
    expect(different.match).toBe(false);
    expect(different.distance).toBeGreaterThan(0.8);
    expect(different.confidence).toBeLessThan(0.01);
  });

  it('takes the threshold per call, else from the configuration', async () => {
    const a = await portrait('carol', { drift: 0 }),
      b = await portrait('carol', { drift: 0.5 });
    expect(await compare(ctx, a, b)).toMatchObject({ match: true, distance: 0.5 });
    expect(await compare(ctx, a, b, { threshold: 0.45 })).toMatchObject({ match: false, threshold: 0.45 });
    expect(
      await compare({ ...ctx, config: withConfig({ db: undefined as never, ...ctx }, { threshold: 0.4 }).config }, a, b),
    ).toMatchObject({ match: false, threshold: 0.4 });
  });

  it('names the photo without a face, or with several, and takes the largest on request', async () => {
    const one = await portrait('dan');
    const none = await rejection(compare(ctx, one, await faceless(), { names: ['left.jpg', 'right.jpg'] }));
    expect(none).toMatchObject({ code: 'NO_FACE', details: { image: 'right.jpg' } });
    expect(none.message).toContain('right.jpg');
    expect((await rejection(compare(ctx, await faceless(), one))).details).toEqual({ image: 'image A' });

    const group = await groupPhoto([
      { identity: 'dan', size: 150 },
      { identity: 'eve', size: 80 },
    ]);
    const several = await rejection(compare(ctx, group, one));
    expect(several).toMatchObject({ code: 'MULTIPLE_FACES', details: { image: 'image A', facesInPhoto: 2 } });
    const largest = await compare(ctx, group, one, { largestFace: true });
    expect(largest).toMatchObject({ match: true, facesInPhotos: [2, 1] });
    expect(largest.boxes[0][2]).toBe(150);
    expect(await codeOf(compare(ctx, one, notAnImage()))).toBe('UNSUPPORTED_IMAGE');
  });
});

describe('detect', () => {
  it('finds every face with box, score and quality, without descriptors, and landmarks on request', async () => {
    const photo = await groupPhoto(['fay', 'gus', 'hal']);
    const found = await detect(ctx, photo);
    expect(found.faces).toHaveLength(3);
    expect(found.faces.map((f) => f.box[2])).toEqual([140, 130, 120]);
    expect(found.faces[0]).toEqual({
      box: [10, 10, 140, 168],
      score: 0.99,
      quality: { size: 140, score: 0.99, sharpness: 250, yaw: 0, roll: 0, landmarkSpan: 1.2 },
    });
    expect(analyzer.calls.at(-1)!.options).toMatchObject({
      descriptors: false,
      detector: BASE_CONFIG.detector,
      minScore: BASE_CONFIG.minScore,
    });
    expect((await detect(ctx, photo, { maxFaces: 2 })).faces).toHaveLength(2);
    expect((await detect(ctx, photo, { includeLandmarks: true })).faces.every((f) => f.landmarks?.length === 68)).toBe(true);
    expect((await detect(ctx, await faceless())).faces).toEqual([]);
    expect(await codeOf(detect(ctx, notAnImage()))).toBe('UNSUPPORTED_IMAGE');
  });

  it('takes the detector and minimum score per call', async () => {
    const photo = await portrait('ivy', { score: 0.3 });
    expect((await detect(ctx, photo)).faces).toHaveLength(0);
    expect((await detect(ctx, photo, { minScore: 0.2, detector: 'tiny' })).faces).toHaveLength(1);
    expect(analyzer.calls.at(-1)!.options).toMatchObject({ detector: 'tiny', minScore: 0.2 });
  });
});

describe('draw', () => {
  it('draws identification results and detections on the photo, in the format asked', async () => {
    const photo = await groupPhoto(['jon', 'kim']);
    const result: IdentifyResult = {
      width: 320,
      height: 240,
      gallery: { id: '00000000-0000-4000-8000-000000000000', name: 'default' },
      model: 'face-api-128',
      threshold: 0.59,
      thresholdSource: 'request',
      expectedFpir: null,
      faces: [
        {
          box: [10, 10, 140, 168],
          score: 0.99,
          quality: { size: 140, score: 0.99, sharpness: 250, yaw: 0, roll: 0, landmarkSpan: 1.2 },
          outcome: 'match',
          person: { id: 'x', name: 'Jon' },
          label: 'Jon',
          distance: 0.3,
          confidence: 0.9,
          candidates: [],
        },
        {
          box: [160, 10, 130, 156],
          score: 0.99,
          quality: { size: 130, score: 0.99, sharpness: 250, yaw: 0, roll: 0 },
          outcome: 'unknown',
          person: null,
          label: 'Unknown',
          distance: null,
          confidence: null,
          candidates: [],
        },
      ],
    };
    const jpeg = await drawIdentification(BASE_CONFIG, photo, result);
    expect(await sharp(jpeg).metadata()).toMatchObject({ format: 'jpeg', width: 320, height: 240 });
    const png = await drawIdentification(BASE_CONFIG, photo, result, 'png');
    expect((await sharp(png).metadata()).format).toBe('png');

    const drawn = await drawDetections(ctx, photo, { landmarks: true, format: 'webp' });
    expect(drawn.faces).toBe(2);
    expect((await sharp(drawn.image).metadata()).format).toBe('webp');
    expect(await codeOf(drawIdentification(BASE_CONFIG, notAnImage(), result))).toBe('UNSUPPORTED_IMAGE');
  });
});
