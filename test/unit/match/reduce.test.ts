import { describe, it, expect } from 'vitest';
import { reducePerPerson, type FaceHit } from '../../../src/match/reduce.js';

const hit = (personId: string, distance: number, faceId = `${personId}-${distance}`): FaceHit => ({
  faceId,
  personId,
  name: personId.toUpperCase(),
  distance,
});

describe('reducePerPerson', () => {
  // Ada has one very close face and two far ones; Bob has two consistently close ones.
  const hits = [hit('ada', 0.7), hit('bob', 0.42), hit('ada', 0.3), hit('bob', 0.38), hit('ada', 0.65), hit('cy', 0.5)];

  it("'min' keeps each person's closest face, sorted ascending", () => {
    expect(reducePerPerson(hits, 'min')).toEqual([
      { personId: 'ada', name: 'ADA', distance: 0.3 },
      { personId: 'bob', name: 'BOB', distance: 0.38 },
      { personId: 'cy', name: 'CY', distance: 0.5 },
    ]);
  });

  it("'mean2' averages the closest two faces, which can reorder people; a single hit keeps its distance", () => {
    const reduced = reducePerPerson(hits, 'mean2');
    expect(reduced.map((c) => c.personId)).toEqual(['bob', 'ada', 'cy']);
    expect(reduced.map((c) => c.distance)).toEqual([expect.closeTo(0.4, 10), expect.closeTo(0.475, 10), 0.5]);
  });

  it('breaks distance ties by personId and returns nothing for no hits', () => {
    expect(reducePerPerson([hit('zed', 0.4), hit('amy', 0.4), hit('kim', 0.2)], 'min').map((c) => c.personId)).toEqual([
      'kim',
      'amy',
      'zed',
    ]);
    expect(reducePerPerson([], 'mean2')).toEqual([]);
  });
});
