/**
 * What the face check of issue 25 costs (docs/accuracy.md, False faces): detect + landmarks on one thread with issue
 * 15's levers and with today's, interleaved photo by photo in one run, on the annotated photos, the LFW faces pasted
 * on 12–36 MP textures, and every third synthetic face-free texture.
 *   npx tsx bench/face-check.bench.ts
 */
import path from 'node:path';
import { FaceEngine } from '../src/engine/face-engine.js';
import { annotatedPhotos, type AnnotatedPhoto } from '../src/eval/detection.js';
import { FACE_FREE_SETS, faceFreePhotos } from '../src/eval/face-free.js';
import { pastedFacePhotos } from '../src/eval/pasted-faces.js';
import { DEFAULT_BOXES_FILE, DEFAULT_PASTED_FACES_FILE, FACE_API_DEMO_DIR } from '../src/eval/setup.js';

const DATASETS = process.env.FACEREC_DATASETS ?? path.resolve(import.meta.dirname, '..', '..', 'shared', 'datasets');
// The detection rules of issue 15, before the face check.
const ISSUE_15 = { minLandmarkSpan: 0, tileOnlyMaxFramePx: 0, confirmTileOnly: false, confirmZooms: [2.5] };

const engine = await FaceEngine.create({ threads: 1 });
const sets: Array<[string, AnnotatedPhoto[]]> = [
  ['annotated photos', await annotatedPhotos({ datasets: DATASETS, boxesFile: DEFAULT_BOXES_FILE, demoDir: FACE_API_DEMO_DIR })],
  [
    'pasted faces, 12–36 MP',
    await pastedFacePhotos({ lfwRoot: path.join(DATASETS, 'lfw-view1', 'images'), boxesFile: DEFAULT_PASTED_FACES_FILE }),
  ],
  [
    'synthetic textures, 12–45 MP',
    (await faceFreePhotos({ datasets: DATASETS, wallpaperDirs: [] })).photos
      .filter((p) => p.set === FACE_FREE_SETS.synthetic)
      .filter((_, i) => i % 3 === 0),
  ],
];
for (const [name, photos] of sets) {
  const ms = { before: 0, now: 0 };
  for (const photo of photos) {
    const bytes = await photo.bytes();
    for (const [key, detection] of [
      ['before', ISSUE_15],
      ['now', {}],
    ] as const) {
      const t0 = performance.now();
      await engine.analyzeBytes(bytes, { descriptors: false, detection });
      ms[key] += performance.now() - t0;
    }
  }
  const per = (v: number) => (v / photos.length).toFixed(0);
  console.log(
    `${name}: ${photos.length} photos, ms per photo: issue 15 ${per(ms.before)}, now ${per(ms.now)} (×${(ms.now / ms.before).toFixed(2)})`,
  );
}
await engine.dispose();
