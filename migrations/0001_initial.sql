-- facerec schema: galleries of people, each with faces described by 128-d descriptors.
-- Plain SQL that runs unchanged on PostgreSQL 15+ with pgvector and on PGlite with its vector extension.

CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE galleries (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL UNIQUE CHECK (char_length(name) BETWEEN 1 AND 100),
  created_at timestamptz NOT NULL DEFAULT now()
);

-- The default gallery every call uses unless told otherwise.
INSERT INTO galleries (name) VALUES ('default');

CREATE TABLE people (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  gallery_id uuid NOT NULL REFERENCES galleries (id) ON DELETE CASCADE,
  name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
  external_id text CHECK (char_length(external_id) BETWEEN 1 AND 200),
  metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (gallery_id, external_id)
);

CREATE INDEX people_gallery_name_idx ON people (gallery_id, lower(name));

CREATE TABLE faces (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  person_id uuid NOT NULL REFERENCES people (id) ON DELETE CASCADE,
  -- Copied from the person so the nearest-neighbour query filters without a join.
  gallery_id uuid NOT NULL REFERENCES galleries (id) ON DELETE CASCADE,
  descriptor vector(128) NOT NULL,
  -- Descriptors of different models live in different spaces and are never compared.
  model_id text NOT NULL,
  box real[] NOT NULL CHECK (array_length(box, 1) = 4),
  score real NOT NULL,
  quality jsonb NOT NULL,
  image_sha256 text NOT NULL CHECK (image_sha256 ~ '^[0-9a-f]{64}$'),
  thumbnail bytea,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (person_id, image_sha256)
);

CREATE INDEX faces_person_idx ON faces (person_id);
CREATE INDEX faces_gallery_idx ON faces (gallery_id, model_id);
CREATE INDEX faces_descriptor_hnsw_idx ON faces USING hnsw (descriptor vector_l2_ops);
