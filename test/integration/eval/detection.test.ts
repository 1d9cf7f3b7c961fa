/**
 * Detection on annotated photos (`facerec eval detect`, docs/accuracy.md): the shipped detector's recall and
 * precision per set, at IoU ≥ 0.4, must stay at what was measured; and a face a tile cuts must give one box.
 */
import { beforeAll, expect, it } from 'vitest';
import { FaceEngine } from '../../../src/engine/face-engine.js';
import {
  addScore,
  annotatedPhotos,
  emptyTally,
  largePhotos,
  precision,
  recall,
  scorePhoto,
  upscaled,
  type AnnotatedPhoto,
  type Tally,
} from '../../../src/eval/detection.js';
import { DEFAULT_BOXES_FILE } from '../../../src/eval/setup.js';
import { DATASETS_DIR, describeWithDatasets, FACE_API_DEMO } from '../../helpers/datasets.js';

// Measured by `facerec eval detect` (docs/accuracy.md, Detection): every face found, no false face, on every set.
const FLOORS: Record<string, { recall: number; precision: number }> = {
  'dlib-faces': { recall: 1, precision: 1 },
  'face-api-demo': { recall: 1, precision: 1 },
  'bbt-group': { recall: 1, precision: 1 },
  'face-recognition-examples': { recall: 1, precision: 1 },
  'large: upscaled': { recall: 1, precision: 1 },
  'large: 2×2 mosaics': { recall: 1, precision: 1 },
};

let engine: FaceEngine;
let native: AnnotatedPhoto[];

beforeAll(async () => {
  engine = await FaceEngine.create();
});

const boxesOf = async (photo: AnnotatedPhoto, options = {}) =>
  (await engine.analyzeBytes(await photo.bytes(), { descriptors: false, ...options })).faces.map((f) => f.box);

describeWithDatasets('detection on annotated photos', () => {
  beforeAll(async () => {
    native = await annotatedPhotos({ datasets: DATASETS_DIR, boxesFile: DEFAULT_BOXES_FILE, demoDir: FACE_API_DEMO });
  });

  it('keeps recall and precision at the measured floors on every set, the large synthesised group photos included', async () => {
    const tallies = new Map<string, Tally>();
    const misses: string[] = [];
    // Of the large photos, the group photos (the portraits' cut face has its own test below): half the time.
    const large = (await largePhotos(native)).filter((p) => p.faces.length >= 2);
    for (const photo of [...native, ...large]) {
      const score = scorePhoto(photo.faces, photo.ignore, await boxesOf(photo));
      if (!tallies.has(photo.set)) tallies.set(photo.set, emptyTally());
      addScore(tallies.get(photo.set)!, score);
      if (score.missed || score.falseFaces) misses.push(`${photo.set} ${photo.name}: ${score.missed} missed, ${score.falseFaces} false`);
    }
    expect([...tallies.keys()].sort()).toEqual(Object.keys(FLOORS).sort());
    const measured = Object.fromEntries([...tallies].map(([set, t]) => [set, { recall: recall(t), precision: precision(t) }]));
    for (const [set, floor] of Object.entries(FLOORS)) {
      expect(measured[set]!.recall, `${set} recall; ${misses.join('; ')}`).toBeGreaterThanOrEqual(floor.recall);
      expect(measured[set]!.precision, `${set} precision; ${misses.join('; ')}`).toBeGreaterThanOrEqual(floor.precision);
    }
  }, 300_000);

  it('gives one box for a face that a tile cuts in a 4000 px portrait, where the tile kept its lower half before', async () => {
    // obama2.jpg at 4000 px: the tile row starting at y = 1500 cuts the face (y 1115-1960) across the mouth.
    const portrait = await upscaled(
      native.find((p) => p.name === 'misc/obama2.jpg')!,
      4000,
    );
    const boxes = await boxesOf(portrait);
    expect(boxes).toHaveLength(1);
    expect(scorePhoto(portrait.faces, [], boxes)).toMatchObject({ found: 1, falseFaces: 0 });
    // The photo does exercise the cut: without the tile-edge rule, the piece is a second face.
    const unguarded = await boxesOf(portrait, { detection: { dropTileEdges: false } });
    expect(scorePhoto(portrait.faces, [], unguarded)).toMatchObject({ found: 1, falseFaces: 1 });
  });
});
