/**
 * Detection on annotated photos (`facerec eval detect`, docs/accuracy.md): the shipped detector's recall and
 * precision per set, at IoU ≥ 0.4, must stay at what was measured; a face a tile cuts must give one box; and on
 * face-free photos (synthetic textures, the datasets' photos without a face, Debian's wallpapers when installed) it
 * must find no more false faces than measured, however many looks the photo gets.
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
import { FACE_FREE_SETS, faceFreePhotos } from '../../../src/eval/face-free.js';
import { PASTED_SET, pastedFacePhotos } from '../../../src/eval/pasted-faces.js';
import { DEFAULT_BOXES_FILE, DEFAULT_PASTED_FACES_FILE } from '../../../src/eval/setup.js';
import { renderRecipe, SYNTHETIC_RECIPES } from '../../../src/eval/synthetic.js';
import { loadConfig } from '../../../src/config/index.js';
import { qualityRejection } from '../../../src/service/enroll.service.js';
import { dataset, DATASETS_DIR, describeWithDatasets, FACE_API_DEMO } from '../../helpers/datasets.js';

// Measured by `facerec eval detect` (docs/accuracy.md, Detection): every face found, no false face, on every set.
const FLOORS: Record<string, { recall: number; precision: number }> = {
  'dlib-faces': { recall: 1, precision: 1 },
  'face-api-demo': { recall: 1, precision: 1 },
  'bbt-group': { recall: 1, precision: 1 },
  'face-recognition-examples': { recall: 1, precision: 1 },
  'large: upscaled': { recall: 1, precision: 1 },
  'large: 2×2 mosaics': { recall: 1, precision: 1 },
  // 140 of 143: the three missed (98-147 px in photos of 3024-6000 px) were missed by issue 15's detector too.
  [PASTED_SET]: { recall: 0.979, precision: 1 },
};

// The detection rules of issue 15, before the face check (docs/accuracy.md, False faces).
const ISSUE_15 = { minLandmarkSpan: 0, tileOnlyMaxFramePx: 0, confirmTileOnly: false, confirmZooms: [2.5] };

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
    const pasted = await pastedFacePhotos({ lfwRoot: dataset('lfw-view1', 'images'), boxesFile: DEFAULT_PASTED_FACES_FILE });
    for (const photo of [...native, ...large, ...pasted]) {
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
  }, 600_000);

  it('gives one box for a face that a tile cuts in a 4000 px portrait, where the tile kept its lower half before', async () => {
    // obama2.jpg at 4000 px: the tile row starting at y = 1500 cuts the face (y 1115-1960) across the mouth.
    const portrait = await upscaled(
      native.find((p) => p.name === 'misc/obama2.jpg')!,
      4000,
    );
    const boxes = await boxesOf(portrait);
    expect(boxes).toHaveLength(1);
    expect(scorePhoto(portrait.faces, [], boxes)).toMatchObject({ found: 1, falseFaces: 0 });
    // The photo does exercise the cut: without the tile-edge rule and the face check, the piece is a second face.
    const unguarded = await boxesOf(portrait, { detection: { ...ISSUE_15, dropTileEdges: false } });
    expect(scorePhoto(portrait.faces, [], unguarded)).toMatchObject({ found: 1, falseFaces: 1 });
    // The face check alone removes it too: only a tile saw that piece.
    const checkedOnly = await boxesOf(portrait, { detection: { dropTileEdges: false } });
    expect(scorePhoto(portrait.faces, [], checkedOnly)).toMatchObject({ found: 1, falseFaces: 0 });
  });

  it('finds no face on face-free photos where issue 15 found some, nor with more looks; only the dog that plain face-api takes for a face too', async () => {
    const { photos } = await faceFreePhotos({ datasets: DATASETS_DIR });
    // The textures issue 15's detector took for faces (docs/accuracy.md), two others, the datasets' photos, and a few
    // of the wallpapers (raster ones: SVG takes long to draw) when gnome-backgrounds and desktop-base are installed.
    const fooled = [
      'grey pixel hash 6000×4000',
      'soft grey pixel hash 6000×4000',
      'product moiré 5184×3456',
      'zone plate 6000×4000',
      'checkerboard 48 px 4624×3468',
    ];
    const others = ['stones 6000×4000', 'polka dots 6000×4000'];
    const wallpapers = photos.filter((p) => p.set === FACE_FREE_SETS.wallpapers && !p.name.endsWith('.svg')).filter((_, i) => i % 4 === 0);
    const chosen = photos.filter(
      (p) => (p.set === FACE_FREE_SETS.synthetic && [...fooled, ...others].includes(p.name)) || p.set === FACE_FREE_SETS.datasets,
    );
    const found: string[] = [];
    let before = 0,
      moreLooks = 0;
    for (const photo of [...chosen, ...wallpapers]) {
      const bytes = await photo.bytes();
      const faces = (await engine.analyzeBytes(bytes, { descriptors: false })).faces;
      found.push(...faces.map((f) => `${photo.name} [${f.box.map(Math.round).join(', ')}] ${f.score}`));
      if (!fooled.includes(photo.name)) continue;
      before += (await engine.analyzeBytes(bytes, { descriptors: false, detection: ISSUE_15 })).faces.length;
      // Smaller tiles: twice the detector passes over the photo (13 instead of 7 on 6000×4000), and their second looks.
      moreLooks += (await engine.analyzeBytes(bytes, { descriptors: false, detection: { tileFraction: 0.34 } })).faces.length;
    }
    // The photos do exercise the rule: issue 15's detector found a face on each texture (two on the zone plate).
    expect(before).toBeGreaterThanOrEqual(fooled.length);
    expect(moreLooks).toBe(0);
    // dogs.jpg: a dog's face, at 0.79, which plain face-api at 0.5 reports too.
    expect(found).toEqual([expect.stringMatching(/^dlib-examples\/faces\/dogs\.jpg /)]);
  }, 600_000);

  it("could not enroll issue 25's pattern even as issue 15's detector saw it: its landmarks do not outline a face (LOW_SCORE)", async () => {
    const pattern = SYNTHETIC_RECIPES.find((r) => r.name === 'grey pixel hash 6000×4000')!;
    const bytes = await renderRecipe(pattern);
    const [seen, ...rest] = (await engine.analyzeBytes(bytes, { descriptors: false, detection: ISSUE_15 })).faces;
    expect(rest).toEqual([]);
    expect(seen!.quality.landmarkSpan).toBeLessThan(0.5);
    expect(qualityRejection(seen!, loadConfig({}).enrollment)).toMatchObject({ code: 'LOW_SCORE' });
  }, 120_000);
});
