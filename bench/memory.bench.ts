/**
 * The server's memory under bursts of large photos (issue 12): RSS at rest, its peak during a burst of concurrent
 * 24-49 MP uploads (half with faces, half without), and where it settles afterwards, over several bursts (a leak
 * grows burst after burst; a bounded server settles at the same level).
 *   npm run bench:memory [-- --workers 2 --concurrency 24 --bursts 3]
 *
 * The server runs as deployed, `node dist/cli/main.js serve` in its own process (built first; PGlite in a temporary
 * directory); its RSS and peak (VmHWM) are read from /proc. The photos are made from a face-api demo sample,
 * upscaled, and from blank canvases.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
  },
});

// The server as deployed: compiled JavaScript, its own process, PGlite in a temporary directory, logs at warn.
execFileSync('npm', ['run', '-s', 'build'], { cwd: ROOT, stdio: 'inherit' });
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'facerec-bench-memory-'));
const port = 3000 + Math.floor(Math.random() * 20_000);
const url = `http://127.0.0.1:${port}`;
const child = spawn(process.execPath, ['dist/cli/main.js', 'serve'], {
  cwd: ROOT,
  env: {
    ...process.env,
    FACEREC_PORT: String(port),
    FACEREC_HOST: '127.0.0.1',
    FACEREC_DATA_DIR: dataDir,
    FACEREC_WORKERS: values.workers,
    FACEREC_LOG_LEVEL: 'error',
  },
  stdio: ['ignore', 'ignore', 'inherit'],
});
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
  console.log(`\nworkers ${values.workers}, bursts of ${values.concurrency} concurrent identify requests`);
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
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
  rmSync(dataDir, { recursive: true, force: true });
}
