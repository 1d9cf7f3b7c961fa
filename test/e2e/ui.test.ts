/**
 * The web UI in real Chromium (Debian's package, driven by playwright-core) against the real server on PGlite:
 * enroll through the file input, identify with boxes and names drawn, verify and compare, readable errors, delete
 * with a confirmation, and a phone-sized screen. Screenshots of the main screens land in test/e2e/screenshots/.
 */
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Locator, Page, Request } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HAS_CHROMIUM, launchChromium, SKIP_CHROMIUM_REASON, type Browser } from '../helpers/browser.js';
import { dataset, HAS_DATASETS, KNN, SKIP_DATASETS_REASON } from '../helpers/datasets.js';
import { form, startTestServer, type TestServer } from '../helpers/server.js';

const FR = (...p: string[]) => dataset('face-recognition-examples', ...p);
const OBAMA = [FR('test_images', 'obama.jpg'), FR('test_images', 'obama2.jpg')];
const OBAMA_AND_BIDEN = FR('knn_examples', 'test', 'obama_and_biden.jpg');
const CARS = dataset('dlib-examples', 'no-face', 'mmod_cars_test_image.jpg');
const SCREENSHOTS = path.resolve(import.meta.dirname, 'screenshots');
// Inference runs on WASM on a couple of busy cores: a few seconds per photo, more under load.
const INFERENCE_MS = 90_000;

const skipReason = !HAS_CHROMIUM ? SKIP_CHROMIUM_REASON : !HAS_DATASETS ? SKIP_DATASETS_REASON : undefined;
if (skipReason) console.warn(`skipping the web UI tests: ${skipReason}`);

