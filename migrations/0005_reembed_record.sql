-- A gallery's move to another model keeps its record after the switch: from which model, when it finished, how many
-- faces moved, and exactly which faces were dropped (those the operator was shown and named), with their people.
ALTER TABLE reembed_jobs
  ADD COLUMN from_model text,
  ADD COLUMN finished_at timestamptz,
  ADD COLUMN moved integer,
  ADD COLUMN dropped jsonb NOT NULL DEFAULT '[]'::jsonb,
  ADD COLUMN left_without_faces jsonb NOT NULL DEFAULT '[]'::jsonb;
