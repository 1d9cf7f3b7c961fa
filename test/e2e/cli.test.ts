import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { runFacerec } from '../helpers/cli.js';
import { dataset, describeWithDatasets, FACE_API_DEMO } from '../helpers/datasets.js';

let tmp: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'facerec-cli-'));
});

const facerec = (...args: string[]) => runFacerec(args, { env: { ...process.env, FACEREC_WORKERS: '2' } });

describe('facerec CLI', () => {
  it('info names the backend and the model ids', async () => {
    const r = await facerec('info', '--json');
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(['wasm', 'node', 'gpu', 'cpu']).toContain(info.backend);
    expect(info.models.faceRecognitionNet).toMatch(/^dlib-resnet-v1@face-api-/);
    expect(info.selfTest).toMatchObject({ passed: true });
  });

  it('detect --json gives boxes, scores and quality', async () => {
    const r = await facerec('detect', path.join(FACE_API_DEMO, 'sample3.jpg'), '--json');
    expect(r.code).toBe(0);
    const { faces } = JSON.parse(r.stdout);
    expect(faces).toHaveLength(3);
    for (const f of faces) {
      expect(f.box).toHaveLength(4);
      expect(f.score).toBeGreaterThan(0.5);
      expect(Object.keys(f.quality).sort()).toEqual(['landmarkSpan', 'roll', 'score', 'sharpness', 'size', 'yaw']);
      // Landmarks that outline a face (issue 25): real faces span 0.74-1.85 of their box, textures under 0.6.
      expect(f.quality.landmarkSpan).toBeGreaterThanOrEqual(0.8);
    }
  });

  it('detect --attributes gives age, gender and expression per face, only those asked, in JSON and in words', async () => {
    const sample = path.join(FACE_API_DEMO, 'sample3.jpg');
    const all = JSON.parse((await facerec('detect', sample, '--attributes', 'all', '--json')).stdout);
    expect(all.faces).toHaveLength(3);
    for (const f of all.faces) expect(Object.keys(f.attributes)).toEqual(['age', 'gender', 'expression']);
    const one = JSON.parse((await facerec('detect', sample, '--attributes', 'expression', '--json')).stdout);
    for (const f of one.faces) expect(Object.keys(f.attributes)).toEqual(['expression']);
    const none = JSON.parse((await facerec('detect', sample, '--json')).stdout);
    for (const f of none.faces) expect(f).not.toHaveProperty('attributes');
    const text = await facerec('detect', sample, '--attributes', 'gender,expression');
    expect(text.code).toBe(0);
    expect(text.stdout.trim().split('\n').slice(1)).toHaveLength(3);
    for (const line of text.stdout.trim().split('\n').slice(1))
      expect(line).toMatch(/ (female|male) \d+% · (neutral|happy|sad|angry|fearful|disgusted|surprised) \d+%$/);
  });

  it('annotate writes an image the size of the input', async () => {
    const out = path.join(tmp, 'annotated.png');
    const r = await facerec('annotate', path.join(FACE_API_DEMO, 'sample3.jpg'), '-o', out);
    expect(r.code).toBe(0);
    const meta = await sharp(await readFile(out)).metadata();
    expect(meta.format).toBe('png');
    expect(meta.width).toBe(1920);
  });

  // The other mistakes (a bad flag or value, a missing file, a bad FACEREC_* variable) need no engine: they run
  // in-process in test/medium/cli.test.ts.
  it('says UNSUPPORTED_IMAGE in one line with exit 5 for a file that is no image', async () => {
    const text = path.join(tmp, 'not-an-image.jpg');
    await writeFile(text, 'hello');
    const bad = await facerec('detect', text);
    expect(bad.code).toBe(5);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/^facerec: UNSUPPORTED_IMAGE: /);
  });
});

describeWithDatasets('facerec CLI on the datasets', () => {
  it('compare says Obama vs Biden is different, with exit code 0', async () => {
    const r = await facerec(
      'compare',
      dataset('face-recognition-examples/test_images/obama.jpg'),
      dataset('face-recognition-examples/test_images/biden.jpg'),
      '--json',
    );
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.match).toBe(false);
    expect(out.distance).toBeGreaterThan(out.threshold);
  });

  it('compare says Obama vs Obama is the same person', async () => {
    const r = await facerec(
      'compare',
      dataset('face-recognition-examples/test_images/obama.jpg'),
      dataset('face-recognition-examples/test_images/obama2.jpg'),
      '--json',
    );
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).match).toBe(true);
  });

  it('compare with a photo of two people fails with MULTIPLE_FACES, or takes its largest face when told', async () => {
    const two = dataset('face-recognition-examples/misc/two_people.jpg');
    const refused = await facerec('compare', dataset('face-recognition-examples/test_images/obama.jpg'), two);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/^facerec: MULTIPLE_FACES: There are 2 faces in .*two_people\.jpg/);
    const r = await facerec('compare', dataset('face-recognition-examples/test_images/obama.jpg'), two, '--largest-face', '--json');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ match: false, facesInPhotos: [1, 2] });
    expect(out.boxes).toHaveLength(2);
  });

  it('compare with a photo of cars fails with NO_FACE', async () => {
    const r = await facerec(
      'compare',
      dataset('face-recognition-examples/test_images/obama.jpg'),
      dataset('dlib-examples/no-face/mmod_cars_test_image.jpg'),
    );
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^facerec: NO_FACE: .*mmod_cars_test_image\.jpg/);
  });

  it('embed writes one line per listed image, in order, with faces [] when there is none', async () => {
    const list = path.join(tmp, 'list.txt');
    const out = path.join(tmp, 'out.jsonl');
    const files = [
      'face-recognition-examples/test_images/obama.jpg',
      'dlib-examples/no-face/mmod_cars_test_image.jpg',
      'face-recognition-examples/misc/two_people.jpg',
    ];
    await writeFile(list, files.join('\n'));
    const r = await facerec('embed', '--root', dataset(), '--list', list, '--out', out);
    expect(r.code).toBe(0);
    const lines = (await readFile(out, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.f)).toEqual(files);
    expect(lines.map((l) => l.faces.length)).toEqual([1, 0, 2]);
    expect(lines[0].faces[0].descriptor).toHaveLength(128);
    // The quality the enrollment gates read, so that a learning evaluation can gate on it (eval stream).
    expect(lines[0].faces[0].quality.size).toBeGreaterThan(40);
    expect(lines[0].faces[0].quality.sharpness).toBeGreaterThan(0);
    expect(lines[0].w).toBeGreaterThan(0);
  });

  it('eval lfw scores a few pairs and writes the ROC plot', async () => {
    // Two same and two different pairs from the View 1 test split.
    const lines = (await readFile(dataset('lfw-view1/pairsDevTest.txt'), 'utf8')).trim().split('\n');
    const pairs = path.join(tmp, 'pairs.txt');
    await writeFile(pairs, ['4', lines[1], lines[2], lines[501], lines[502]].join('\n'));
    const plot = path.join(tmp, 'roc.png');
    const r = await facerec('eval', 'lfw', '--pairs', pairs, '--root', dataset('lfw-view1/images'), '--plot', plot, '--json');
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout);
    const shipped = result.pipelines.find((p: { shipped: boolean }) => p.shipped);
    expect(shipped.report.accuracy).toBe(1);
    expect((await sharp(await readFile(plot)).metadata()).format).toBe('png');
  });
});