/** Waits until the locator's text matches. */
async function waitForText(locator: Locator, pattern: RegExp, timeout = INFERENCE_MS): Promise<string> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const text = (await locator.count()) > 0 ? ((await locator.first().textContent()) ?? '') : '';
    if (pattern.test(text)) return text;
    if (Date.now() > deadline)
      throw new Error(`Timed out waiting for ${pattern} in ${locator.toString()}; last text: ${JSON.stringify(text)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until the locator matches exactly n elements. */
async function waitForCount(locator: Locator, n: number, timeout = INFERENCE_MS): Promise<void> {
  const deadline = Date.now() + timeout;
  while ((await locator.count()) !== n) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${n} of ${locator.toString()}; found ${await locator.count()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// These callbacks run in the page; the tests are type-checked without the DOM library.
interface PageImage {
  complete: boolean;
  naturalWidth: number;
}
declare const document: {
  querySelector(selector: string): PageImage | null;
  querySelectorAll(selector: string): Iterable<PageImage>;
  documentElement: { scrollWidth: number };
};
declare const window: { innerWidth: number };
declare const localStorage: { getItem(key: string): string | null };
declare function getComputedStyle(element: unknown): { borderTopColor: string };

const shot = (page: Page, name: string) => page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });

describe.skipIf(skipReason !== undefined)('web UI in Chromium', () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  const foreignRequests: string[] = [];

  const goto = async (view: string) => {
    await page.goto(`${server.url}/#/${view}`);
    await page.locator(`#view-${view}`).waitFor({ state: 'visible' });
  };
  const people = async () =>
    (await (await fetch(`${server.url}/v1/people`)).json()) as { total: number; people: Array<{ name: string; faceCount: number }> };

  beforeAll(async () => {
    await mkdir(SCREENSHOTS, { recursive: true });
    [server, browser] = await Promise.all([startTestServer('pglite'), launchChromium()]);
    page = await browser.context.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    // Works offline: every request stays on the server's own origin.
    page.on('request', (req) => {
      if (!req.url().startsWith(server.url) && !req.url().startsWith('blob:') && !req.url().startsWith('data:'))
        foreignRequests.push(req.url());
    });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  afterEach(() => {
    expect(pageErrors, 'uncaught errors in the page').toEqual([]);
    expect(foreignRequests, 'requests off the server').toEqual([]);
  });

  it('serves the app at / from the same process, with a content security policy', async () => {
    const res = await fetch(`${server.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
    expect((await fetch(`${server.url}/styles.css`)).headers.get('content-type')).toMatch(/text\/css/);
    expect((await fetch(`${server.url}/app.js`)).headers.get('content-type')).toMatch(/javascript/);

    await page.goto(`${server.url}/`);
    await waitForText(page.locator('#people-empty'), /No one is enrolled/);
    expect(await page.locator('.tabs a[aria-current="page"]').textContent()).toBe('People');
    await shot(page, 'people-empty');
  });

  it('enrolls a person from two photos, each checked before saving and marked after', async () => {
    await goto('enroll');
    await page.getByLabel('Name', { exact: true }).fill('Barack Obama');
    await page.locator('#enroll-files').setInputFiles(OBAMA);
    const photos = page.locator('#enroll-photos li');
    await waitForCount(photos, 2, 5_000);
    await waitForCount(page.locator('#enroll-photos li[data-state="ok"]'), 2);
    expect(await photos.allTextContents()).toEqual([expect.stringContaining('Face found'), expect.stringContaining('Face found')]);
    await shot(page, 'enroll-checked');

    await page.getByRole('button', { name: 'Enroll with 2 photos' }).click();
    await waitForText(page.locator('#enroll-result'), /Barack Obama is enrolled with 2 faces/);
    await waitForCount(page.locator('#enroll-photos li[data-state="enrolled"]'), 2, 5_000);
    await shot(page, 'enroll-saved');
    expect((await people()).people).toEqual([expect.objectContaining({ name: 'Barack Obama', faceCount: 2 })]);
  }, 240_000);

  it('says "No face found" for a photo of cars, before saving and after (nothing is stored)', async () => {
    await page.getByRole('button', { name: 'Enroll another person' }).click();
    await page.getByLabel('Name', { exact: true }).fill('Just cars');
    await page.locator('#enroll-files').setInputFiles(CARS);
    const photo = page.locator('#enroll-photos li');
    await waitForText(photo, /No face found/);
    expect(await photo.getAttribute('data-state')).toBe('bad');

    await page.getByRole('button', { name: 'Enroll with 1 photo' }).click();
    await waitForText(page.locator('#enroll-result'), /Nothing was saved/);
    expect(await photo.getAttribute('data-state')).toBe('rejected');
    expect(await photo.textContent()).toMatch(/No face found/);
    await shot(page, 'enroll-rejected');
    expect((await people()).total).toBe(1);
  }, 240_000);

  it('lists people with a face thumbnail, searchable by name, with their faces in a dialog', async () => {
    // The list and its thumbnails come from one /v1/people request: no request per person for their faces.
    const apiPaths: string[] = [];
    const onRequest = (req: Request) => {
      const { pathname } = new URL(req.url());
      if (pathname.startsWith('/v1/people') || pathname.startsWith('/v1/faces/')) apiPaths.push(pathname);
    };
    page.on('request', onRequest);
    await goto('people');
    const card = page.locator('.person-card', { hasText: 'Barack Obama' });
    await waitForText(card, /2 faces/, 10_000);
    await page.waitForFunction(() => {
      const img = document.querySelector('.person-card .avatar img');
      return Boolean(img && img.complete && img.naturalWidth > 0);
    });
    page.off('request', onRequest);
    expect(apiPaths).toEqual(['/v1/people', expect.stringMatching(/^\/v1\/faces\/[0-9a-f-]{36}\/thumbnail$/)]);
    // The gallery's size, identify's threshold in force and the false-match rate it expects.
    expect(await waitForText(page.locator('#people-threshold'), /identify threshold/, 10_000)).toMatch(
      /1 person, 2 faces · identify threshold 0\.\d{3} \(for its size at a 1\.0% target\) · expected false-match rate 1\.0% of strangers/,
    );
    await page.getByLabel('Search people by name').fill('nobody-like-this');
    await waitForText(page.locator('#people-empty'), /Nobody’s name contains/, 10_000);
    await page.getByLabel('Search people by name').fill('obam');
    await waitForCount(page.locator('.person-card'), 1, 10_000);
    await shot(page, 'people');

    await card.click();
    const dialog = page.locator('#person-dialog');
    await waitForText(dialog.locator('#person-name'), /Barack Obama/, 10_000);
    await waitForCount(dialog.locator('#person-faces img'), 2, 10_000);
    await page.waitForFunction(() =>
      [...document.querySelectorAll('#person-faces img')].every((img) => img.complete && img.naturalWidth > 0),
    );
    await shot(page, 'person');
    await dialog.getByRole('button', { name: 'Close' }).click();
  }, 120_000);

  it('identifies a photo: the name drawn on the known face and Unknown on the stranger', async () => {
    await goto('identify');
    await page.locator('#identify-file').setInputFiles(OBAMA_AND_BIDEN);
    const items = page.locator('#identify-faces li');
    await waitForCount(items, 3);

    // The list: one recognised with distance and confidence, two Unknown (Biden and the girl at the lower right).
    const known = items.filter({ hasText: 'Barack Obama' }).filter({ hasText: 'Recognised' });
    await waitForCount(known, 1, 1_000);
    expect(await known.textContent()).toMatch(/Distance\s*0\.\d{3}.*Confidence\s*\d+%/);
    await waitForCount(items.filter({ has: page.locator('.face-label', { hasText: /^Unknown$/ }) }), 2, 1_000);

    // The drawing: a labelled green box on the image for him, a red one marked Unknown for the stranger.
    const matchTag = page.locator('#identify-overlay .face-box.match .face-tag');
    expect(await matchTag.textContent()).toMatch(/Barack Obama/);
    expect(await page.locator('#identify-overlay .face-box.unknown .face-tag').first().textContent()).toMatch(/Unknown/);
    const image = (await page.locator('#identify-image').boundingBox())!;
    const box = (await page.locator('#identify-overlay .face-box.match').boundingBox())!;
    expect(box.width).toBeGreaterThan(20);
    expect(box.x).toBeGreaterThanOrEqual(image.x - 1);
    expect(box.x + box.width).toBeLessThanOrEqual(image.x + image.width + 1);
    const colour = await page.locator('#identify-overlay .face-box.match').evaluate((el) => getComputedStyle(el).borderTopColor);
    expect(colour).toBe('rgb(34, 197, 94)');
    // Near the result: the threshold used and where it came from (the gallery's, at the target FPIR).
    const note = page.locator('#identify-threshold-note');
    expect(await note.getAttribute('data-source')).toBe('target-fpir');
    expect(await note.textContent()).toMatch(/^Threshold 0\.\d{3}: set for this gallery’s size.*expected to get a name 1\.0% of the time/);
    await shot(page, 'identify');

    // The slider re-runs with another threshold: at its strictest, the outcome follows the distance.
    const distance = Number((await known.locator('dd').first().textContent())!);
    await page.getByLabel('Match threshold', { exact: true }).focus();
    await page.keyboard.press('Home');
    await waitForText(page.locator('#identify-status'), /Threshold 0\.30/);
    const tag = await page.locator('#identify-overlay .face-box').first().textContent();
    if (distance > 0.3) expect(await page.locator('#identify-overlay .face-box.match').count()).toBe(0);
    else expect(tag).toMatch(/Barack Obama/);
  }, 240_000);

  it('verifies a person from a new photo and compares two photos, with the distance', async () => {
    await goto('verify');
    await page.getByLabel('Person', { exact: true }).selectOption({ label: 'Barack Obama (2 faces)' });
    await page.locator('#verify-file').setInputFiles(FR('knn_examples', 'test', 'obama1.jpg'));
    await page.getByRole('button', { name: 'Verify', exact: true }).click();
    const verified = await waitForText(page.locator('#verify-result'), /Same person|Different people/);
    expect(verified).toMatch(/Same person.*looks like Barack Obama.*Distance\s*0\.\d{3}/);

    await page.locator('#compare-file-a').setInputFiles(OBAMA[0]!);
    await page.locator('#compare-file-b').setInputFiles(FR('test_images', 'biden.jpg'));
    await page.getByRole('button', { name: 'Compare', exact: true }).click();
    expect(await waitForText(page.locator('#compare-result'), /Same person|Different people/)).toMatch(
      /Different people.*Distance\s*\d\.\d{3}/,
    );
    await shot(page, 'verify');
  }, 240_000);

  it('refuses to verify a photo of several people in words, and uses the largest face when asked', async () => {
    await goto('verify');
    await page.getByLabel('Person', { exact: true }).selectOption({ label: 'Barack Obama (2 faces)' });
    await page.locator('#verify-file').setInputFiles(FR('knn_examples', 'test', 'obama_and_biden.jpg'));
    await page.getByRole('button', { name: 'Verify', exact: true }).click();
    expect(await waitForText(page.locator('#verify-result .message.error'), /./)).toMatch(/several faces/);

    await page.getByLabel('If the photo shows several people, use the largest face').check();
    await page.getByRole('button', { name: 'Verify', exact: true }).click();
    expect(await waitForText(page.locator('#verify-result'), /Same person|Different people/)).toMatch(
      /The largest of the \d+ faces in this photo (does not look|looks) like Barack Obama/,
    );
  }, 240_000);

  it('explains a photo without a face in words, not a blank screen', async () => {
    await goto('identify');
    await page.locator('#identify-file').setInputFiles(CARS);
    const alert = page.locator('#identify-status .message.error');
    expect(await waitForText(alert, /./)).toMatch(/No face was found in this photo/);
    await shot(page, 'identify-no-face');
  }, 120_000);

  it('keeps the API key in localStorage and explains a key the server refuses', async () => {
    await goto('settings');
    await page.getByLabel('API key').fill('not-a-real-key');
    await page.getByRole('button', { name: 'Save' }).click();
    expect(await page.evaluate(() => localStorage.getItem('facerec.apiKey'))).toBe('not-a-real-key');
    await page.reload();
    expect(await page.getByLabel('API key').inputValue()).toBe('not-a-real-key');
    await page.getByRole('button', { name: 'Test connection' }).click();
    expect(await waitForText(page.locator('#settings-status'), /./, 10_000)).toMatch(/needs an API key, or the key given is not valid/);
    await shot(page, 'settings-bad-key');

    await page.getByLabel('API key').fill('');
    await page.getByRole('button', { name: 'Save' }).click();
    expect(await page.evaluate(() => localStorage.getItem('facerec.apiKey'))).toBeNull();
    await page.getByRole('button', { name: 'Test connection' }).click();
    await waitForText(page.locator('#settings-status'), /Connected/, 10_000);
    await shot(page, 'settings');
  }, 60_000);

  it('renames a person, adds a face from a photo and removes it again', async () => {
    await goto('people');
    await page.locator('.person-card', { hasText: 'Barack Obama' }).click();
    const dialog = page.locator('#person-dialog');
    const faces = dialog.locator('#person-faces img');
    await waitForCount(faces, 2, 10_000);

    await dialog.getByRole('button', { name: 'Rename' }).click();
    await dialog.getByLabel('New name').fill('Barack H. Obama');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await waitForText(dialog.locator('#person-name'), /^Barack H\. Obama$/, 10_000);
    expect((await people()).people[0]?.name).toBe('Barack H. Obama');

    await dialog.locator('#person-add-files').setInputFiles(FR('knn_examples', 'test', 'obama1.jpg'));
    await waitForText(dialog.locator('#person-add-result'), /Added 1 face/);
    await waitForCount(faces, 3, 10_000);
    await shot(page, 'person-added');

    await dialog.getByRole('button', { name: 'Remove face 3' }).click();
    await page.locator('#confirm-dialog').getByRole('button', { name: 'Remove face' }).click();
    await waitForCount(faces, 2, 10_000);
    expect((await people()).people[0]?.faceCount).toBe(2);
    await dialog.getByRole('button', { name: 'Close' }).click();
  }, 120_000);

  it('deletes the person after a confirmation that says it erases all their faces', async () => {
    await goto('people');
    await page.locator('.person-card', { hasText: 'Barack H. Obama' }).click();
    await waitForCount(page.locator('#person-faces img'), 2, 10_000);
    await page.getByRole('button', { name: 'Delete person' }).click();
    const confirm = page.locator('#confirm-dialog');
    await confirm.waitFor({ state: 'visible' });
    expect(await confirm.textContent()).toMatch(/erases Barack H\. Obama and all 2 faces/);
    await shot(page, 'delete-confirm');
    await confirm.getByRole('button', { name: 'Delete for good' }).click();
    await waitForText(page.locator('#people-empty'), /No one is enrolled/, 10_000);
    expect((await people()).total).toBe(0);
  }, 60_000);

  it('renames and deletes a person in a gallery other than the default one', async () => {
    expect(
      (
        await fetch(`${server.url}/v1/galleries`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ name: 'staff' }),
        })
      ).status,
    ).toBe(201);
    const photos = await Promise.all(['biden.jpg', 'biden2.jpg'].map((f) => readFile(KNN('train', 'biden', f))));
    const enrolled = await fetch(`${server.url}/v1/people`, {
      method: 'POST',
      body: form({ images: photos }, { name: 'Joe Biden', gallery: 'staff' }),
    });
    expect(enrolled.status).toBe(201);
    const staff = async () =>
      (await (await fetch(`${server.url}/v1/people?gallery=staff`)).json()) as { total: number; people: Array<{ name: string }> };

    await goto('people');
    await page.reload(); // the picker lists the galleries that existed when the page loaded
    await page.locator('#gallery').selectOption('staff');
    await page.locator('.person-card', { hasText: 'Joe Biden' }).click();
    const dialog = page.locator('#person-dialog');
    await dialog.getByRole('button', { name: 'Rename' }).click();
    await dialog.getByLabel('New name').fill('Joseph R. Biden');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await waitForText(dialog.locator('#person-name'), /^Joseph R\. Biden$/, 10_000);
    expect((await staff()).people[0]?.name).toBe('Joseph R. Biden');

    await page.getByRole('button', { name: 'Delete person' }).click();
    await page.locator('#confirm-dialog').getByRole('button', { name: 'Delete for good' }).click();
    await waitForCount(page.locator('.person-card'), 0, 10_000);
    expect((await staff()).total).toBe(0);
    await page.locator('#gallery').selectOption('default');
  }, 120_000);

  it('fits a phone-sized screen', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const view of ['people', 'enroll', 'identify', 'verify', 'settings']) {
      await goto(view);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, `${view} scrolls sideways`).toBeLessThanOrEqual(0);
      expect(await page.locator(`.tabs a[data-view="${view}"]`).isVisible()).toBe(true);
    }
    await goto('identify');
    await page.locator('#identify-file').setInputFiles(OBAMA_AND_BIDEN);
    await waitForCount(page.locator('#identify-faces li'), 3);
    expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
    await shot(page, 'phone-identify');
    await goto('enroll');
    await shot(page, 'phone-enroll');
    await page.emulateMedia({ colorScheme: 'dark' });
    await goto('identify');
    await shot(page, 'phone-identify-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  }, 180_000);
});
