-- Per-hostname ACME state, shared by every process on this database:
-- failures and back-off (so a restart does not hammer the CA), the last
-- error for GET /api/certificates.
CREATE TABLE certificate_status (
  name             TEXT PRIMARY KEY,           -- hostname
  failures         INTEGER NOT NULL DEFAULT 0, -- consecutive failed attempts
  first_failure_at INTEGER,                    -- start of the current failure streak
  last_error       TEXT,
  last_attempt_at  INTEGER,
  next_attempt_at  INTEGER NOT NULL DEFAULT 0, -- no automatic attempt before this
  updated_at       INTEGER NOT NULL
) WITHOUT ROWID;
