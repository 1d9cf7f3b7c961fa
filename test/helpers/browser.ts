/** Debian's Chromium driven by playwright-core: never a downloaded browser, a fresh profile per launch. */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Locator } from 'playwright-core';

/** The system Chromium (apt-get install chromium); CHROMIUM_PATH overrides it. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const HAS_CHROMIUM = existsSync(CHROMIUM_PATH);

export const SKIP_CHROMIUM_REASON = `${CHROMIUM_PATH} not found (apt-get install -y --no-install-recommends chromium, or set CHROMIUM_PATH)`;

// Headless, unsandboxed (containers run as root), and quiet: no updates, sync or background traffic.
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Launches Chromium with a throwaway user-data-dir, removed on close. */
export async function launchChromium(options: { viewport?: { width: number; height: number } } = {}): Promise<Browser> {
  const profile = await mkdtemp(path.join(os.tmpdir(), 'facerec-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: FLAGS,
      viewport: options.viewport ?? { width: 1280, height: 900 },
      timeout: 60_000,
    });
    return {
      context,
      close: async () => {
        await context.close();
        await rm(profile, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(profile, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Waits until the text of the locator's first element matches, polling: its rendered `innerText`, or its
 * `textContent` (hidden text too). Returns that text.
 */
export async function waitForText(
  locator: Locator,
  pattern: RegExp,
  timeout: number,
  read: 'innerText' | 'textContent' = 'innerText',
): Promise<string> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const text = (await locator.count()) > 0 ? ((await locator.first()[read]()) ?? '') : '';
    if (pattern.test(text)) return text;
    if (Date.now() > deadline)
      throw new Error(`Timed out waiting for ${pattern} in ${locator.toString()}; last text: ${JSON.stringify(text)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until the locator matches exactly n elements, polling. */
export async function waitForCount(locator: Locator, n: number, timeout: number): Promise<void> {
  const deadline = Date.now() + timeout;
  while ((await locator.count()) !== n) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${n} of ${locator.toString()}; found ${await locator.count()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
