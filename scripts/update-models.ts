/** Copies the engine's weights from the @vladmandic/face-api package into models/ and writes models/manifest.json. */
import { createHash } from 'node:crypto';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const pkgDir = path.dirname(require.resolve('@vladmandic/face-api/package.json'));
const { version } = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as { version: string };
const modelsDir = path.resolve(import.meta.dirname, '..', 'models');

const nets = {
  ssdMobilenetv1: { id: 'ssd-mobilenetv1', base: 'ssd_mobilenetv1_model' },
  tinyFaceDetector: { id: 'tiny-face-detector', base: 'tiny_face_detector_model' },
  faceLandmark68Net: { id: 'landmark68', base: 'face_landmark_68_model' },
  faceRecognitionNet: { id: 'dlib-resnet-v1', base: 'face_recognition_model' },
  // The attribute nets (age and gender, expression), loaded only when a request asks for an attribute.
  ageGenderNet: { id: 'age-gender', base: 'age_gender_model' },
  faceExpressionNet: { id: 'face-expression', base: 'face_expression_model' },
};

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const models: Record<string, { id: string; files: Record<string, string> }> = {};
for (const [net, { id, base }] of Object.entries(nets)) {
  const files: Record<string, string> = {};
  for (const name of [`${base}-weights_manifest.json`, `${base}.bin`]) {
    copyFileSync(path.join(pkgDir, 'model', name), path.join(modelsDir, name));
    files[name] = sha256(path.join(modelsDir, name));
  }
  models[net] = { id: `${id}@face-api-${version}`, files };
}
writeFileSync(
  path.join(modelsDir, 'manifest.json'),
  `${JSON.stringify({ source: `@vladmandic/face-api ${version} (MIT)`, models }, null, 2)}\n`,
);
console.log(`models/manifest.json written for face-api ${version}`);
