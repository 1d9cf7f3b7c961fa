/**
 * Faces seen in the web UI, in real Chromium against the real server and engine on real LFW photos (issues 23, 24):
 * the Unknown faces page of an empty gallery (nothing kept by default, the switch and its privacy note), a scan of
 * photos of four people from the browser in batches, the groups it makes, naming one as a new person and one as a
 * person the gallery has (asked first), merging two, taking a face out, ignoring and bringing back; the gallery's keep
 * setting in Galleries; and, in Identify, "Not X?" and Confirm on a kept face. What the page shows is checked against
 * the API. Screenshots land in test/e2e/screenshots/.
 */
import { readdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HAS_CHROMIUM, launchChromium, SKIP_CHROMIUM_REASON, waitForText as waitForTextOf, type Browser } from '../helpers/browser.js';
import { dataset, HAS_DATASETS, SKIP_DATASETS_REASON } from '../helpers/datasets.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const LFW = (...p: string[]) => dataset('lfw-view1', 'images', ...p);
/** The `n`-th photo (from 1) of a person in LFW View 1, whose photo numbers have gaps. */
const photo = (name: string, n: number) => LFW(name, readdirSync(LFW(name)).sort()[n - 1]!);
// Four people with five photos each (their sixth and seventh kept back for Identify), and a stranger seen once.
const PEOPLE = ['Jennifer_Lopez', 'Paul_Wolfowitz', 'Hans_Blix', 'Angelina_Jolie'];
const SCANNED = [...PEOPLE.flatMap((name) => [1, 2, 3, 4, 5].map((n) => photo(name, n))), photo('AJ_Cook', 1)];
const GALLERY = 'events';
const SCREENSHOTS = path.resolve(import.meta.dirname, 'screenshots');
// Inference runs on a couple of busy cores: seconds per photo, more under load.
const INFERENCE_MS = 180_000;
const HEAVY = { timeout: 600_000 };

const skipReason = !HAS_CHROMIUM ? SKIP_CHROMIUM_REASON : !HAS_DATASETS ? SKIP_DATASETS_REASON : undefined;
if (skipReason) console.warn(`skipping the faces-seen web UI tests: ${skipReason}`);

/** The person an LFW source names (its file name without the photo number). */
const personOf = (source: string) => path.basename(source).replace(/_\d+\.jpg$/, '');

const waitForText = (locator: Locator, pattern: RegExp, timeout = INFERENCE_MS) => waitForTextOf(locator, pattern, timeout);

// These callbacks run in the page; the tests are type-checked without the DOM library.
declare const document: {
  querySelectorAll(selector: string): { length: number };
  documentElement: { scrollWidth: number };
};
declare const window: { innerWidth: number };
declare const localStorage: { setItem(key: string, value: string): void };

interface ClusterJson {
  id: string;
  size: number;
  photoCount: number;
  ignored: boolean;
  samples: Array<{ id: string; photo: { source: string } }>;
}

