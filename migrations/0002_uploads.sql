-- Uploads in progress. Content written before its deploy commits is linked
-- here, so garbage collection keeps it; committing a deploy deletes the
-- upload (and so the links) in the same transaction that writes the manifest.
CREATE TABLE uploads (
  id         TEXT PRIMARY KEY,
  site_id    INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
  kind       TEXT NOT NULL CHECK (kind IN ('stream', 'incremental')),
  manifest   TEXT,                             -- incremental: JSON {path: sha256}
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX uploads_expiry ON uploads(expires_at);

CREATE TABLE upload_blobs (
  upload_id TEXT NOT NULL REFERENCES uploads(id) ON DELETE CASCADE,
  blob_id   INTEGER NOT NULL REFERENCES blobs(id) ON DELETE CASCADE,
  PRIMARY KEY (upload_id, blob_id)
) WITHOUT ROWID;
CREATE INDEX upload_blobs_blob ON upload_blobs(blob_id);
