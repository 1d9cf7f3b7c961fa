import { FacerecError, NotFoundError } from '../errors.js';
import type { Queryable } from './database.js';
import { isUniqueViolation, isUuid, likePattern } from './sql.js';

export type Metadata = Record<string, unknown>;

export interface Person {
  id: string;
  galleryId: string;
  name: string;
  externalId: string | null;
  metadata: Metadata;
  faceCount: number;
  createdAt: string;
  updatedAt: string;
}

export interface NewPerson {
  galleryId: string;
  name: string;
  externalId?: string | null;
  metadata?: Metadata;
}

export interface PersonPatch {
  name?: string;
  externalId?: string | null;
  metadata?: Metadata;
}

/** A person as listed: with the face to show as their picture, so that a page of people needs no query per person. */
export interface ListedPerson extends Person {
  /** The person's first face (by enrollment) that has a thumbnail; null when none has. */
  thumbnailFaceId: string | null;
}

export interface PeoplePage {
  people: ListedPerson[];
  total: number;
}

interface PersonRow {
  id: string;
  gallery_id: string;
  name: string;
  external_id: string | null;
  metadata: Metadata;
  face_count: number;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = `p.*, (SELECT count(*)::int FROM faces f WHERE f.person_id = p.id) AS face_count`;
const SELECT = `SELECT ${COLUMNS} FROM people p`;

// Same order as listFaces, so the picture is the first thumbnail of the person's detail.
const THUMBNAIL_FACE = `(SELECT f.id FROM faces f WHERE f.person_id = p.id AND f.thumbnail IS NOT NULL ORDER BY f.created_at, f.id LIMIT 1) AS thumbnail_face_id`;

const toPerson = (r: PersonRow): Person => ({
  id: r.id,
  galleryId: r.gallery_id,
  name: r.name,
  externalId: r.external_id,
  metadata: r.metadata,
  faceCount: r.face_count,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

function externalIdTaken(err: unknown, externalId: string | null | undefined): unknown {
  return isUniqueViolation(err)
    ? new FacerecError('EXTERNAL_ID_TAKEN', `External id "${externalId}" is already used in this gallery`, { externalId })
    : err;
}

export async function insertPerson(q: Queryable, person: NewPerson): Promise<Person> {
  try {
    const [row] = await q.query<PersonRow>(
      `INSERT INTO people (gallery_id, name, external_id, metadata) VALUES ($1, $2, $3, $4) RETURNING *, 0 AS face_count`,
      [person.galleryId, person.name, person.externalId ?? null, JSON.stringify(person.metadata ?? {})],
    );
    return toPerson(row!);
  } catch (err) {
    throw externalIdTaken(err, person.externalId);
  }
}

/** A person by id, optionally locked FOR UPDATE so that concurrent enrollments of one person take turns. */
export async function getPerson(q: Queryable, id: string, options: { forUpdate?: boolean; galleryId?: string } = {}): Promise<Person> {
  const row = isUuid(id)
    ? (await q.query<PersonRow>(`${SELECT} WHERE p.id = $1${options.forUpdate ? ' FOR UPDATE' : ''}`, [id]))[0]
    : undefined;
  if (!row || (options.galleryId && row.gallery_id !== options.galleryId))
    throw new NotFoundError('PERSON_NOT_FOUND', `Person ${id}`, { personId: id });
  return toPerson(row);
}

/** People of a gallery named exactly `name` (case-insensitively), oldest first. */
export async function findPeopleByName(q: Queryable, galleryId: string, name: string): Promise<Person[]> {
  return (
    await q.query<PersonRow>(`${SELECT} WHERE p.gallery_id = $1 AND lower(p.name) = lower($2) ORDER BY p.created_at, p.id`, [
      galleryId,
      name,
    ])
  ).map(toPerson);
}

export async function findPersonByExternalId(q: Queryable, galleryId: string, externalId: string): Promise<Person | undefined> {
  const [row] = await q.query<PersonRow>(`${SELECT} WHERE p.gallery_id = $1 AND p.external_id = $2`, [galleryId, externalId]);
  return row && toPerson(row);
}

export async function listPeople(
  q: Queryable,
  galleryId: string,
  options: { search?: string; limit: number; offset: number },
): Promise<PeoplePage> {
  const where = options.search ? 'p.gallery_id = $1 AND p.name ILIKE $2' : 'p.gallery_id = $1';
  const params: unknown[] = options.search ? [galleryId, likePattern(options.search)] : [galleryId];
  const page = params.length;
  const rows = await q.query<PersonRow & { thumbnail_face_id: string | null }>(
    `SELECT ${COLUMNS}, ${THUMBNAIL_FACE} FROM people p WHERE ${where} ORDER BY lower(p.name), p.created_at, p.id LIMIT $${page + 1} OFFSET $${page + 2}`,
    [...params, options.limit, options.offset],
  );
  const [count] = await q.query<{ total: number }>(`SELECT count(*)::int AS total FROM people p WHERE ${where}`, params);
  return { people: rows.map((r) => ({ ...toPerson(r), thumbnailFaceId: r.thumbnail_face_id })), total: count?.total ?? 0 };
}

export async function updatePerson(q: Queryable, id: string, patch: PersonPatch): Promise<Person> {
  await getPerson(q, id, { forUpdate: true });
  try {
    await q.query(
      `UPDATE people SET
         name = COALESCE($2, name),
         external_id = CASE WHEN $3::boolean THEN $4 ELSE external_id END,
         metadata = COALESCE($5::jsonb, metadata),
         updated_at = now()
       WHERE id = $1`,
      [
        id,
        patch.name ?? null,
        patch.externalId !== undefined,
        patch.externalId ?? null,
        patch.metadata === undefined ? null : JSON.stringify(patch.metadata),
      ],
    );
  } catch (err) {
    throw externalIdTaken(err, patch.externalId);
  }
  return getPerson(q, id);
}

/** Erases a person: the row, and by cascade every face, descriptor and thumbnail, in the caller's transaction. */
export async function deletePerson(q: Queryable, id: string): Promise<Person> {
  const person = await getPerson(q, id, { forUpdate: true });
  await q.query('DELETE FROM people WHERE id = $1', [id]);
  return person;
}

export async function touchPerson(q: Queryable, id: string): Promise<void> {
  await q.query('UPDATE people SET updated_at = now() WHERE id = $1', [id]);
}
