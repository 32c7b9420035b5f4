-- Mail (issue 13). The 0001 sketches of mail_outbox and mail_inbox held no data
-- (nothing wrote them): they are replaced by the shapes the mail worker needs.
DROP TABLE mail_outbox;
DROP TABLE mail_inbox;

-- Outgoing messages. `message` is the JSON payload handed to the provider
-- (attachments base64 inside); `idempotency_key` is sent with every attempt
-- so that a retry after a lost answer never delivers twice. A row being sent
-- holds a lease (`lease_until`): when its process dies the lease runs out and
-- another claim retries it with the same key.
CREATE TABLE mail_outbox (
  id              TEXT PRIMARY KEY,
  site_id         INTEGER REFERENCES sites(id) ON DELETE SET NULL,
  sender          TEXT NOT NULL,
  recipients      TEXT NOT NULL,               -- JSON array: to, cc and bcc
  subject         TEXT NOT NULL,
  message         TEXT NOT NULL,
  bytes           INTEGER NOT NULL,
  idempotency_key TEXT NOT NULL,
  status          TEXT NOT NULL CHECK (status IN ('queued','sending','sent','failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  failures        INTEGER NOT NULL DEFAULT 0,   -- 5xx and network errors: bounded; 429s wait instead
  last_error      TEXT,
  provider_id     TEXT,
  next_attempt_at INTEGER NOT NULL,
  lease_until     INTEGER,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  sent_at         INTEGER
);
CREATE INDEX mail_outbox_due ON mail_outbox(status, next_attempt_at);
CREATE INDEX mail_outbox_site ON mail_outbox(site_id, created_at);
CREATE INDEX mail_outbox_created ON mail_outbox(created_at);

-- One row per send attempt: when, how it ended (NULL while in flight; 'lost'
-- when its process died), the provider's status code and error.
CREATE TABLE mail_attempts (
  id          INTEGER PRIMARY KEY,
  message_id  TEXT NOT NULL REFERENCES mail_outbox(id) ON DELETE CASCADE,
  attempt     INTEGER NOT NULL,
  started_at  INTEGER NOT NULL,
  finished_at INTEGER,
  outcome     TEXT CHECK (outcome IN ('sent','retry','failed','lost')),
  status_code INTEGER,
  error       TEXT
);
CREATE INDEX mail_attempts_message ON mail_attempts(message_id, attempt);

-- Received mail, by SMTP or by the provider's webhook. A webhook message
-- arrives as metadata (`fetch_status` pending) and its body, headers and
-- attachments are fetched in the background with the outbox's retry rules.
CREATE TABLE mail_inbox (
  id              TEXT PRIMARY KEY,
  site_id         INTEGER REFERENCES sites(id) ON DELETE SET NULL,
  source          TEXT NOT NULL CHECK (source IN ('smtp','webhook')),
  provider_id     TEXT UNIQUE,                 -- the provider's email id (webhook)
  sender          TEXT NOT NULL,
  recipients      TEXT NOT NULL,               -- JSON array
  subject         TEXT NOT NULL,
  message_id      TEXT,
  text            TEXT,
  html            TEXT,                        -- as received
  safe_html       TEXT,                        -- sanitised at ingest (sanitize-html)
  headers         TEXT,                        -- JSON object
  raw_blob_id     INTEGER REFERENCES blobs(id),
  bytes           INTEGER NOT NULL DEFAULT 0,
  fetch_status    TEXT NOT NULL CHECK (fetch_status IN ('complete','pending','failed')),
  fetch_attempts  INTEGER NOT NULL DEFAULT 0,
  fetch_error     TEXT,
  next_fetch_at   INTEGER,
  lease_until     INTEGER,
  received_at     INTEGER NOT NULL
);
CREATE INDEX mail_inbox_received ON mail_inbox(received_at);
CREATE INDEX mail_inbox_site ON mail_inbox(site_id, received_at);
CREATE INDEX mail_inbox_fetch ON mail_inbox(fetch_status, next_fetch_at);

-- Attachments of received mail: content-addressed blobs (vfs), kept alive
-- for garbage collection by a blob_holds row per message.
CREATE TABLE mail_inbox_attachments (
  inbox_id     TEXT NOT NULL REFERENCES mail_inbox(id) ON DELETE CASCADE,
  seq          INTEGER NOT NULL,
  filename     TEXT NOT NULL,
  content_type TEXT NOT NULL,
  size         INTEGER NOT NULL,
  blob_id      INTEGER NOT NULL REFERENCES blobs(id),
  PRIMARY KEY (inbox_id, seq)
) WITHOUT ROWID;

-- svix-ids of accepted webhook deliveries, kept past the timestamp tolerance
-- so a replay inside the window is refused.
CREATE TABLE mail_webhook_seen (
  svix_id    TEXT PRIMARY KEY,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;

-- Owned by vfs: content held by something other than a deploy or an upload
-- (a received mail's raw message and attachments). GC keeps a held blob.
CREATE TABLE blob_holds (
  holder  TEXT NOT NULL,                       -- "mail:INBOX_ID"
  blob_id INTEGER NOT NULL REFERENCES blobs(id),
  PRIMARY KEY (holder, blob_id)
) WITHOUT ROWID;
CREATE INDEX blob_holds_blob ON blob_holds(blob_id);
