/**
 * Per-person reduction of face-level nearest-neighbour hits: a person may have many enrolled faces, a probe needs one
 * distance per person.
 */

export type Reduction = 'min' | 'mean2';

/** One enrolled face's distance to a probe face, as returned by the store's nearest-neighbour query. */
export interface FaceHit {
  faceId: string;
  personId: string;
  name: string;
  distance: number;
}

export interface PersonCandidate {
  personId: string;
  name: string;
  distance: number;
}

/** One person's distance from their closest and second-closest face (Infinity when they have only one). */
export function reduceNearest(closest: number, secondClosest: number, reduction: Reduction): number {
  return reduction === 'mean2' && Number.isFinite(secondClosest) ? (closest + secondClosest) / 2 : closest;
}

/** Orders candidates by distance, ties by personId, so that results do not depend on the store's row order. */
export function compareCandidates(a: PersonCandidate, b: PersonCandidate): number {
  return a.distance - b.distance || (a.personId < b.personId ? -1 : a.personId > b.personId ? 1 : 0);
}

/**
 * Reduces face hits to one distance per person, sorted ascending (ties by personId). 'min': the closest face;
 * 'mean2': the mean of the closest two of that person's hits (a person with one hit keeps that distance).
 */
export function reducePerPerson(hits: readonly FaceHit[], reduction: Reduction): PersonCandidate[] {
  const people = new Map<string, { name: string; closest: number; second: number }>();
  for (const hit of hits) {
    const p = people.get(hit.personId);
    if (!p) people.set(hit.personId, { name: hit.name, closest: hit.distance, second: Infinity });
    else if (hit.distance < p.closest) [p.second, p.closest] = [p.closest, hit.distance];
    else if (hit.distance < p.second) p.second = hit.distance;
  }
  return [...people]
    .map(([personId, p]) => ({ personId, name: p.name, distance: reduceNearest(p.closest, p.second, reduction) }))
    .sort(compareCandidates);
}
