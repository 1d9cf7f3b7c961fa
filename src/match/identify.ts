/**
 * Identification semantics for the faces of one photo, given each face's candidates reduced per person:
 * - unknown: no candidate, or the best candidate's distance is above `threshold`;
 * - ambiguous: the best is within the threshold but the second-best person is less than `ambiguityMargin` farther;
 *   reported as Unknown with both contenders among the candidates (so at least two are listed even when topK is 1);
 * - match: the other faces get persons by a minimum-total-distance assignment in which one person is named at most
 *   once per photo; a face may stay Unknown at the cost of `threshold`, so a face that loses its best person falls
 *   back to its next candidate within the threshold, or to Unknown.
 * `distance` and `confidence` describe the assigned person for a match, the best candidate otherwise.
 */
import { InvalidArgumentError } from '../errors.js';
import { minCostAssignment } from './assign.js';
import { confidenceOf, type ConfidenceModel } from './confidence.js';
import { compareCandidates, type PersonCandidate } from './reduce.js';

export type Outcome = 'match' | 'ambiguous' | 'unknown';

export interface MatchOptions {
  threshold: number;
  ambiguityMargin: number;
  topK: number;
  confidence?: ConfidenceModel;
}

export interface RankedCandidate {
  person: { id: string; name: string };
  distance: number;
  confidence: number;
}

export interface FaceMatch {
  outcome: Outcome;
  person: { id: string; name: string } | null;
  /** The person's name, or UNKNOWN_LABEL. */
  label: string;
  /** Distance to the assigned person for a match, to the best candidate otherwise; null without candidates. */
  distance: number | null;
  confidence: number | null;
  /** The face's top-K persons, ascending, whatever the assignment. */
  candidates: RankedCandidate[];
}

export const UNKNOWN_LABEL = 'Unknown';

function validate(options: MatchOptions): void {
  const { threshold, ambiguityMargin, topK } = options;
  if (!(Number.isFinite(threshold) && threshold > 0))
    throw new InvalidArgumentError(`threshold must be a positive number, got ${threshold}`, { threshold });
  if (!(Number.isFinite(ambiguityMargin) && ambiguityMargin >= 0))
    throw new InvalidArgumentError(`ambiguityMargin must be >= 0, got ${ambiguityMargin}`, { ambiguityMargin });
  if (!(Number.isInteger(topK) && topK >= 1)) throw new InvalidArgumentError(`topK must be an integer >= 1, got ${topK}`, { topK });
}

/** Matches the faces of one photo; perFace[i] = the reduced candidates of face i (ascending). */
export function matchFaces(perFace: readonly (readonly PersonCandidate[])[], options: MatchOptions): FaceMatch[] {
  validate(options);
  const { threshold, ambiguityMargin, topK } = options;
  const confidence = (distance: number) => confidenceOf(distance, options.confidence);
  // Defensive: sorted copies, one entry per person (the closest) even if the caller did not reduce.
  const faces = perFace.map((candidates) => {
    const closest = new Map<string, PersonCandidate>();
    for (const c of [...candidates].sort(compareCandidates)) if (!closest.has(c.personId)) closest.set(c.personId, c);
    return [...closest.values()];
  });

  const outcomes = faces.map((candidates): Outcome => {
    const [best, second] = candidates;
    if (!best || best.distance > threshold) return 'unknown';
    return second && second.distance - best.distance < ambiguityMargin ? 'ambiguous' : 'match';
  });

  // Faces × (persons within the threshold of some contending face, then one "stay Unknown" column per face).
  const contenders = faces.map((_, i) => i).filter((i) => outcomes[i] === 'match');
  const persons = [...new Set(contenders.flatMap((i) => faces[i]!.filter((c) => c.distance <= threshold).map((c) => c.personId)))];
  const column = new Map(persons.map((id, j) => [id, j]));
  const cost = contenders.map((i, row) => {
    const costs = new Array<number>(persons.length + contenders.length).fill(Infinity);
    for (const c of faces[i]!) if (c.distance <= threshold) costs[column.get(c.personId)!] = c.distance;
    costs[persons.length + row] = threshold;
    return costs;
  });
  const assigned = new Map<number, PersonCandidate>();
  minCostAssignment(cost).forEach((j, row) => {
    const i = contenders[row]!;
    const personId = persons[j];
    if (personId !== undefined)
      assigned.set(
        i,
        faces[i]!.find((c) => c.personId === personId)!,
      );
  });

  return faces.map((candidates, i): FaceMatch => {
    const listed = candidates.slice(0, outcomes[i] === 'ambiguous' ? Math.max(topK, 2) : topK).map((c) => ({
      person: { id: c.personId, name: c.name },
      distance: c.distance,
      confidence: confidence(c.distance),
    }));
    const person = assigned.get(i);
    if (person) {
      return {
        outcome: 'match',
        person: { id: person.personId, name: person.name },
        label: person.name,
        distance: person.distance,
        confidence: confidence(person.distance),
        candidates: listed,
      };
    }
    const best = candidates[0];
    return {
      outcome: outcomes[i] === 'ambiguous' ? 'ambiguous' : 'unknown',
      person: null,
      label: UNKNOWN_LABEL,
      distance: best?.distance ?? null,
      confidence: best ? confidence(best.distance) : null,
      candidates: listed,
    };
  });
}
