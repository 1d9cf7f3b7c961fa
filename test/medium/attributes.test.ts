/**
 * Face attributes through the use cases, with the fake analyzer: parsed by one schema for every adapter, asked of the
 * engine only when the caller asks, and answered per face only then.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attributesText } from '../../src/core/face.js';
import type { ServiceContext } from '../../src/service/context.js';
import { detect, DetectInput } from '../../src/service/detect.service.js';
import { drawDetections, identificationAnnotations } from '../../src/service/draw.service.js';
import { createPerson } from '../../src/service/enroll.service.js';
import { identify, IdentifyInput } from '../../src/service/identify.service.js';
import { parseInput } from '../../src/service/input.js';
import { galleries } from '../../src/service/people.service.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { groupPhoto, portrait } from '../helpers/fake-analyzer.js';
import { asPhoto, openMedium, type Medium } from './harness.js';

describe('the attributes field, as HTTP and the CLI parse it', () => {
  const parse = (value: unknown) => parseInput(DetectInput, { attributes: value }).attributes;

  it('takes names, comma-separated or repeated, and all; answers them in one order, each once', () => {
    expect(parse(undefined)).toBeUndefined();
    expect(parse('age')).toEqual(['age']);
    expect(parse('expression,age')).toEqual(['age', 'expression']);
    expect(parse(' gender , age ,gender')).toEqual(['age', 'gender']);
    expect(() => parse('age,,gender')).toThrow(/unknown attribute an empty name; allowed/);
    expect(parse(['gender', 'expression'])).toEqual(['gender', 'expression']);
    expect(parse('all')).toEqual(['age', 'gender', 'expression']);
    expect(parse('age,all')).toEqual(['age', 'gender', 'expression']);
    expect(parseInput(IdentifyInput, { attributes: 'all' }).attributes).toEqual(['age', 'gender', 'expression']);
  });

  it('refuses anything else with INVALID_ARGUMENT naming the allowed values', () => {
    for (const bad of ['emotion', 'age,race', 'Age', '', ',', 'all,', [], 3, ['age', 7]]) {
      let error: unknown;
      try {
        parse(bad);
      } catch (err) {
        error = err;
      }
      expect(error, JSON.stringify(bad)).toMatchObject({ code: 'INVALID_ARGUMENT' });
      const message = (error as Error).message;
      if (typeof bad === 'string') expect(message, bad).toContain('allowed: age, gender, expression, all');
    }
    // One error names every unknown word.
    expect(() => parse('age,race,mood')).toThrow(/unknown attributes 'race', 'mood'; allowed: age, gender, expression, all/);
  });

  it('reads a face’s attributes as a few words', () => {
    expect(
      attributesText({
        age: 30.6,
        gender: { label: 'female', probability: 0.934 },
        expression: {
          label: 'happy',
          probability: 0.995,
          probabilities: { neutral: 0.005, happy: 0.995, sad: 0, angry: 0, fearful: 0, disgusted: 0, surprised: 0 },
        },
      }),
    ).toBe('~31 y · female 93% · happy 100%');
    expect(attributesText({ gender: { label: 'male', probability: 0.5 } })).toBe('male 50%');
    expect(attributesText({})).toBe('');
  });
});

describeEachDatabase('attributes through detect, identify and annotate', (kind) => {
  let m: Medium;
  let ctx: ServiceContext;
  let gallery: string;

  beforeAll(async () => {
    m = await openMedium(kind);
    ctx = m.ctx;
    gallery = (await galleries.create(ctx, 'Attributes')).name;
    await createPerson(ctx, { gallery, name: 'Alice' }, [asPhoto(await portrait('alice', { gender: 'female' }))]);
  });
  afterAll(async () => {
    await m?.test.drop();
  });

  const lastOptions = () => m.analyzer.calls.at(-1)!.options;

  it('asks the engine for no attribute and answers none unless asked', async () => {
    const photo = await groupPhoto(['alice', 'bob']);
    const detected = await detect(ctx, photo);
    expect(lastOptions()).not.toHaveProperty('attributes');
    expect(detected.faces.every((f) => !('attributes' in f))).toBe(true);
    const identified = await identify(ctx, photo, { gallery });
    expect(lastOptions()).not.toHaveProperty('attributes');
    expect(identified.faces.every((f) => !('attributes' in f))).toBe(true);
    // An empty list is none.
    await detect(ctx, photo, { attributes: [] });
    expect(lastOptions()).not.toHaveProperty('attributes');
  });

  it('answers exactly the attributes asked for, on every face, in detect and identify', async () => {
    const photo = await groupPhoto([
      { identity: 'alice', gender: 'female', age: 28, expression: 'happy', size: 140 },
      { identity: 'bob', age: 51, expression: 'surprised', size: 120 },
    ]);
    const detected = await detect(ctx, photo, { attributes: ['gender', 'expression'] });
    expect(lastOptions().attributes).toEqual(['gender', 'expression']);
    expect(detected.faces.map((f) => f.attributes)).toEqual([
      { gender: { label: 'female', probability: 0.9 }, expression: expect.objectContaining({ label: 'happy' }) },
      { gender: { label: 'male', probability: 0.9 }, expression: expect.objectContaining({ label: 'surprised' }) },
    ]);
    const identified = await identify(ctx, photo, { gallery, attributes: ['age'] });
    expect(identified.faces.map((f) => [f.label, f.attributes])).toEqual([
      ['Alice', { age: 28 }],
      ['Unknown', { age: 51 }],
    ]);
    // A face too small to recognise still gets them: they do not need a descriptor.
    const small = await identify(ctx, await portrait('carol', { size: 30 }), { gallery, attributes: ['age'] });
    expect(small.faces[0]).toMatchObject({ reason: 'FACE_TOO_SMALL', attributes: { age: 35 } });
  });

  it('draws them under each box when asked, and nothing more otherwise', async () => {
    const photo = await groupPhoto([{ identity: 'alice', gender: 'female', age: 28, expression: 'happy' }]);
    const identified = await identify(ctx, photo, { gallery, attributes: ['age', 'gender', 'expression'] });
    expect(identificationAnnotations(identified)[0]).toMatchObject({ label: 'Alice', detail: '~28 y · female 90% · happy 80%' });
    expect(identificationAnnotations(await identify(ctx, photo, { gallery }))[0]).not.toHaveProperty('detail');
    const drawn = await drawDetections(ctx, photo, { attributes: ['expression'] });
    expect(lastOptions().attributes).toEqual(['expression']);
    expect(drawn.faces).toBe(1);
  });
});
