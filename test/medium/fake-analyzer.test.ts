/** The fake analyzer itself: what its photos mean, so that the medium tests can rely on it. */
import { describe, expect, it } from 'vitest';
import { headPose } from '../../src/engine/quality.js';
import { rejection } from '../helpers/errors.js';
import {
  DEFAULT_DRIFT,
  fakeAnalyzer,
  fakeDescriptor,
  fakePhoto,
  FAKE_DESCRIPTOR_MODEL_ID,
  faceless,
  groupPhoto,
  identityCentre,
  notAnImage,
  portrait,
} from '../helpers/fake-analyzer.js';

const analyzer = fakeAnalyzer();
const euclidean = (a: number[], b: number[]): number => Math.hypot(...a.map((v, k) => v - b[k]!));
const descriptorOf = async (bytes: Uint8Array): Promise<number[]> => (await analyzer.analyze(bytes)).faces[0]!.descriptor!;

describe('fake analyzer', () => {
  it('gives the same answer for the same bytes, and other bytes for another take of the same face', async () => {
    const a = await portrait('alice', {}, { take: 'one' });
    const again = await portrait('alice', {}, { take: 'one' });
    expect(Buffer.from(again).equals(Buffer.from(a))).toBe(true);
    expect(await analyzer.analyze(again)).toEqual(await analyzer.analyze(a));
    const other = await portrait('alice');
    expect(Buffer.from(other).equals(Buffer.from(a))).toBe(false);
    expect(await descriptorOf(other)).not.toEqual(await descriptorOf(a));
  });

  it('puts photos of one identity ~0.3 apart and different identities ~1.0 apart', async () => {
    const people = ['alice', 'bob', 'carol', 'dave', 'erin'];
    const photos = await Promise.all(people.flatMap((p) => [portrait(p), portrait(p), portrait(p)]));
    const descriptors = await Promise.all(photos.map(descriptorOf));
    const same: number[] = [],
      different: number[] = [];
    for (let i = 0; i < descriptors.length; i++) {
      for (let j = i + 1; j < descriptors.length; j++)
        (Math.floor(i / 3) === Math.floor(j / 3) ? same : different).push(euclidean(descriptors[i]!, descriptors[j]!));
    }
    expect(Math.min(...same)).toBeGreaterThan(0.2);
    expect(Math.max(...same)).toBeLessThan(0.4);
    expect(Math.min(...different)).toBeGreaterThan(0.8);
    expect(Math.max(...different)).toBeLessThan(1.2);
    expect(descriptors.every((d) => d.length === 128)).toBe(true);
  });

  it('places a face exactly `drift` away from its identity centre', async () => {
    expect(await descriptorOf(await portrait('frank', { drift: 0 }))).toEqual(identityCentre('frank'));
    expect(euclidean(await descriptorOf(await portrait('frank', { drift: 0.5 })), identityCentre('frank'))).toBeCloseTo(0.5, 9);
    expect(euclidean(fakeDescriptor({ identity: 'frank' }, 'x'), identityCentre('frank'))).toBeCloseTo(DEFAULT_DRIFT, 9);
  });

  it('reports the quality it was given, with landmarks that the engine reads back as the same pose', async () => {
    const { faces } = await analyzer.analyze(await portrait('gina', { size: 90, score: 0.8, sharpness: 7.5, yaw: 30, roll: -20 }));
    expect(faces).toHaveLength(1);
    const [face] = faces;
    expect(face!.quality).toEqual({ size: 90, score: 0.8, sharpness: 7.5, yaw: 30, roll: -20, landmarkSpan: 1.2 });
    expect(face!.score).toBe(0.8);
    expect(face!.box[2]).toBe(90);
    expect(face!.landmarks).toHaveLength(68);
    const pose = headPose(face!.landmarks);
    expect(pose.yaw).toBeCloseTo(30, 0);
    expect(pose.roll).toBeCloseTo(-20, 0);
  });

  it('lists faces largest first, drops those under minScore, keeps maxFaces, and leaves out descriptors when asked', async () => {
    const group = await fakePhoto({
      faces: [
        { identity: 'small', size: 50 },
        { identity: 'big', size: 150 },
        { identity: 'unsure', size: 100, score: 0.3 },
      ],
    });
    const all = await analyzer.analyze(group);
    expect(all.faces.map((f) => f.box[2])).toEqual([150, 50]);
    expect(all.width).toBeGreaterThanOrEqual(320);
    expect((await analyzer.analyze(group, { minScore: 0.2 })).faces.map((f) => f.box[2])).toEqual([150, 100, 50]);
    expect((await analyzer.analyze(group, { maxFaces: 1 })).faces.map((f) => f.box[2])).toEqual([150]);
    const plain = await analyzer.analyze(group, { descriptors: false });
    expect(plain.faces.every((f) => f.descriptor === undefined && f.thumbnail === undefined)).toBe(true);
    const withThumbnails = await analyzer.analyze(group, { thumbnails: true });
    expect(withThumbnails.faces.every((f) => f.thumbnail && f.thumbnail[0] === 0xff && f.thumbnail[1] === 0xd8)).toBe(true);
    expect((await analyzer.analyze(await groupPhoto(['a', 'b', 'c']))).faces).toHaveLength(3);
  });

  it('finds no face in an image without a spec, and refuses what is not an image as the real decoder does', async () => {
    expect((await analyzer.analyze(await faceless())).faces).toEqual([]);
    expect((await rejection(analyzer.analyze(notAnImage()))).code).toBe('UNSUPPORTED_IMAGE');
    expect((await rejection(analyzer.analyze(new Uint8Array()))).code).toBe('UNSUPPORTED_IMAGE');
    const strict = fakeAnalyzer({ limits: { maxBytes: 100_000, maxPixels: 10_000 } });
    expect((await rejection(strict.analyze(await portrait('hal')))).code).toBe('IMAGE_TOO_LARGE');
  });

  it('fails on cue, counts its calls, reports a status, and refuses work once closed', async () => {
    const fake = fakeAnalyzer({ descriptorModelId: 'other-model' });
    expect(fake.descriptorModelId).toBe('other-model');
    expect(analyzer.descriptorModelId).toBe(FAKE_DESCRIPTOR_MODEL_ID);
    expect((await rejection(fake.analyze(await fakePhoto({ error: 'QUEUE_FULL' })))).code).toBe('QUEUE_FULL');
    expect(fake.calls).toHaveLength(1);
    expect(fake.calls[0]!.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(fake.status()).toMatchObject({ workers: 0, healthy: 1, queueDepth: 0, closed: false, startFailures: 0 });
    expect(Object.values(fake.status().replacements).every((n) => n === 0)).toBe(true);
    await fake.close();
    expect(fake.status()).toMatchObject({ healthy: 0, closed: true });
    expect((await rejection(fake.analyze(await portrait('ivy')))).code).toBe('POOL_CLOSED');
  });
});
