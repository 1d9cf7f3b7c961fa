-- Descriptor models beside the 128-d net (docs/models.md). A gallery is bound to one model; its faces' descriptors are
-- all of that model. Each model has its own dimensions, so the descriptor column loses its fixed size, and each model
-- gets a partial HNSW index on a cast to its size (facerec creates one when a gallery first binds a model:
-- src/store/descriptor-index.ts). Existing descriptors keep their values.

DROP INDEX faces_descriptor_hnsw_idx;
ALTER TABLE faces ALTER COLUMN descriptor TYPE vector;

-- NULL: not bound yet; the first enrollment binds it to the model in use. A gallery with faces is bound to its faces' model.
ALTER TABLE galleries ADD COLUMN descriptor_model text;
UPDATE galleries g SET descriptor_model = (
  SELECT f.model_id FROM faces f WHERE f.gallery_id = g.id GROUP BY f.model_id ORDER BY count(*) DESC, f.model_id LIMIT 1
);

-- The index of the model every face so far was stored with (face-api's 128-d net, chip + mirror).
CREATE INDEX faces_hnsw_dlib128 ON faces USING hnsw ((descriptor::vector(128)) vector_l2_ops)
  WHERE model_id = 'dlib-resnet-v1@face-api-1.7.15/chip150p25+mirror';

-- A re-embedding in progress: new descriptors of a gallery's faces under another model, swapped in at the end, at once.
CREATE TABLE reembed_jobs (
  gallery_id uuid PRIMARY KEY REFERENCES galleries (id) ON DELETE CASCADE,
  target_model text NOT NULL,
  total integer NOT NULL,
  failed jsonb NOT NULL DEFAULT '[]'::jsonb,
  started_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE reembed_descriptors (
  face_id uuid PRIMARY KEY REFERENCES faces (id) ON DELETE CASCADE,
  gallery_id uuid NOT NULL REFERENCES reembed_jobs (gallery_id) ON DELETE CASCADE,
  descriptor vector NOT NULL
);
