-- A gallery that learns (issue 24): faces a user confirms, and with this setting on, matches that are certain, become
-- extra templates of their person (faces.origin 'confirmed' or 'learned', with their sighting). Off by default: a
-- gallery changes only on a user's word unless its owner asks for more.
ALTER TABLE galleries
  ADD COLUMN learn text NOT NULL DEFAULT 'off' CHECK (learn IN ('off', 'certain'));

-- The faces that did not come from a user's own photo: listed and removed per gallery and per person.
CREATE INDEX faces_origin_idx ON faces (gallery_id, origin) WHERE origin <> 'enrolled';
