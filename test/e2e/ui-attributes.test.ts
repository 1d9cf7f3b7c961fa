/**
 * The web UI shows each face's estimated age, gender and expression on identify's results and on enroll's check of a
 * photo (a /v1/detect result), in real Chromium against the real server; it asks for them with `attributes=all`.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HAS_CHROMIUM, launchChromium, SKIP_CHROMIUM_REASON, waitForCount as waitForCountOf, type Browser } from '../helpers/browser.js';
import { dataset, HAS_DATASETS, SKIP_DATASETS_REASON } from '../helpers/datasets.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const OBAMA_AND_BIDEN = dataset('face-recognition-examples', 'knn_examples', 'test', 'obama_and_biden.jpg');
const SURPRISED = dataset('bbt', 'misc', 'surprised.jpg');
const SCREENSHOTS = path.resolve(import.meta.dirname, 'screenshots');
const INFERENCE_MS = 90_000;
const ATTRIBUTES = /^~\d+ y · (female|male) \d+% · (neutral|happy|sad|angry|fearful|disgusted|surprised) \d+%$/;

const skipReason = !HAS_CHROMIUM ? SKIP_CHROMIUM_REASON : !HAS_DATASETS ? SKIP_DATASETS_REASON : undefined;
if (skipReason) console.warn(`skipping the web UI attribute tests: ${skipReason}`);

const waitForCount = (locator: Locator, n: number, timeout = INFERENCE_MS) => waitForCountOf(locator, n, timeout);

describe.skipIf(skipReason !== undefined)('face attributes in the web UI, in Chromium', () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  /** The faces of every JSON answer the page got, by path. */
  const answered: Array<{ path: string; faces: Array<{ attributes?: object }> }> = [];

  const goto = async (view: string) => {
    await page.goto(`${server.url}/#/${view}`);
    await page.locator(`#view-${view}`).waitFor({ state: 'visible' });
  };

  beforeAll(async () => {
    await mkdir(SCREENSHOTS, { recursive: true });
    [server, browser] = await Promise.all([startTestServer('pglite'), launchChromium()]);
    page = await browser.context.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('response', async (res) => {
      if (res.request().method() !== 'POST' || !res.ok()) return;
      const body = (await res.json().catch(() => ({}))) as { faces?: Array<{ attributes?: object }> };
      if (body.faces) answered.push({ path: new URL(res.url()).pathname, faces: body.faces });
    });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  afterEach(() => {
    expect(pageErrors, 'uncaught errors in the page').toEqual([]);
  });

  /** Every answer of `route` the page got had attributes on every face: the page asked for them (the server answers them only then). */
  const askedForAll = (route: string) => {
    const replies = answered.filter((a) => a.path === route);
    expect(replies.length).toBeGreaterThan(0);
    for (const { faces } of replies)
      for (const face of faces) expect(Object.keys(face.attributes ?? {})).toEqual(['age', 'gender', 'expression']);
  };

  it('shows age, gender and expression under every face identified', async () => {
    await goto('identify');
    await page.locator('#identify-file').setInputFiles(OBAMA_AND_BIDEN);
    const items = page.locator('#identify-faces li');
    await waitForCount(items, 3);
    const lines = items.locator('.face-attributes');
    await waitForCount(lines, 3, 1_000);
    for (const text of await lines.allTextContents()) expect(text).toMatch(ATTRIBUTES);
    // The two men of the photo are the two largest faces, listed first.
    expect(await lines.nth(0).textContent()).toMatch(/ male /);
    expect(await lines.nth(1).textContent()).toMatch(/ male /);
    expect(await lines.first().getAttribute('title')).toMatch(/Estimated/);
    askedForAll('/v1/identify');
    await page.screenshot({ path: path.join(SCREENSHOTS, 'identify-attributes.png'), fullPage: true });
  }, 180_000);

  it('shows them on enroll’s check of a photo', async () => {
    await goto('enroll');
    await page.locator('#enroll-files').setInputFiles(SURPRISED);
    await waitForCount(page.locator('#enroll-photos li[data-state="ok"]'), 1);
    const line = page.locator('#enroll-photos li .face-attributes');
    await waitForCount(line, 1, 1_000);
    expect(await line.textContent()).toMatch(ATTRIBUTES);
    expect(await line.textContent()).toMatch(/ surprised \d+%$/);
    askedForAll('/v1/detect');
  }, 180_000);
});
