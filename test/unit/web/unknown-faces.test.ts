/** The Unknown faces page's words and batches (src/web/views/unknown-faces.js): pure parts, without a browser. */
import { describe, expect, it } from 'vitest';

interface UnknownFaces {
  describeCohesion(cluster: { cohesion: number }): { text: string; level: 'high' | 'mid' | 'low' };
  seenIn(cluster: { photos: Array<{ sha256: string; source: string | null }>; photoCount: number }): string;
  batchesOf<F extends { size: number }>(files: F[], limits?: { most?: number; bytes?: number }): F[][];
  keptFacesNote(days: number | undefined): string;
}
// A browser module in plain JS (type-checked by tsconfig.web.json), loaded as it is: nothing of it runs at import.
const page = (await import(`${'../../../src/web/views/unknown-faces.js'}`)) as UnknownFaces;

const photo = (source: string | null, i = 0) => ({ sha256: `h${i}`, source });

describe('how alike a group is, in words', () => {
  it('says all alike, most alike, or mixed (the one to check before naming)', () => {
    expect(page.describeCohesion({ cohesion: 1 })).toEqual({ text: 'All look alike', level: 'high' });
    expect(page.describeCohesion({ cohesion: 0.95 }).level).toBe('high');
    expect(page.describeCohesion({ cohesion: 0.94 }).level).toBe('mid');
    expect(page.describeCohesion({ cohesion: 0.8 }).level).toBe('mid');
    expect(page.describeCohesion({ cohesion: 0.79 })).toEqual({ text: 'Mixed: check before naming', level: 'low' });
    expect(page.describeCohesion({ cohesion: 0 }).level).toBe('low');
  });
});

describe('where a group was seen', () => {
  it('names a few photos by the end of their path, then counts the rest', () => {
    expect(page.seenIn({ photos: [photo('/lib/2024/day1/a.jpg')], photoCount: 1 })).toBe('Seen in day1/a.jpg');
    expect(page.seenIn({ photos: ['a.jpg', 'b.jpg', 'c.jpg', 'd.jpg'].map((s, i) => photo(s, i)), photoCount: 25 })).toBe(
      'Seen in a.jpg, b.jpg, c.jpg and 22 more photos',
    );
    expect(page.seenIn({ photos: [photo('C:\\pics\\x.jpg'), photo(null, 1)], photoCount: 2 })).toBe('Seen in pics/x.jpg and 1 more photo');
  });
  it('counts photos without a name instead of repeating that they have none', () => {
    expect(page.seenIn({ photos: [photo(null), photo(null, 1)], photoCount: 2 })).toBe('Seen in 2 photos without a name');
  });
});

describe('scan batches', () => {
  const files = (...sizes: number[]) => sizes.map((size, i) => ({ name: `f${i}`, size }));
  it('keeps the order, at most `most` files per batch', () => {
    const batches = page.batchesOf(files(...Array<number>(17).fill(10)), { most: 8, bytes: 1e9 });
    expect(batches.map((b) => b.length)).toEqual([8, 8, 1]);
    expect(batches.flat().map((f) => (f as { name: string }).name)).toEqual(Array.from({ length: 17 }, (_, i) => `f${i}`));
  });
  it('starts a new batch before the bytes would pass the limit; a file larger than it goes alone', () => {
    expect(page.batchesOf(files(40, 40, 40, 200, 10), { most: 8, bytes: 100 }).map((b) => b.map((f) => f.size))).toEqual([
      [40, 40],
      [40],
      [200],
      [10],
    ]);
    expect(page.batchesOf([])).toEqual([]);
  });
});

describe('what keeping faces means', () => {
  it('says they are biometric data and when they go', () => {
    expect(page.keptFacesNote(30)).toMatch(/biometric data.*deleted 30 days after it was seen, or with the person/);
    expect(page.keptFacesNote(1)).toMatch(/deleted 1 day after/);
    expect(page.keptFacesNote(undefined)).toMatch(/after the server’s retention time/);
  });
});
