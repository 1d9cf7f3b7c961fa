/**
 * Annotated images at the working resolution (issue 22): a photo over WORKING_SIDE on its long side is drawn and
 * answered that large, with its faces' boxes scaled onto it, so that drawing holds no more pixels than analysing.
 */
import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { WORKING_SIDE } from '../../src/engine/face-engine.js';
import { KNOWN_STYLE, UNKNOWN_STYLE } from '../../src/render/annotate.js';
import { createPerson } from '../../src/service/enroll.service.js';
import { drawDetections, drawIdentification } from '../../src/service/draw.service.js';
import { identify, type IdentifyResult } from '../../src/service/identify.service.js';
import { galleries } from '../../src/service/people.service.js';
import { describeEachDatabase, type DatabaseKind } from '../helpers/databases.js';
import { groupPhoto, portrait } from '../helpers/fake-analyzer.js';
import { asPhoto, openMedium, uniqueName, type Medium } from './harness.js';

const hex = (c: string) => [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16));

describeEachDatabase('annotated images', (kind: DatabaseKind) => {
  let m: Medium;
  beforeAll(async () => {
    m = await openMedium(kind);
  });
  afterAll(async () => {
    await m?.test.drop();
  });

  /** The colour of the answer's pixel at (x, y). */
  async function pixel(image: Buffer, x: number, y: number): Promise<number[]> {
    const { data, info } = await sharp(image).raw().toBuffer({ resolveWithObject: true });
    const i = (Math.round(y) * info.width + Math.round(x)) * info.channels;
    return [data[i]!, data[i + 1]!, data[i + 2]!];
  }
  const near = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i]!))) < 40;

  it('draws a photo over the working side at the working side, with every box where the face is', async () => {
    const gallery = (await galleries.create(m.ctx, uniqueName('draw'))).name;
    await createPerson(m.ctx, { gallery, name: 'Ada' }, [asPhoto(await portrait('ada'))]);
    // 6000 × 4000, Ada and a stranger side by side at the top left (the fake analyzer's layout).
    const photo = await groupPhoto(
      [
        { identity: 'ada', size: 300 },
        { identity: 'nobody', size: 300 },
      ],
      { width: 6000, height: 4000 },
    );
    const result = await identify(m.ctx, photo, { gallery });
    expect(result.faces.map((f) => f.label)).toEqual(['Ada', 'Unknown']);
    const image = await drawIdentification(m.ctx.config, photo, result, 'png');
    const meta = await sharp(image).metadata();
    expect([meta.width, meta.height]).toEqual([WORKING_SIDE, Math.round((4000 * WORKING_SIDE) / 6000)]);
    // Each box's left edge, halfway down, in its colour at the scaled position.
    const scale = WORKING_SIDE / 6000;
    for (const [face, colour] of [
      [result.faces[0]!, KNOWN_STYLE.box],
      [result.faces[1]!, UNKNOWN_STYLE.box],
    ] as const) {
      const [x, y, , h] = face.box;
      expect(near(await pixel(image, x * scale, (y + h / 2) * scale), hex(colour)), `${face.label} at ${x * scale}`).toBe(true);
    }
  });

  it('draws one photo at a time, and every caller gets its own answer in turn', async () => {
    const photos = await Promise.all([300, 400, 500, 600, 700].map((width) => portrait('ada', {}, { width, height: 300 })));
    const drawn = await Promise.all(photos.map((photo) => drawDetections(m.ctx, photo, { format: 'png' })));
    expect(await Promise.all(drawn.map(async (d) => (await sharp(d.image).metadata()).width))).toEqual([300, 400, 500, 600, 700]);
    // A drawing that fails in its turn (bytes that do not decode) passes the turn on.
    const failed = drawIdentification(m.ctx.config, new Uint8Array([1, 2, 3]), { faces: [] } as unknown as IdentifyResult);
    const after = drawDetections(m.ctx, photos[0]!, {});
    await expect(failed).rejects.toMatchObject({ code: 'UNSUPPORTED_IMAGE' });
    expect((await after).faces).toBe(1);
  });

  it('draws a photo within the working side at its own size', async () => {
    const photo = await portrait('grace', { size: 200 }, { width: 900, height: 700 });
    const { image, faces } = await drawDetections(m.ctx, photo, { format: 'jpeg' });
    expect(faces).toBe(1);
    expect(await sharp(image).metadata()).toMatchObject({ format: 'jpeg', width: 900, height: 700 });
  });
});