describe.skipIf(skipReason !== undefined)('faces seen in the web UI (Chromium, real engine)', () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  const foreignRequests: string[] = [];
  const scanRequests: string[] = [];

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the API's JSON, checked by the assertions
  const apiJson = async (method: string, url: string, json?: unknown): Promise<any> => {
    const res = await fetch(`${server.url}${url}`, {
      method,
      headers: json === undefined ? {} : { 'Content-Type': 'application/json' },
      body: json === undefined ? undefined : JSON.stringify(json),
    });
    expect(res.status, `${method} ${url}`).toBeLessThan(300);
    return res.json();
  };
  const clusters = async (ignored = false): Promise<ClusterJson[]> =>
    (await apiJson('GET', `/v1/clusters?gallery=${GALLERY}&samples=10000${ignored ? '&ignored=true' : ''}`)).clusters;
  /** Who a group is: the person most of its faces are photos of. */
  const whoIs = (c: ClusterJson) => {
    const votes = new Map<string, number>();
    for (const s of c.samples) votes.set(personOf(s.photo.source), (votes.get(personOf(s.photo.source)) ?? 0) + 1);
    return [...votes.entries()].sort((a, b) => b[1] - a[1])[0]![0];
  };
  /** The largest group of a person, by the API. */
  const groupOf = async (name: string) => {
    const mine = (await clusters()).filter((c) => whoIs(c) === name).sort((a, b) => b.size - a.size);
    expect(mine.length, `a group of ${name}`).toBeGreaterThan(0);
    return mine[0]!;
  };
  const card = (id: string) => page.locator(`.cluster-card[data-cluster="${id}"]`);
  const gallery = async () =>
    ((await apiJson('GET', '/v1/galleries')).galleries as Array<{ name: string; keepSightings: string }>).find((g) => g.name === GALLERY)!;
  const peopleNamed = async (name: string) =>
    (
      (await apiJson('GET', `/v1/people?gallery=${GALLERY}&search=${encodeURIComponent(name)}`)).people as Array<{
        id: string;
        name: string;
        faceCount: number;
      }>
    ).filter((p) => p.name === name);
  const shot = (name: string) => page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });

  /** Opens a page of the app in the test's gallery (the picker remembers it in localStorage). */
  const goto = async (view: string) => {
    await page.goto(`${server.url}/#/${view}`);
    await page.evaluate((g) => localStorage.setItem('facerec.gallery', g), GALLERY);
    await page.reload();
    await page.locator(`#view-${view}`).waitFor({ state: 'visible' });
  };
  const cardsShown = () => page.locator('#unknown-grid .cluster-card');

  beforeAll(async () => {
    await mkdir(SCREENSHOTS, { recursive: true });
    [server, browser] = await Promise.all([startTestServer('pglite', {}, { workers: 2 }), launchChromium()]);
    page = await browser.context.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('request', (req) => {
      if (!req.url().startsWith(server.url) && !req.url().startsWith('blob:') && !req.url().startsWith('data:'))
        foreignRequests.push(req.url());
      if (req.method() === 'POST' && new URL(req.url()).pathname === '/v1/scan') scanRequests.push(req.url());
    });
    await apiJson('POST', '/v1/galleries', { name: GALLERY });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  afterEach(() => {
    expect(pageErrors, 'uncaught errors in the page').toEqual([]);
    expect(foreignRequests, 'requests off the server').toEqual([]);
  });

  it('explains an empty gallery: no face is kept by default, the switch to keep them, with the privacy note and retention', async () => {
    const settings = await apiJson('GET', '/v1/settings');
    expect(settings.sightings).toMatchObject({ retentionDays: 30, minClusterSize: 2 });
    expect((await gallery()).keepSightings).toBe('off');

    await goto('unknown');
    expect(await page.title()).toMatch(/^Unknown faces/);
    await waitForText(page.locator('#unknown-empty'), /No unknown faces to name in gallery events/, 30_000);
    expect(await page.locator('#unknown-empty').innerText()).toMatch(/keeps no face it sees unless asked/);
    const toggle = page.getByRole('switch', { name: 'Keep the faces that Identify cannot name' });
    expect(await toggle.isChecked()).toBe(false);
    await waitForText(page.locator('#keep-privacy'), /biometric data.*deleted 30 days after it was seen/, 10_000);
    await waitForText(page.locator('#keep-state'), /Off: Identify keeps no faces in gallery events/, 10_000);
    expect(await page.locator('#unknown-grid .cluster-card').count()).toBe(0);
    await shot('unknown-faces-empty');
  });

  it(
    'scans photos from the browser in batches with progress, and shows the groups largest first with their faces and photos',
    HEAVY,
    async () => {
      await page.locator('#scan-files').setInputFiles(SCANNED);
      // Progress while it runs, batch by batch.
      await waitForText(page.locator('#scan-status'), /Batch \d of 3: photos/, 30_000);
      expect(await page.locator('#scan-bar').isVisible()).toBe(true);
      const summary = await waitForText(page.locator('#scan-result'), /21 photos scanned/);
      expect(summary).toMatch(/21 new, 0 seen before/);
      expect(scanRequests.length, 'sent in batches of 8').toBe(3);
      await page.locator('#scan-progress').waitFor({ state: 'hidden' });

      // The groups, as the API has them: each of the four people has one of 3 faces or more, the stranger none.
      const listed = await clusters();
      expect(listed.length).toBeGreaterThanOrEqual(4);
      for (const name of PEOPLE) expect((await groupOf(name)).size, name).toBeGreaterThanOrEqual(3);
      expect(listed.map(whoIs)).not.toContain('AJ_Cook');

      // The page shows them all, largest first, each with its faces, how alike they are and where they were seen.
      await expect.poll(() => cardsShown().count(), { timeout: 30_000 }).toBe(listed.length);
      const sizes = await cardsShown().evaluateAll((els) => els.map((el) => Number(el.getAttribute('data-size'))));
      expect(sizes).toEqual([...sizes].sort((a, b) => b - a));
      const lopez = await groupOf('Jennifer_Lopez');
      const lopezCard = card(lopez.id);
      expect(await lopezCard.locator('.cluster-title').innerText()).toMatch(new RegExp(`${lopez.size} faces`));
      await expect.poll(() => lopezCard.locator('.mosaic img').count(), { timeout: 30_000 }).toBe(Math.min(6, lopez.size));
      expect(await lopezCard.locator('.cohesion').innerText()).toMatch(/look alike|Mixed/);
      expect(await lopezCard.locator('.sources').innerText()).toMatch(/^Seen in Jennifer_Lopez_\d+\.jpg/);
      expect(await page.locator('#unknown-count').innerText()).toMatch(new RegExp(`${listed.length} groups of faces not enrolled`));
      await shot('unknown-faces');

      // Scanned again: every photo is skipped, nothing changes.
      await page.locator('#scan-files').setInputFiles(SCANNED);
      expect(await waitForText(page.locator('#scan-result'), /scanned/)).toMatch(/0 new, 21 seen before \(skipped\)/);
      expect((await clusters()).length).toBe(listed.length);
    },
  );

  it('merges two groups, takes a wrong face out of the merged group, ignores it and brings it back', HEAVY, async () => {
    const blix = await groupOf('Hans_Blix');
    const jolie = await groupOf('Angelina_Jolie');
    await goto('unknown');
    await card(blix.id).waitFor();
    // Two groups selected by keyboard: the merge bar counts them.
    await card(blix.id).getByRole('checkbox').focus();
    await page.keyboard.press('Space');
    expect(await page.locator('#unknown-selected').innerText()).toMatch(/1 group selected: select another/);
    expect(await page.locator('#unknown-merge').isDisabled()).toBe(true);
    await card(jolie.id).getByRole('checkbox').check();
    await waitForText(page.locator('#unknown-selected'), new RegExp(`2 groups selected, ${blix.size + jolie.size} faces`), 5_000);
    await page.locator('#unknown-merge').click();
    await waitForText(page.locator('#confirm-dialog'), /Merge 2 groups\?/, 5_000);
    await page.locator('#confirm-dialog').getByRole('button', { name: 'Merge 2 groups' }).click();
    await waitForText(page.locator('#unknown-result'), new RegExp(`Merged: one group of ${blix.size + jolie.size} faces`));

    // Into the larger of the two; the other is gone.
    const after0 = await clusters();
    const merged = after0.find((c) => c.id === blix.id || c.id === jolie.id)!;
    expect(after0.filter((c) => c.id === blix.id || c.id === jolie.id)).toHaveLength(1);
    expect(merged.size).toBe(blix.size + jolie.size);
    expect(new Set(merged.samples.map((s) => personOf(s.photo.source)))).toEqual(new Set(['Hans_Blix', 'Angelina_Jolie']));

    // Opened: all its faces and photos; one of the wrong person's faces taken out.
    await card(merged.id).getByRole('button', { name: 'Open', exact: true }).click();
    const sheet = page.locator('#cluster-dialog');
    await waitForText(page.locator('#cluster-title'), new RegExp(`A group of ${merged.size} faces`), 30_000);
    expect(await sheet.locator('#cluster-faces li').count()).toBe(merged.size);
    expect(await sheet.locator('#cluster-photos li').count()).toBe(merged.photoCount);
    const wrong = merged.samples.find((s) => personOf(s.photo.source) === 'Angelina_Jolie')!;
    await sheet.locator(`#cluster-faces li[data-sighting="${wrong.id}"] .remove`).click();
    await waitForText(page.locator('#cluster-title'), new RegExp(`A group of ${merged.size - 1} faces`), 30_000);
    expect(await sheet.locator(`li[data-sighting="${wrong.id}"]`).count()).toBe(0);
    const after = (await clusters()).find((c) => c.id === merged.id)!;
    expect(after.size).toBe(merged.size - 1);
    expect(after.samples.map((s) => s.id)).not.toContain(wrong.id);
    await shot('unknown-faces-group');
    await page.keyboard.press('Escape');
    await sheet.waitFor({ state: 'hidden' });

    // Ignored: gone from the suggestions, listed with the ignored ones, and back on request.
    await card(merged.id).getByRole('button', { name: 'Ignore' }).click();
    await waitForText(page.locator('#unknown-result'), /is ignored: it is not suggested again/);
    await card(merged.id).waitFor({ state: 'detached' });
    expect((await clusters(true)).map((c) => c.id)).toEqual([merged.id]);
    await waitForText(page.locator('#unknown-ignored'), /Show ignored \(1\)/, 10_000);
    await page.locator('#unknown-ignored').click();
    expect(await page.locator('#unknown-ignored').getAttribute('aria-pressed')).toBe('true');
    await card(merged.id).getByRole('button', { name: 'Bring back' }).click();
    await waitForText(page.locator('#unknown-result'), /back among the suggestions/);
    expect(await clusters(true)).toEqual([]);
    await page.locator('#unknown-ignored').click();
    await card(merged.id).waitFor();
  });

  it('names a group as a new person, saying how many faces were enrolled and labelled', HEAVY, async () => {
    const lopez = await groupOf('Jennifer_Lopez');
    await goto('unknown');
    await card(lopez.id).getByRole('button', { name: 'Name…' }).click();
    const dialog = page.locator('#name-dialog');
    await dialog.waitFor();
    expect(await dialog.innerText()).toMatch(new RegExp(`${lopez.size} faces\\. The clearest`));
    // Keyboard: the name field has the focus, Enter names.
    await page.keyboard.type('Jennifer Lopez');
    await page.keyboard.press('Enter');
    const said = await waitForText(page.locator('#unknown-result'), /Jennifer Lopez is enrolled/);
    const [person] = await peopleNamed('Jennifer Lopez');
    expect(person, 'enrolled').toBeDefined();
    const enrolled = Number(said.match(/(\d+) faces? enrolled/)![1]);
    const labelled = Number(said.match(/(\d+) faces? of the group labelled as Jennifer Lopez/)![1]);
    expect(enrolled).toBe(person!.faceCount);
    expect(enrolled).toBeGreaterThanOrEqual(3);
    expect(labelled).toBe(lopez.size);
    const { sightings } = await apiJson('GET', `/v1/sightings?gallery=${GALLERY}&personId=${person!.id}&limit=100`);
    expect(sightings.length).toBeGreaterThanOrEqual(labelled);
    await card(lopez.id).waitFor({ state: 'detached' });
    expect((await clusters()).map((c) => c.id)).not.toContain(lopez.id);
  });

  it('asks before naming a group with a name the gallery has, and adds the faces to that person', HEAVY, async () => {
    // A person of that name without a face yet (created by another system, say).
    const { person: existing } = await apiJson('POST', '/v1/people', { gallery: GALLERY, name: 'Paul Wolfowitz' });
    const paul = await groupOf('Paul_Wolfowitz');
    await goto('unknown');
    await card(paul.id).getByRole('button', { name: 'Name…' }).click();
    await page.locator('#name-new').fill('paul wolfowitz');
    await page.locator('#name-submit').click();
    const question = page.locator('#confirm-dialog');
    await waitForText(question, /paul wolfowitz is already in gallery events/, 10_000);
    expect(await question.innerText()).toMatch(/Paul Wolfowitz has 0 faces\. Are these faces of the same person\?/);
    await shot('unknown-faces-same-name');
    await question.getByRole('button', { name: 'Add the faces to Paul Wolfowitz' }).click();
    await waitForText(page.locator('#unknown-result'), /Added to Paul Wolfowitz: \d+ faces? enrolled/);
    const named = await peopleNamed('Paul Wolfowitz');
    expect(
      named.map((p) => p.id),
      'no second Paul Wolfowitz',
    ).toEqual([existing.id]);
    expect(named[0]!.faceCount).toBeGreaterThanOrEqual(3);
  });

  it('sets which faces Identify keeps, in Galleries and with the switch in Unknown faces', HEAVY, async () => {
    await goto('galleries');
    const select = page.locator(`#gallery-list li[data-gallery="${GALLERY}"]`).getByLabel('Faces Identify keeps');
    expect(await select.inputValue()).toBe('off');
    expect(await page.locator(`#gallery-list li[data-gallery="${GALLERY}"]`).innerText()).toMatch(/biometric data/);
    await select.selectOption('unknown');
    await expect.poll(async () => (await gallery()).keepSightings, { timeout: 10_000 }).toBe('unknown');
    await shot('galleries-keep-faces');

    await goto('unknown');
    const toggle = page.getByRole('switch', { name: 'Keep the faces that Identify cannot name' });
    await expect.poll(() => toggle.isChecked(), { timeout: 10_000 }).toBe(true);
    await toggle.uncheck();
    await expect.poll(async () => (await gallery()).keepSightings, { timeout: 10_000 }).toBe('off');
    await waitForText(page.locator('#keep-state'), /Off: Identify keeps no faces/, 10_000);
    await toggle.check();
    await expect.poll(async () => (await gallery()).keepSightings, { timeout: 10_000 }).toBe('unknown');

    // Every face, for Identify's controls below.
    await goto('galleries');
    await page.locator(`#gallery-list li[data-gallery="${GALLERY}"]`).getByLabel('Faces Identify keeps').selectOption('all');
    await expect.poll(async () => (await gallery()).keepSightings, { timeout: 10_000 }).toBe('all');
  });

  it('corrects a kept match ("Not X?") and confirms another, in Identify', HEAVY, async () => {
    const lopezId = (await peopleNamed('Jennifer Lopez'))[0]!.id;
    await goto('identify');
    await page.locator('#identify-file').setInputFiles(photo('Jennifer_Lopez', 6));
    const item = page.locator('#identify-faces li').first();
    await waitForText(item, /Jennifer Lopez/);
    await item.getByRole('button', { name: 'Not Jennifer Lopez?' }).click();
    const picker = item.getByLabel('Who is it, if not Jennifer Lopez?');
    await picker.waitFor();
    // The choices: nobody enrolled, or another person of the gallery (not the one being corrected).
    const choices = await picker.locator('option').allInnerTexts();
    expect(choices).toContain('Unknown: nobody enrolled');
    expect(choices).toContain('Paul Wolfowitz');
    expect(choices).not.toContain('Jennifer Lopez');
    await picker.selectOption({ label: 'Unknown: nobody enrolled' });
    await item.getByRole('button', { name: 'Save' }).click();
    await waitForText(item, /Corrected: nobody enrolled here/, 30_000);
    const { sightings: corrected } = await apiJson('GET', `/v1/sightings?gallery=${GALLERY}&limit=1`);
    expect(corrected[0]).toMatchObject({ outcome: 'match', matchedPerson: { id: lopezId }, person: null, labelledBy: 'user' });
    await shot('identify-corrected');

    await page.locator('#identify-file').setInputFiles(photo('Jennifer_Lopez', 7));
    await waitForText(page.locator('#identify-faces li').first(), /Jennifer Lopez/);
    const kept = page.locator('#identify-faces li').first();
    await kept.getByRole('button', { name: 'Confirm: this is Jennifer Lopez' }).click();
    const { sightings: latest } = await apiJson('GET', `/v1/sightings?gallery=${GALLERY}&limit=1`);
    await waitForText(kept, /Confirmed: Jennifer Lopez/, 30_000);
    const { sighting } = await apiJson('GET', `/v1/sightings/${latest[0].id}`);
    expect(sighting).toMatchObject({ person: { id: lopezId }, labelledBy: 'user' });

    // A face nobody is named for: "Who is this?", and where kept faces go.
    await page.locator('#identify-file').setInputFiles(photo('Hans_Blix', 6));
    const unknown = page.locator('#identify-faces li').first();
    await waitForText(unknown, /Unknown/);
    expect(await unknown.innerText()).toMatch(/Kept with the gallery’s unknown faces/);
    await unknown.getByRole('button', { name: 'Who is this?' }).click();
    expect(await unknown.getByLabel('Who is this?').locator('option').allInnerTexts()).not.toContain('Unknown: nobody enrolled');
    await unknown.getByRole('button', { name: 'Cancel' }).click();
    await unknown.getByRole('button', { name: 'Who is this?' }).waitFor();
  });

  it('fits a phone-sized screen, its tab in view', HEAVY, async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await goto('unknown');
    await cardsShown().first().waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
    const tab = (await page.locator('.tabs a[data-view="unknown"]').boundingBox())!;
    expect(tab.x).toBeGreaterThanOrEqual(0);
    expect(tab.x + tab.width).toBeLessThanOrEqual(390);
    await cardsShown().first().getByRole('button', { name: 'Open', exact: true }).click();
    await page.locator('#cluster-faces li').first().waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
    await shot('phone-unknown-faces-group');
    await page.keyboard.press('Escape');
    await page.setViewportSize({ width: 1280, height: 900 });
  });
});
