import { describe, it, expect } from 'vitest';
import { confidenceOf, DEFAULT_CONFIDENCE } from '../../../src/match/confidence.js';
import { matchFaces, UNKNOWN_LABEL, type MatchOptions } from '../../../src/match/identify.js';
import type { PersonCandidate } from '../../../src/match/reduce.js';

const options: MatchOptions = { threshold: 0.6, ambiguityMargin: 0.03, topK: 3 };
const c = (personId: string, distance: number): PersonCandidate => ({ personId, name: personId.toUpperCase(), distance });
const summary = (faces: ReturnType<typeof matchFaces>) => faces.map((f) => [f.outcome, f.label, f.distance]);

describe('matchFaces', () => {
  it('names a face whose best candidate is within the threshold and clearly ahead', () => {
    const [face] = matchFaces([[c('ada', 0.4), c('bob', 0.55)]], options);
    expect(face).toEqual({
      outcome: 'match',
      person: { id: 'ada', name: 'ADA' },
      label: 'ADA',
      distance: 0.4,
      confidence: confidenceOf(0.4),
      candidates: [
        { person: { id: 'ada', name: 'ADA' }, distance: 0.4, confidence: confidenceOf(0.4) },
        { person: { id: 'bob', name: 'BOB' }, distance: 0.55, confidence: confidenceOf(0.55) },
      ],
    });
  });

  it('reports Unknown above the threshold or without candidates, still with the best distance and candidates', () => {
    const [far, none, edge] = matchFaces([[c('ada', 0.61), c('bob', 0.8)], [], [c('cy', 0.6)]], options);
    expect(far).toMatchObject({ outcome: 'unknown', person: null, label: UNKNOWN_LABEL, distance: 0.61, confidence: confidenceOf(0.61) });
    expect(far!.candidates.map((x) => x.person.id)).toEqual(['ada', 'bob']);
    expect(none).toEqual({ outcome: 'unknown', person: null, label: UNKNOWN_LABEL, distance: null, confidence: null, candidates: [] });
    // The threshold itself is inside.
    expect(edge).toMatchObject({ outcome: 'match', label: 'CY' });
  });

  it('reports ambiguous when the runner-up is within the margin, listing both even with topK 1', () => {
    const [face] = matchFaces([[c('ada', 0.45), c('bob', 0.47), c('cy', 0.7)]], { ...options, topK: 1 });
    expect(face).toMatchObject({ outcome: 'ambiguous', person: null, label: UNKNOWN_LABEL, distance: 0.45 });
    expect(face!.candidates.map((x) => x.person.id)).toEqual(['ada', 'bob']);
    // Just outside the margin it is a match.
    expect(matchFaces([[c('ada', 0.45), c('bob', 0.49)]], options)[0]!.outcome).toBe('match');
  });

  it('names one person once per photo: the closer face wins, the other falls back to its next candidate', () => {
    const faces = matchFaces(
      [
        [c('ada', 0.5), c('bob', 0.58)],
        [c('ada', 0.35), c('cy', 0.5)],
      ],
      options,
    );
    expect(summary(faces)).toEqual([
      ['match', 'BOB', 0.58],
      ['match', 'ADA', 0.35],
    ]);
    expect(faces[0]!.confidence).toBe(confidenceOf(0.58));
    // Candidates are the face's own ranking, whatever it was assigned.
    expect(faces[0]!.candidates.map((x) => x.person.id)).toEqual(['ada', 'bob']);
  });

  it('leaves the losing face Unknown when it has no other candidate within the threshold', () => {
    const faces = matchFaces([[c('ada', 0.5), c('bob', 0.7)], [c('ada', 0.35)]], options);
    expect(summary(faces)).toEqual([
      ['unknown', UNKNOWN_LABEL, 0.5],
      ['match', 'ADA', 0.35],
    ]);
    expect(faces[0]).toMatchObject({ person: null, confidence: confidenceOf(0.5) });
  });

  it('minimises the total distance where greedily serving the closest face first does not', () => {
    // Greedy gives ada to face 1 (0.30), face 0 falls back to bob (0.58): 0.88. Optimal: 0.31 + 0.40 = 0.71.
    const faces = matchFaces(
      [
        [c('ada', 0.31), c('bob', 0.58)],
        [c('ada', 0.3), c('cy', 0.4)],
      ],
      options,
    );
    expect(summary(faces)).toEqual([
      ['match', 'ADA', 0.31],
      ['match', 'CY', 0.4],
    ]);
  });

  it('prefers naming two faces over the closest single match when the total is lower', () => {
    // Face 1 taking ada (0.2) leaves face 0 Unknown (cost 0.6): 0.8. Face 0 ada + face 1 bob: 0.3 + 0.45 = 0.75.
    const faces = matchFaces([[c('ada', 0.3)], [c('ada', 0.2), c('bob', 0.45)]], options);
    expect(summary(faces)).toEqual([
      ['match', 'ADA', 0.3],
      ['match', 'BOB', 0.45],
    ]);
  });

  it('does not let an ambiguous face claim a person', () => {
    const faces = matchFaces([[c('ada', 0.4), c('bob', 0.41)], [c('ada', 0.5)]], options);
    expect(summary(faces)).toEqual([
      ['ambiguous', UNKNOWN_LABEL, 0.4],
      ['match', 'ADA', 0.5],
    ]);
  });

  it('truncates candidates to topK, sorting unsorted input and keeping one entry per person', () => {
    const [face] = matchFaces([[c('d', 0.9), c('a', 0.2), c('c', 0.7), c('a', 0.5), c('b', 0.6)]], options);
    expect(face!.candidates.map((x) => [x.person.id, x.distance])).toEqual([
      ['a', 0.2],
      ['b', 0.6],
      ['c', 0.7],
    ]);
  });

  it('uses the given confidence model and validates options', () => {
    const model = { slope: -10, intercept: 5 };
    expect(matchFaces([[c('ada', 0.5)]], { ...options, confidence: model })[0]!.confidence).toBeCloseTo(0.5, 12);
    expect(matchFaces([[c('ada', 0.5)]], options)[0]!.confidence).toBe(confidenceOf(0.5, DEFAULT_CONFIDENCE));
    expect(() => matchFaces([], { ...options, topK: 0 })).toThrow(/topK/);
    expect(() => matchFaces([], { ...options, threshold: -1 })).toThrow(/threshold/);
    expect(() => matchFaces([], { ...options, ambiguityMargin: NaN })).toThrow(/ambiguityMargin/);
  });
});
