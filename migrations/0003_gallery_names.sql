-- Gallery names are unique regardless of case, and never shaped like a UUID: a gallery is found by its id or its name,
-- and a name in UUID form would be taken for an id, so that gallery could never be found by name.
-- Existing galleries that break either rule are renamed first, keeping the id suffix unique; ids never change.

UPDATE galleries SET name = 'gallery ' || name
  WHERE name ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';

-- Of names equal but for case, the oldest keeps its name (the default gallery always does); the others get their
-- id's first 8 digits appended.
UPDATE galleries g SET name = left(g.name, 91) || '-' || left(g.id::text, 8)
  FROM (
    SELECT id, row_number() OVER (PARTITION BY lower(name) ORDER BY (name = 'default') DESC, created_at, id) AS rank
    FROM galleries
  ) ranked
  WHERE g.id = ranked.id AND ranked.rank > 1;

CREATE UNIQUE INDEX galleries_lower_name_idx ON galleries (lower(name));

ALTER TABLE galleries ADD CONSTRAINT galleries_name_not_uuid
  CHECK (name !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$');
