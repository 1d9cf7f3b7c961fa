-- Faces seen, not only faces enrolled (issue 23): the photos a gallery has seen and every face in them ("sightings"),
-- kept only when the gallery or the call asks (privacy first: off by default), for FACEREC_SIGHTING_RETENTION_DAYS;
-- the unknown ones grouped into clusters that a user names, merges or ignores. What a user decides is kept as such
-- (who, when) and never overwritten by an automatic pass.

-- off: keep nothing (the default); unknown: the faces identify could not name; all: every face.
ALTER TABLE galleries
  ADD COLUMN keep_sightings text NOT NULL DEFAULT 'off' CHECK (keep_sightings IN ('off', 'unknown', 'all'));

-- A photo seen (identify with sightings kept, or scan): its hash makes a second look at the same photo a no-op.
CREATE TABLE seen_photos (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  gallery_id uuid NOT NULL REFERENCES galleries (id) ON DELETE CASCADE,
  image_sha256 text NOT NULL CHECK (image_sha256 ~ '^[0-9a-f]{64}$'),
  -- The caller's reference: a file path, a URL, a camera id.
  source text CHECK (char_length(source) BETWEEN 1 AND 2000),
  width integer NOT NULL,
  height integer NOT NULL,
  faces integer NOT NULL,
  first_seen_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (gallery_id, image_sha256)
);

CREATE INDEX seen_photos_last_seen_idx ON seen_photos (last_seen_at);

-- A group of unknown sightings that look like one person.
CREATE TABLE face_clusters (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  gallery_id uuid NOT NULL REFERENCES galleries (id) ON DELETE CASCADE,
  model_id text NOT NULL,
  -- A user said never to suggest it; faces that join it later stay ignored with it.
  ignored_at timestamptz,
  ignored_by text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX face_clusters_gallery_idx ON face_clusters (gallery_id);

CREATE TABLE sightings (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  gallery_id uuid NOT NULL REFERENCES galleries (id) ON DELETE CASCADE,
  photo_id uuid NOT NULL REFERENCES seen_photos (id) ON DELETE CASCADE,
  -- The face's place among the photo's faces (largest first): the same photo seen twice is one sighting per face.
  face_index integer NOT NULL,
  descriptor vector NOT NULL,
  model_id text NOT NULL,
  box real[] NOT NULL CHECK (array_length(box, 1) = 4),
  score real NOT NULL,
  quality jsonb NOT NULL,
  attributes jsonb,
  thumbnail bytea,
  seen_at timestamptz NOT NULL DEFAULT now(),
  -- What identify answered when it saw the face, and with whom.
  outcome text NOT NULL CHECK (outcome IN ('match', 'ambiguous', 'unknown')),
  matched_person_id uuid REFERENCES people (id) ON DELETE CASCADE,
  distance real,
  -- Who it is now (NULL: unknown) and on whose word: a match, a later match after an enrollment, or a user.
  person_id uuid REFERENCES people (id) ON DELETE CASCADE,
  labelled_by text CHECK (labelled_by IN ('match', 'rematch', 'user')),
  labelled_at timestamptz,
  labelled_by_key text,
  -- Its cluster while unknown; pending until the clustering has seen it.
  cluster_id uuid REFERENCES face_clusters (id) ON DELETE SET NULL,
  cluster_state text NOT NULL DEFAULT 'pending' CHECK (cluster_state IN ('pending', 'done')),
  -- Put where it is by a user (merged, taken out of a cluster): a re-clustering never moves it.
  cluster_locked boolean NOT NULL DEFAULT false,
  -- Distances to its nearest unknown sightings, ascending (the clustering rule reads a face's scale from them).
  nearest real[] NOT NULL DEFAULT '{}',
  UNIQUE (photo_id, face_index)
);

CREATE INDEX sightings_gallery_idx ON sightings (gallery_id, model_id);
CREATE INDEX sightings_person_idx ON sightings (person_id);
CREATE INDEX sightings_matched_idx ON sightings (matched_person_id);
CREATE INDEX sightings_cluster_idx ON sightings (cluster_id);
CREATE INDEX sightings_seen_idx ON sightings (seen_at);
CREATE INDEX sightings_pending_idx ON sightings (gallery_id) WHERE cluster_state = 'pending';

-- Where each enrolled face came from: a photo enrolled by a user, a sighting a user confirmed (naming a cluster,
-- correcting or confirming a match), or a sighting learned automatically (issue 24); and from which sighting.
ALTER TABLE faces
  ADD COLUMN origin text NOT NULL DEFAULT 'enrolled' CHECK (origin IN ('enrolled', 'confirmed', 'learned')),
  ADD COLUMN sighting_id uuid REFERENCES sightings (id) ON DELETE SET NULL;

-- A full re-clustering of a gallery's unknown sightings: one replica at a time (a lease), resumable after a crash (the
-- neighbour lists already found are kept).
CREATE TABLE cluster_jobs (
  gallery_id uuid PRIMARY KEY REFERENCES galleries (id) ON DELETE CASCADE,
  lease_owner text,
  lease_until timestamptz,
  total integer NOT NULL DEFAULT 0,
  started_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  result jsonb,
  error text
);

CREATE TABLE cluster_job_neighbours (
  sighting_id uuid PRIMARY KEY REFERENCES sightings (id) ON DELETE CASCADE,
  gallery_id uuid NOT NULL REFERENCES cluster_jobs (gallery_id) ON DELETE CASCADE,
  neighbours uuid[] NOT NULL,
  distances real[] NOT NULL
);

-- The default model's nearest-neighbour index over sightings (others are made when first used: descriptor-index.ts).
CREATE INDEX sightings_hnsw_dlib128 ON sightings USING hnsw ((descriptor::vector(128)) vector_l2_ops)
  WHERE model_id = 'dlib-resnet-v1@face-api-1.7.15/chip150p25+mirror';
