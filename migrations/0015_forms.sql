-- Form submissions to POST /.fazt/forms/NAME on a site (owned by src/forms/).
-- fields: JSON [[name, value], ...] in the order sent; client_hash: a salted
-- SHA-256 of the client address (never the address itself).
CREATE TABLE form_submissions (
  id          TEXT PRIMARY KEY,                 -- "sub_" + 16 letters
  site_id     INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
  form        TEXT NOT NULL,
  fields      TEXT NOT NULL,
  client_hash TEXT NOT NULL,
  user_agent  TEXT,
  created_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX form_submissions_form ON form_submissions(site_id, form, created_at, id);

-- Uploaded files of a submission: content-addressed blobs (vfs), kept alive for
-- garbage collection by a blob_holds row "form:SUBMISSION_ID".
CREATE TABLE form_files (
  submission_id TEXT NOT NULL REFERENCES form_submissions(id) ON DELETE CASCADE,
  seq           INTEGER NOT NULL,
  field         TEXT NOT NULL,
  filename      TEXT NOT NULL,
  content_type  TEXT NOT NULL,
  size          INTEGER NOT NULL,
  blob_id       INTEGER NOT NULL REFERENCES blobs(id),
  PRIMARY KEY (submission_id, seq)
) WITHOUT ROWID;

-- However a submission goes (deleted by the API, or with its site), its blobs are
-- released in the same statement, so garbage collection can take them.
CREATE TRIGGER form_submission_deleted AFTER DELETE ON form_submissions BEGIN
  DELETE FROM blob_holds WHERE holder = 'form:' || OLD.id;
END;

-- One random salt per UTC day for client hashes; older ones are deleted, so a
-- hash cannot be turned back into an address by trying all of them.
CREATE TABLE form_salts (
  day  TEXT PRIMARY KEY,                        -- YYYY-MM-DD
  salt BLOB NOT NULL
) WITHOUT ROWID;
