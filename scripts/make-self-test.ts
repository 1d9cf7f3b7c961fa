/**
 * Writes models/probe.jpg, the small known photo every engine worker analyses before it takes work (and again
 * while idle), and models/probe.json, the answer it must give. The photo is a crop of one face from the demo
 * samples of the @vladmandic/face-api package (MIT). Run again after a model or pipeline change: `npm run models:self-test`.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import sharp from 'sharp';
import { ATTRIBUTE_NAMES } from '../src/core/face.js';
import { FaceEngine } from '../src/engine/face-engine.js';
import { PRECISIONS, SSD_INPUTS } from '../src/engine/nets.js';
import { SELF_TEST_FILES, type SelfTestRecord } from '../src/engine/self-test.js';

const require = createRequire(import.meta.url);
const pkgDir = path.dirname(require.resolve('@vladmandic/face-api/package.json'));
const { version } = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as { version: string };
const modelsDir = path.resolve(import.meta.dirname, '..', 'models');
const crop = { left: 314, top: 255, width: 380, height: 440 };

const photo = await sharp(path.join(pkgDir, 'demo', 'sample1.jpg'))
  .extract(crop)
  .resize(160)
  .jpeg({ quality: 90 })
  .toBuffer();
writeFileSync(path.join(modelsDir, SELF_TEST_FILES.photo), photo);

// The reference answer (FP32, SSD at 512², as face-api and tfjs give it), then each other setting's own; each with
// the attributes of its own box (the attribute nets are FP32 under every setting, their crop follows the box).
const answers: Record<string, SelfTestRecord['face']> = {};
let modelId = '';
for (const precision of PRECISIONS) {
  for (const ssdInput of SSD_INPUTS) {
    const engine = await FaceEngine.create({ runtime: 'onnx', precision, ssdInput, modelsDir });
    const { faces } = await engine.analyzeBytes(photo, { attributes: ATTRIBUTE_NAMES });
    if (faces.length !== 1) throw new Error(`the probe photo must show exactly one face, found ${faces.length} (${precision}/${ssdInput})`);
    answers[`${precision}/${ssdInput}`] = {
      box: faces[0]!.box,
      descriptor: faces[0]!.descriptor!.map((v) => Math.round(v * 1e6) / 1e6),
      attributes: faces[0]!.attributes!,
    };
    modelId = engine.info().descriptorModelId;
    await engine.dispose();
  }
}
const { 'fp32/512': face, ...variants } = answers;
const record: SelfTestRecord = {
  source: `@vladmandic/face-api ${version} demo/sample1.jpg (MIT), crop ${crop.width}x${crop.height} at ${crop.left},${crop.top}, scaled to 160 px wide`,
  sha256: createHash('sha256').update(photo).digest('hex'),
  descriptorModelId: modelId,
  face: face!,
  variants,
};
writeFileSync(path.join(modelsDir, SELF_TEST_FILES.record), `${JSON.stringify(record, null, 2)}\n`);
console.log(
  `models/${SELF_TEST_FILES.photo} and models/${SELF_TEST_FILES.record} written (${photo.length} bytes, one face at ${record.face.box.join(',')})`,
);
