-- API keys for the HTTP service. Only a hash of each key is stored; the key itself is shown once, at creation.

CREATE TABLE api_keys (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
  role text NOT NULL CHECK (role IN ('admin', 'recognize')),
  -- The first characters of the key, to tell keys apart in listings and logs.
  prefix text NOT NULL,
  -- sha256 of the whole key: keys are 256-bit random, so a fast hash cannot be brute-forced.
  key_hash text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  revoked_at timestamptz
);
