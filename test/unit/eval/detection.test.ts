import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { Box } from '../../../src/core/face.js';
import {
  addScore,
  emptyTally,
  falsePer100Mp,
  iou,
  parseImglabXml,
  precision,
  recall,
  scorePhoto,
  tallyRows,
} from '../../../src/eval/detection.js';
import { FACE_FREE_SETS, faceFreePhotos } from '../../../src/eval/face-free.js';

describe('parseImglabXml', () => {
  it("reads dlib imglab's boxes as [x, y, w, h], ignored ones apart", () => {
    const xml = `<?xml version='1.0'?><dataset><images>
  <image file='a.jpg' width='500' height='375'>
    <box top='90' left='194' width='37' height='38'/>
    <box top='-3' left='5' width='40' height='41' ignore='1'/>
  </image>
  <image file='b.jpg'>
  </image>
</images></dataset>`;
    expect(parseImglabXml(xml)).toEqual([
      { file: 'a.jpg', faces: [[194, 90, 37, 38]], ignore: [[5, -3, 40, 41]] },
      { file: 'b.jpg', faces: [], ignore: [] },
    ]);
  });
});

describe('scorePhoto', () => {
  const face: Box = [100, 100, 100, 100];

  it('matches at IoU ≥ 0.4 and not below', () => {
    const shifted = (dx: number): Box => [100 + dx, 100, 100, 100];
    expect(iou(face, shifted(40))).toBeCloseTo(60 / 140);
    expect(scorePhoto([face], [], [shifted(40)])).toMatchObject({ found: 1, missed: 0, falseFaces: 0 });
    expect(iou(face, shifted(45))).toBeLessThan(0.4);
    expect(scorePhoto([face], [], [shifted(45)])).toMatchObject({ found: 0, missed: 1, falseFaces: 1 });
  });

  it('matches one-to-one: a second box on one face is a false face, and a half-face box counts as such', () => {
    const lowerHalf: Box = [95, 150, 110, 50];
    const s = scorePhoto([face], [], [face, lowerHalf]);
    expect(s).toMatchObject({ found: 1, missed: 0, falseFaces: 1, falseBoxes: [lowerHalf] });
  });

  it('pairs greedily by IoU, so the best pair is not stolen by a box that sees two faces', () => {
    const left: Box = [0, 0, 100, 100],
      right: Box = [90, 0, 100, 100];
    // The first detection overlaps both faces; the second is exactly the left face.
    const wide: Box = [40, 0, 110, 100];
    expect(scorePhoto([left, right], [], [wide, left])).toMatchObject({ found: 2, falseFaces: 0 });
  });

  it('lets a detection of an ignored face count neither way', () => {
    expect(scorePhoto([], [face], [face])).toMatchObject({ found: 0, missed: 0, falseFaces: 0 });
  });
});

describe('tallies', () => {
  it('gives recall, precision, and 1 for both when there is nothing to find and nothing found', () => {
    const t = emptyTally();
    expect([recall(t), precision(t)]).toEqual([1, 1]);
    addScore(
      t,
      scorePhoto(
        [[0, 0, 10, 10]],
        [],
        [
          [0, 0, 10, 10],
          [50, 50, 10, 10],
        ],
      ),
    );
    addScore(t, scorePhoto([[0, 0, 10, 10]], [], []));
    expect(t).toEqual({ photos: 2, faces: 2, found: 1, falseFaces: 1, photosWithFalseFaces: 1, megapixels: 0 });
    expect([recall(t), precision(t)]).toEqual([0.5, 0.5]);
  });

  it('rows: each set, then native photos above 2048 px, then each synthesised set', () => {
    const score = scorePhoto([], [], []);
    const scores = { shipped: score, plain03: score, plain05: score };
    const photo = (set: string) => ({ set, name: 'x', faces: [], ignore: [], bytes: async () => new Uint8Array() });
    const rows = tallyRows([
      { photo: photo('a'), width: 3000, height: 2000, scores, seconds: 0 },
      { photo: photo('large: upscaled'), width: 4000, height: 3000, scores, seconds: 0 },
      { photo: photo('b'), width: 500, height: 400, scores, seconds: 0 },
    ]);
    expect(rows.map((r) => [r.set, r.tallies.shipped.photos])).toEqual([
      ['a', 1],
      ['b', 1],
      ['native above 2048 px', 1],
      ['large: upscaled', 1],
    ]);
  });

  it('face-free rows: every box is a false face, counted per 100 megapixels of the photos, each set and all together', () => {
    const none = scorePhoto([], [], []);
    const two = scorePhoto(
      [],
      [],
      [
        [0, 0, 10, 10],
        [50, 50, 10, 10],
      ],
    );
    const photo = (set: string) => ({ set, name: 'x', faces: [], ignore: [], bytes: async () => new Uint8Array() });
    const rows = tallyRows([
      {
        photo: photo('face-free: synthetic'),
        width: 6000,
        height: 4000,
        scores: { shipped: two, plain03: two, plain05: none },
        seconds: 0,
      },
      {
        photo: photo('face-free: wallpapers'),
        width: 4000,
        height: 4000,
        scores: { shipped: none, plain03: two, plain05: none },
        seconds: 0,
      },
      { photo: photo('a'), width: 500, height: 400, scores: { shipped: none, plain03: none, plain05: none }, seconds: 0 },
    ]);
    expect(rows.map((r) => r.set)).toEqual(['a', 'face-free: synthetic', 'face-free: wallpapers', 'face-free: all']);
    const all = rows.at(-1)!.tallies;
    expect(all.shipped).toMatchObject({ photos: 2, falseFaces: 2, photosWithFalseFaces: 1, megapixels: 40 });
    expect(falsePer100Mp(all.shipped)).toBe(5);
    expect(falsePer100Mp(all.plain03)).toBe(10);
    expect(falsePer100Mp(all.plain05)).toBe(0);
    expect(falsePer100Mp(emptyTally())).toBe(0);
  });
});

describe('faceFreePhotos', () => {
  it('names each wallpaper folder that gives no photo, and reads those that do', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'facerec-wallpapers-'));
    try {
      await sharp({ create: { width: 64, height: 48, channels: 3, background: '#336699' } })
        .png()
        .toFile(path.join(dir, 'blue.png'));
      const absent = path.join(dir, 'absent');
      const { photos, missing } = await faceFreePhotos({ datasets: path.join(dir, 'no-datasets'), wallpaperDirs: [dir, absent] });
      expect(photos.filter((p) => p.set === FACE_FREE_SETS.wallpapers).map((p) => p.name)).toEqual([
        path.join(path.basename(dir), 'blue.png'),
      ]);
      expect(missing).toContain(`no wallpapers under ${absent}`);
      expect(missing.some((m) => m.includes(`under ${dir} `) || m.endsWith(`under ${dir}`))).toBe(false);
      expect(photos.some((p) => p.set === FACE_FREE_SETS.synthetic)).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
