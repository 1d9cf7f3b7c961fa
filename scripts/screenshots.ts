/**
 * `npm run screenshots`: the web UI's main pages at desktop and phone sizes, for the manual (docs/screenshots/,
 * shown in docs/ui.md). Starts the real server on a throwaway embedded database, enrolls people from the shared
 * datasets' photos over the HTTP API, and drives Debian's Chromium with playwright-core (never a downloaded browser).
 *
 *   npm run screenshots                    # all of them
 *   npm run screenshots -- identify        # those whose name contains "identify"
 *
 * Needs /usr/bin/chromium (or CHROMIUM_PATH) and ../shared/datasets (or FACEREC_DATASETS). PNGs are palette-encoded
 * by sharp to keep the repository small.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { loadConfig } from '../src/config/index.js';
import { startServer } from '../src/http/server.js';
import { HAS_CHROMIUM, launchChromium, SKIP_CHROMIUM_REASON } from '../test/helpers/browser.js';
import { dataset, HAS_DATASETS, SKIP_DATASETS_REASON } from '../test/helpers/datasets.js';

const OUT = path.resolve(import.meta.dirname, '../docs/screenshots');
const DESKTOP = { width: 1280, height: 860 };
const PHONE = { width: 390, height: 844 };
// Inference on a busy machine: a few seconds per photo.
const INFERENCE_MS = 120_000;

const FR = (...p: string[]) => dataset('face-recognition-examples', ...p);
const BBT = (...p: string[]) => dataset('bbt', ...p);
const CAST = ['amy', 'bernadette', 'howard', 'leonard', 'penny', 'raj', 'sheldon', 'stuart'];

interface Shot {
  name: string;
  viewport: { width: number; height: number };
  /** Opens the page and brings it to the state shown. */
  setUp(page: Page, url: string): Promise<void>;
  /** The whole page (true) or the viewport. */
  fullPage?: boolean;
}

const open = async (page: Page, url: string, view: string, gallery: string) => {
  // The gallery picker remembers its choice in localStorage: set before the app reads it.
  await page.goto(`${url}/#/${view}`);
  await page.evaluate((g) => {
    const storage = (globalThis as unknown as { localStorage: { setItem(k: string, v: string): void; removeItem(k: string): void } })
      .localStorage;
    if (g === 'default') storage.removeItem('facerec.gallery');
    else storage.setItem('facerec.gallery', g);
  }, gallery);
  await page.reload();
  await page.locator(`#view-${view}`).waitFor({ state: 'visible' });
};

const identified = async (page: Page, file: string, faces: number) => {
  await page.locator('#identify-file').setInputFiles(file);
  await page
    .locator('#identify-faces li')
    .nth(faces - 1)
    .waitFor({ timeout: INFERENCE_MS });
  await page.locator('#identify-overlay .face-tag').last().waitFor({ state: 'visible' });
};

const peopleWithPictures = async (page: Page, n: number) => {
  await page
    .locator('.person-card')
    .nth(n - 1)
    .waitFor();
  await page.waitForFunction(
    (count) =>
      (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }).document.querySelectorAll(
        '.person-card .avatar img',
      ).length >= count,
    n,
    { timeout: 30_000 },
  );
};

const groupChosen = async (page: Page) => {
  await page.getByLabel('Name', { exact: true }).fill('Joe Biden');
  await page.locator('#enroll-files').setInputFiles(FR('knn_examples', 'test', 'obama_and_biden.jpg'));
  await page.getByRole('button', { name: 'Face 1 of 3, from the left' }).click({ timeout: INFERENCE_MS });
  await page.getByText('Face 1 of 3 chosen').waitFor();
};

