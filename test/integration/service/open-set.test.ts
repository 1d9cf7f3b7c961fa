/**
 * identify's threshold at a target FPIR on real photos through the real store: two galleries of LFW View 1 people
 * (DevTest side, which the shipped impostor model never saw), strangers who are in neither.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/index.js';
import type { ServiceContext } from '../../../src/service/context.js';
import { createPerson } from '../../../src/service/enroll.service.js';
import { identify } from '../../../src/service/identify.service.js';
import { galleries } from '../../../src/service/people.service.js';
import { cachedAnalyzer } from '../../helpers/analyzer.js';
import { describeEachDatabase, migratedTestDatabase, type TestDatabase } from '../../helpers/databases.js';
import { dataset, HAS_DATASETS, SKIP_DATASETS_REASON } from '../../helpers/datasets.js';

// A 5% target: at 1% the 400 strangers below would show 4 false matches, too few to tell a rate from luck.
const TARGET_FPIR = 0.05;
const SMALL = 20;
const LARGE = 300;
const STRANGERS = 400;

/** LFW View 1's DevTest side: its people with 2+ photos (gallery candidates) and those with one (strangers). */
function devTestSide(): { enrolled: string[]; strangers: string[] } {
  const byPerson = new Map<string, Set<string>>();
  const file = dataset('lfw-view1', 'pairsDevTest.txt');
  if (!existsSync(file)) return { enrolled: [], strangers: [] };
  const text = readFileSync(file, 'utf8');
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split('\t');
    const pairs =
      f.length === 3
        ? [
            [f[0]!, f[1]!],
            [f[0]!, f[2]!],
          ]
        : f.length === 4
          ? [
              [f[0]!, f[1]!],
              [f[2]!, f[3]!],
            ]
          : [];
    for (const [name, n] of pairs) {
      const file = `${name}/${name}_${n!.padStart(4, '0')}.jpg`;
      byPerson.set(name!, (byPerson.get(name!) ?? new Set()).add(file));
    }
  }
  const people = [...byPerson.keys()].sort();
  return {
    // The lowest-numbered photo of each person with two or more.
    enrolled: people.filter((p) => byPerson.get(p)!.size >= 2).map((p) => [...byPerson.get(p)!].sort()[0]!),
    strangers: people.filter((p) => byPerson.get(p)!.size === 1).map((p) => [...byPerson.get(p)!][0]!),
  };
}

if (!HAS_DATASETS) it.skip(`identify at a target FPIR: ${SKIP_DATASETS_REASON}`, () => {});

describeEachDatabase('identify at a target FPIR on LFW', (kind) => {
  if (!HAS_DATASETS) return;
  let test: TestDatabase;
  let ctx: ServiceContext;
  const side = devTestSide();

  beforeAll(async () => {
    test = await migratedTestDatabase(kind);
    ctx = { db: test.db, analyzer: await cachedAnalyzer(), config: loadConfig({ FACEREC_TARGET_FPIR: String(TARGET_FPIR) }) };
  });
  afterAll(async () => {
    await test?.drop();
  });

  it('gives the larger gallery the stricter threshold, and names strangers at the rate it promises', { timeout: 900_000 }, async () => {
    const image = (file: string) => readFile(dataset('lfw-view1', 'images', file));
    const results = [];
    for (const size of [SMALL, LARGE]) {
      const gallery = (await galleries.create(ctx, `lfw-${size}`)).name;
      let enrolled = 0;
      for (const file of side.enrolled.slice(0, size)) {
        // LFW photos may show a second face at the edge: the subject is the largest. A photo the gates refuse is skipped.
        const done = await createPerson(ctx, { gallery, name: file.split('/')[0]! }, [{ bytes: await image(file) }], {
          largestFace: true,
        }).catch(() => null);
        if (done) enrolled++;
      }
      expect(enrolled).toBeGreaterThan(size * 0.9); // the enrollment gates refuse a few LFW photos (blur, pose)
      let named = 0,
        seen = 0;
      let answer;
      for (const file of side.strangers.slice(0, STRANGERS)) {
        const got = await identify(ctx, await image(file), { gallery, maxFaces: 1 }).catch(() => null);
        if (!got) continue; // no face found: not a stranger the rule can name
        answer = got;
        seen++;
        if (answer.faces[0]!.outcome === 'match') named++;
      }
      results.push({ size, threshold: answer!.threshold, source: answer!.thresholdSource, fpir: named / seen, seen });
    }
    const [small, large] = results;
    expect(small!.source).toBe('target-fpir');
    expect(large!.source).toBe('gallery-calibrated');
    expect(large!.threshold).toBeLessThan(small!.threshold);
    // Binomial sd of a 5% rate over ~400 strangers is 1.1%; three of them either side.
    for (const r of results) {
      const tolerance = 3 * Math.sqrt((TARGET_FPIR * (1 - TARGET_FPIR)) / r.seen);
      expect(Math.abs(r.fpir - TARGET_FPIR), JSON.stringify(r)).toBeLessThanOrEqual(tolerance);
    }
  });
});
