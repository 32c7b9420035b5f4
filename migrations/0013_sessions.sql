-- Sessions of the web UI. The cookie carries "<id>.<secret>"; only
-- SHA-256(secret) is stored, so a copy of the database cannot sign anyone in.
-- A session ends at expires_at (absolute) or after an idle period past
-- last_seen_at; deleting the row signs it out at once.
CREATE TABLE sessions (
  id           TEXT PRIMARY KEY,
  secret_hash  BLOB NOT NULL,
  user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at   INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_user ON sessions(user_id);

-- Who made a deploy: "user NAME" (a UI session) or "token ID" (an API token); NULL before 0013.
ALTER TABLE deploys ADD COLUMN created_by TEXT;
