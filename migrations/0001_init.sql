-- Fazt schema v1: the whole world in one file.
-- Times are unix milliseconds (INTEGER) unless named otherwise.

CREATE TABLE settings (
  key        TEXT PRIMARY KEY,
  value      TEXT NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE users (
  id            INTEGER PRIMARY KEY,
  name          TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  created_at    INTEGER NOT NULL
);

CREATE TABLE sites (
  id             INTEGER PRIMARY KEY,
  name           TEXT NOT NULL UNIQUE,
  live_deploy_id TEXT REFERENCES deploys(id) ON DELETE SET NULL,
  settings       TEXT NOT NULL DEFAULT '{}',   -- JSON: spa, hsts, ...
  created_at     INTEGER NOT NULL
);

-- Custom domains (IDNs stored as punycode, lower case, no trailing dot).
CREATE TABLE domains (
  domain     TEXT PRIMARY KEY,
  site_id    INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX domains_site ON domains(site_id);

-- Content-addressed storage: one row per distinct content (SHA-256),
-- the bytes split into chunk rows so big files stream in bounded memory.
CREATE TABLE blobs (
  id         INTEGER PRIMARY KEY,
  hash       TEXT NOT NULL UNIQUE,             -- hex SHA-256 of the content
  size       INTEGER NOT NULL,
  chunks     INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE chunks (
  blob_id INTEGER NOT NULL REFERENCES blobs(id) ON DELETE CASCADE,
  seq     INTEGER NOT NULL,
  data    BLOB NOT NULL,
  PRIMARY KEY (blob_id, seq)
);
-- Precompressed forms of a content (br, gzip), made once, kept only when smaller.
CREATE TABLE blob_variants (
  blob_id         INTEGER NOT NULL REFERENCES blobs(id) ON DELETE CASCADE,
  encoding        TEXT NOT NULL,
  variant_blob_id INTEGER NOT NULL REFERENCES blobs(id),
  PRIMARY KEY (blob_id, encoding)
) WITHOUT ROWID;
CREATE INDEX blob_variants_variant ON blob_variants(variant_blob_id);

-- A deploy is an immutable manifest: path -> content.
CREATE TABLE deploys (
  id         TEXT PRIMARY KEY,                 -- short random, DNS-label safe
  site_id    INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
  files      INTEGER NOT NULL,
  bytes      INTEGER NOT NULL,
  config     TEXT NOT NULL DEFAULT '{}',       -- parsed _redirects / _headers (JSON)
  created_at INTEGER NOT NULL
);
CREATE INDEX deploys_site ON deploys(site_id, created_at);

CREATE TABLE deploy_files (
  deploy_id TEXT NOT NULL REFERENCES deploys(id) ON DELETE CASCADE,
  path      TEXT NOT NULL,                     -- "/index.html"
  blob_id   INTEGER NOT NULL REFERENCES blobs(id),
  size      INTEGER NOT NULL,
  mime      TEXT NOT NULL,
  PRIMARY KEY (deploy_id, path)
) WITHOUT ROWID;
CREATE INDEX deploy_files_blob ON deploy_files(blob_id);

-- certmagic-style storage and its locks.
CREATE TABLE certificates (
  key        TEXT PRIMARY KEY,
  value      BLOB NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE locks (
  name       TEXT PRIMARY KEY,
  owner      TEXT NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE acme_challenges (
  token             TEXT PRIMARY KEY,
  key_authorization TEXT NOT NULL,
  domain            TEXT NOT NULL,
  created_at        INTEGER NOT NULL
) WITHOUT ROWID;

-- Raw analytics events (kept for a window) and hourly rollups (kept long).
CREATE TABLE analytics_events (
  id        INTEGER PRIMARY KEY,
  ts        INTEGER NOT NULL,
  site_id   INTEGER NOT NULL,
  path      TEXT NOT NULL,
  status    INTEGER NOT NULL,
  bytes     INTEGER NOT NULL,
  referrer  TEXT,
  browser   TEXT,
  os        TEXT,
  device    TEXT,
  bot       INTEGER NOT NULL DEFAULT 0,
  visitor   TEXT NOT NULL
);
CREATE INDEX analytics_events_site_ts ON analytics_events(site_id, ts);
CREATE TABLE analytics_hourly (
  site_id  INTEGER NOT NULL,
  hour     INTEGER NOT NULL,                   -- unix seconds, start of the hour (UTC)
  views    INTEGER NOT NULL DEFAULT 0,
  visitors INTEGER NOT NULL DEFAULT 0,
  bytes    INTEGER NOT NULL DEFAULT 0,
  s2xx     INTEGER NOT NULL DEFAULT 0,
  s3xx     INTEGER NOT NULL DEFAULT 0,
  s4xx     INTEGER NOT NULL DEFAULT 0,
  s5xx     INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (site_id, hour)
) WITHOUT ROWID;

-- Mail: an outbox worked by a background sender, an inbox filled by SMTP or webhook.
CREATE TABLE mail_outbox (
  id              TEXT PRIMARY KEY,
  sender          TEXT NOT NULL,
  recipients      TEXT NOT NULL,               -- JSON array
  subject         TEXT NOT NULL,
  text            TEXT,
  html            TEXT,
  status          TEXT NOT NULL CHECK (status IN ('queued','sending','sent','failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  last_error      TEXT,
  provider_id     TEXT,
  next_attempt_at INTEGER NOT NULL,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
);
CREATE INDEX mail_outbox_due ON mail_outbox(status, next_attempt_at);
CREATE TABLE mail_inbox (
  id          TEXT PRIMARY KEY,
  sender      TEXT NOT NULL,
  recipients  TEXT NOT NULL,                   -- JSON array
  subject     TEXT NOT NULL,
  text        TEXT,
  html        TEXT,
  raw         BLOB,
  received_at INTEGER NOT NULL
);

-- API tokens: "fzt_<id>_<secret>"; only SHA-256(secret) is stored.
CREATE TABLE tokens (
  id           TEXT PRIMARY KEY,
  secret_hash  BLOB NOT NULL,
  site_id      INTEGER REFERENCES sites(id) ON DELETE CASCADE,  -- NULL: admin
  label        TEXT NOT NULL DEFAULT '',
  created_at   INTEGER NOT NULL,
  last_used_at INTEGER
) WITHOUT ROWID;