const SHOTS: Shot[] = [
  {
    name: 'people',
    viewport: DESKTOP,
    setUp: async (page, url) => {
      await open(page, url, 'people', 'Cast');
      await peopleWithPictures(page, CAST.length);
    },
  },
  {
    name: 'identify',
    viewport: DESKTOP,
    fullPage: true,
    setUp: async (page, url) => {
      await open(page, url, 'identify', 'default');
      await identified(page, FR('knn_examples', 'test', 'obama_and_biden.jpg'), 3);
    },
  },
  {
    name: 'identify-group',
    viewport: DESKTOP,
    setUp: async (page, url) => {
      await open(page, url, 'identify', 'Cast');
      await identified(page, BBT('group', 'bbt4.jpg'), 6);
    },
  },
  {
    name: 'enroll-group-photo',
    viewport: DESKTOP,
    fullPage: true,
    setUp: async (page, url) => {
      await open(page, url, 'enroll', 'default');
      await groupChosen(page);
    },
  },
  {
    name: 'enroll-same-name',
    viewport: DESKTOP,
    setUp: async (page, url) => {
      await open(page, url, 'enroll', 'default');
      await page.getByLabel('Name', { exact: true }).fill('Barack Obama');
      await page.locator('#enroll-files').setInputFiles(FR('knn_examples', 'test', 'obama1.jpg'));
      await page.getByText('Face found').waitFor({ timeout: INFERENCE_MS });
      await page.getByRole('button', { name: 'Enroll with 1 photo' }).click();
      await page.locator('#confirm-dialog').waitFor({ state: 'visible' });
    },
  },
  {
    name: 'verify',
    viewport: DESKTOP,
    fullPage: true,
    setUp: async (page, url) => {
      await open(page, url, 'verify', 'default');
      await page.getByLabel('Person', { exact: true }).selectOption({ label: 'Barack Obama (2 faces)' });
      await page.locator('#verify-file').setInputFiles(FR('knn_examples', 'test', 'obama1.jpg'));
      await page.getByRole('button', { name: 'Verify', exact: true }).click();
      await page.locator('#compare-file-a').setInputFiles(FR('test_images', 'obama.jpg'));
      await page.locator('#compare-file-b').setInputFiles(FR('test_images', 'biden.jpg'));
      await page.getByRole('button', { name: 'Compare', exact: true }).click();
      await page.locator('#verify-result .verdict').waitFor({ timeout: INFERENCE_MS });
      await page.locator('#compare-result .verdict').waitFor({ timeout: INFERENCE_MS });
    },
  },
  {
    name: 'galleries',
    viewport: DESKTOP,
    fullPage: true,
    setUp: async (page, url) => {
      await open(page, url, 'galleries', 'default');
      await page.locator('#gallery-list li').nth(1).waitFor();
    },
  },
  {
    name: 'phone-identify-group',
    viewport: PHONE,
    fullPage: true,
    setUp: async (page, url) => {
      await open(page, url, 'identify', 'Cast');
      await identified(page, BBT('group', 'bbt4.jpg'), 6);
    },
  },
  {
    name: 'phone-people',
    viewport: PHONE,
    setUp: async (page, url) => {
      await open(page, url, 'people', 'Cast');
      await peopleWithPictures(page, 4);
    },
  },
  {
    name: 'phone-enroll-group-photo',
    viewport: PHONE,
    fullPage: true,
    setUp: async (page, url) => {
      await open(page, url, 'enroll', 'default');
      await groupChosen(page);
    },
  },
];

async function enroll(url: string, gallery: string, name: string, files: string[]): Promise<void> {
  const form = new FormData();
  form.append('name', name);
  form.append('gallery', gallery);
  form.append('onReject', 'skip');
  for (const file of files) form.append('images', new Blob([await readFile(file)]), path.basename(file));
  const res = await fetch(`${url}/v1/people`, { method: 'POST', body: form });
  if (res.status !== 201) throw new Error(`enrolling ${name}: ${res.status} ${await res.text()}`);
}

async function main(): Promise<void> {
  if (!HAS_CHROMIUM || !HAS_DATASETS) {
    console.error(`npm run screenshots needs Chromium and the datasets: ${!HAS_CHROMIUM ? SKIP_CHROMIUM_REASON : SKIP_DATASETS_REASON}`);
    process.exit(1);
  }
  const only = process.argv.slice(2);
  const shots = SHOTS.filter((s) => only.length === 0 || only.some((o) => s.name.includes(o)));
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'facerec-screenshots-'));
  const config = loadConfig({ FACEREC_LOG_LEVEL: 'silent', FACEREC_DATA_DIR: dataDir });
  const server = await startServer(config, { db: { dataDir }, port: 0, host: '127.0.0.1', workers: 1, logger: pino({ level: 'silent' }) });
  const browser = await launchChromium({ viewport: DESKTOP });
  try {
    console.log(`server on ${server.url}, data in ${dataDir}; enrolling…`);
    await enroll(server.url, 'default', 'Barack Obama', [FR('test_images', 'obama.jpg'), FR('test_images', 'obama2.jpg')]);
    await enroll(server.url, 'default', 'Joe Biden', [
      FR('knn_examples', 'train', 'biden', 'biden.jpg'),
      FR('knn_examples', 'train', 'biden', 'biden2.jpg'),
    ]);
    await fetch(`${server.url}/v1/galleries`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'Cast' }),
    });
    for (const person of CAST)
      await enroll(
        server.url,
        'Cast',
        person[0]!.toUpperCase() + person.slice(1),
        [1, 2, 3].map((i) => BBT('identities', person, `${person}${i}.png`)),
      );
    await mkdir(OUT, { recursive: true });
    for (const shot of shots) {
      const page = await browser.context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (err) => errors.push(err.message));
      try {
        await page.setViewportSize(shot.viewport);
        await page.emulateMedia({ colorScheme: 'light', reducedMotion: 'reduce' });
        await shot.setUp(page, server.url);
        // Toasts come and go: not in a picture meant to last.
        await page.evaluate(() => {
          const doc = (globalThis as unknown as { document: { querySelector(s: string): { style: { display: string } } | null } }).document;
          const toasts = doc.querySelector('#toasts');
          if (toasts) toasts.style.display = 'none';
        });
        const png = await page.screenshot({ fullPage: shot.fullPage ?? false, animations: 'disabled' });
        const file = path.join(OUT, `${shot.name}.png`);
        await writeFile(file, await sharp(png).png({ palette: true, quality: 90, effort: 10 }).toBuffer());
        if (errors.length) throw new Error(`errors in the page: ${errors.join('; ')}`);
        console.log(`  ${path.relative(process.cwd(), file)}`);
      } finally {
        await page.close();
      }
    }
  } finally {
    await browser.close();
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
