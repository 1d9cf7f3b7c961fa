/**
 * The server's memory under bursts of large photos (issue 12, and issue 22 for the annotated images): RSS at rest, its
 * peak during a burst of concurrent 24-49 MP uploads (half with faces, half without), where it settles afterwards,
 * over several bursts (a leak grows burst after burst; a bounded server settles at the same level); then bursts of
 * annotate and identify with `Accept: image/jpeg` on 45 MP photos, the endpoints that draw the photo, against the
 * budget that docs/operations.md gives a deployment.
 *   npm run bench:memory [-- --workers 2 --concurrency 24 --bursts 3 --image-concurrency 12 --image-bursts 2]
 *
 * The server runs as deployed, `node dist/cli/main.js serve` in its own process (built first; PGlite in a temporary
 * directory); its RSS and peak (VmHWM) are read from /proc. The photos are made at run time from real ones: a
 * face-api demo sample upscaled, a mosaic of LFW photos (when ../shared/datasets is there), blank canvases.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import sharp from 'sharp';

const ROOT = path.resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    workers: { type: 'string', default: String(Math.max(1, os.availableParallelism())) },
    concurrency: { type: 'string', default: '24' },
    bursts: { type: 'string', default: '3' },
    'image-concurrency': { type: 'string', default: '12' },
    'image-bursts': { type: 'string', default: '2' },
    datasets: { type: 'string', default: path.join(ROOT, '..', 'shared', 'datasets') },
    // As the Docker images run it (docs/operations.md); "unset" leaves glibc's default (8 arenas per core).
    'malloc-arena-max': { type: 'string', default: process.env.MALLOC_ARENA_MAX ?? '2' },
    // Long enough that a busy machine does not cut requests short: their memory is what is measured.
    'timeout-ms': { type: 'string', default: '300000' },
  },
});

// The server as deployed: compiled JavaScript, its own process, PGlite in a temporary directory, logs at warn.
execFileSync('npm', ['run', '-s', 'build'], { cwd: ROOT, stdio: 'inherit' });
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'facerec-bench-memory-'));
const port = 3000 + Math.floor(Math.random() * 20_000);
const url = `http://127.0.0.1:${port}`;
const env: NodeJS.ProcessEnv = {
  ...process.env,
  FACEREC_PORT: String(port),
  FACEREC_HOST: '127.0.0.1',
  FACEREC_DATA_DIR: dataDir,
  FACEREC_WORKERS: values.workers,
  FACEREC_LOG_LEVEL: 'error',
  FACEREC_REQUEST_TIMEOUT_MS: values['timeout-ms'],
  MALLOC_ARENA_MAX: values['malloc-arena-max'],
};
if (values['malloc-arena-max'] === 'unset') delete env.MALLOC_ARENA_MAX;
const child = spawn(process.execPath, ['dist/cli/main.js', 'serve'], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'inherit'] });
for (let ready = false; !ready; await sleep(200))
  ready = await fetch(`${url}/readyz`).then(
    (r) => r.ok,
    () => false,
  );
{
  const status = () => readFileSync(`/proc/${child.pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status())?.[1] ?? NaN) / 1024;
  const rss = () => kb('VmRSS');

  const sample = readFileSync(path.join(ROOT, 'node_modules/@vladmandic/face-api/demo/sample2.jpg'));
  const blank = (width: number, height: number) => sharp({ create: { width, height, channels: 3, background: '#889' } });
  const photos: Array<[string, Buffer]> = [
    ['6000x4272 photo of 3 people (JPEG)', await sharp(sample).resize(6000).jpeg({ quality: 92 }).toBuffer()],
    ['8000x5696 photo of 3 people (JPEG)', await sharp(sample).resize(8000).jpeg({ quality: 85 }).toBuffer()],
    ['6000x4000 without a face (JPEG)', await blank(6000, 4000).jpeg().toBuffer()],
    ['7000x7000 without a face (PNG)', await blank(7000, 7000).png().toBuffer()],
  ];
  for (const [name, bytes] of photos) console.log(`photo: ${name}, ${(bytes.length / 1e6).toFixed(1)} MB`);

  const identify = async (bytes: Buffer) => {
    const body = new FormData();
    body.append('image', new Blob([bytes]), 'photo');
    return (await fetch(`${url}/v1/identify`, { method: 'POST', body })).status;
  };
  const mb = (v: number) => `${Math.round(v)} MB`;
  console.log(
    `\nworkers ${values.workers}, MALLOC_ARENA_MAX ${values['malloc-arena-max']}, bursts of ${values.concurrency} concurrent identify requests`,
  );
  console.log(`at rest after start: RSS ${mb(rss())}`);
  await identify(photos[0]![1]);
  console.log(`after one large photo: RSS ${mb(rss())}`);

  for (let burst = 1; burst <= Number(values.bursts); burst++) {
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, rss())), 50);
    const t0 = performance.now();
    const statuses = await Promise.all(
      Array.from({ length: Number(values.concurrency) }, (_, i) => identify(photos[i % photos.length]![1])),
    );
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    await sleep(3_000);
    const counts = Object.entries(statuses.reduce<Record<number, number>>((acc, s) => ({ ...acc, [s]: (acc[s] ?? 0) + 1 }), {}))
      .map(([s, n]) => `${n}×${s}`)
      .join(' ');
    console.log(
      `burst ${burst}: ${seconds.toFixed(1)} s, answers ${counts}; RSS peak ${mb(peak)}, 3 s later ${mb(rss())}; VmHWM ${mb(kb('VmHWM'))}`,
    );
  }
  // ---- the endpoints that draw the photo, on 45 MP photos (issue 22: 5 annotations at once took 1.3 GB to 3.2 GB) ----
  const W45 = 8200,
    H45 = 5500;
  const large: Array<[string, Buffer]> = [
    [`${W45}x${H45} demo sample upscaled (JPEG)`, await sharp(sample).resize(W45, H45, { fit: 'cover' }).jpeg({ quality: 90 }).toBuffer()],
  ];
  const lfw = path.join(values.datasets, 'lfw-view1', 'images');
  if (existsSync(lfw)) {
    // 8 × 5 LFW photos of 1025 px: 40 faces of about 450 px in one 45 MP frame.
    const people = readdirSync(lfw).sort().slice(0, 40);
    const side = Math.floor(W45 / 8);
    const tiles = await Promise.all(
      people.map(async (person, i) => ({
        input: await sharp(path.join(lfw, person, readdirSync(path.join(lfw, person)).sort()[0]!))
          .resize(side, side)
          .toBuffer(),
        left: (i % 8) * side,
        top: Math.floor(i / 8) * side,
      })),
    );
    const mosaic = await sharp({ create: { width: W45, height: H45, channels: 3, background: '#777' } })
      .composite(tiles)
      .jpeg({ quality: 90 })
      .toBuffer();
    large.push([`${W45}x${H45} mosaic of 40 LFW photos (JPEG)`, mosaic]);
  } else console.log(`(no LFW mosaic: ${lfw} is missing)`);
  for (const [name, bytes] of large) console.log(`photo: ${name}, ${(bytes.length / 1e6).toFixed(1)} MB`);

  /** annotate and identify with Accept: image/jpeg in turn (`drawn`), or identify's JSON (the same analysis, no drawing). */
  const request = async (bytes: Buffer, i: number, drawn: boolean) => {
    const body = new FormData();
    body.append('image', new Blob([bytes]), 'photo.jpg');
    const res = !drawn
      ? await fetch(`${url}/v1/identify`, { method: 'POST', body })
      : i % 2 === 0
        ? await fetch(`${url}/v1/annotate`, { method: 'POST', body })
        : await fetch(`${url}/v1/identify`, { method: 'POST', body, headers: { Accept: 'image/jpeg' } });
    const answer = Buffer.from(await res.arrayBuffer());
    if (res.status !== 200) return { status: res.status, size: '' };
    if (!drawn) return { status: res.status, size: 'JSON' };
    const meta = await sharp(answer).metadata();
    return { status: res.status, size: `${meta.width}x${meta.height}` };
  };
  // docs/operations.md: 0.6 GB (PGlite), 0.5 GB per worker, plus the uploads the server holds.
  const workers = Number(values.workers);
  const concurrency = Number(values['image-concurrency']);
  const uploads = (concurrency * Math.max(...large.map(([, b]) => b.length))) / 1e6;
  const budget = 600 + 500 * workers + uploads;
  console.log(
    `\nbursts of ${concurrency} concurrent annotate and identify (Accept: image/jpeg) on 45 MP photos; ` +
      `budget 600 + 500 × ${workers} workers + ${Math.round(uploads)} MB of uploads = ${mb(budget)}`,
  );
  let overall = 0;
  // The first burst asks for JSON: what analysing these photos costs before anything is drawn.
  for (let burst = 0; burst <= Number(values['image-bursts']); burst++) {
    const drawn = burst > 0;
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, rss())), 50);
    const t0 = performance.now();
    const answers = await Promise.all(Array.from({ length: concurrency }, (_, i) => request(large[i % large.length]![1], i, drawn)));
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    await sleep(3_000);
    overall = Math.max(overall, peak);
    const counts = Object.entries(
      answers.reduce<Record<string, number>>(
        (acc, a) => ({ ...acc, [`${a.status} ${a.size}`]: (acc[`${a.status} ${a.size}`] ?? 0) + 1 }),
        {},
      ),
    )
      .map(([s, n]) => `${n}× ${s}`)
      .join(', ');
    console.log(
      `${drawn ? `drawn burst ${burst}` : 'JSON burst (no drawing)'}: ${seconds.toFixed(1)} s, answers ${counts}; ` +
        `RSS peak ${mb(peak)}, 3 s later ${mb(rss())}`,
    );
  }
  console.log(
    `peak RSS with drawing: ${mb(overall)} of the ${mb(budget)} budget (${((100 * overall) / budget).toFixed(0)}%): ${overall <= budget ? 'within' : 'OVER'}`,
  );

  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
  rmSync(dataDir, { recursive: true, force: true });
}
