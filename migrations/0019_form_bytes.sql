-- What a site's form submissions hold (fields, user agent and files, in
-- bytes), kept by triggers, so a submission is refused once the site's share
-- (--forms-max-bytes) is used without summing its rows on every request.
ALTER TABLE form_submissions ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
UPDATE form_submissions SET bytes = length(CAST(fields AS BLOB)) + COALESCE(length(CAST(user_agent AS BLOB)), 0)
  + (SELECT COALESCE(SUM(size), 0) FROM form_files WHERE submission_id = form_submissions.id);
CREATE TABLE form_site_bytes (
  site_id INTEGER PRIMARY KEY REFERENCES sites(id) ON DELETE CASCADE,
  bytes   INTEGER NOT NULL
);
INSERT INTO form_site_bytes (site_id, bytes) SELECT site_id, SUM(bytes) FROM form_submissions GROUP BY site_id;
CREATE TRIGGER form_submission_bytes_added AFTER INSERT ON form_submissions BEGIN
  INSERT OR IGNORE INTO form_site_bytes (site_id, bytes) VALUES (NEW.site_id, 0);
  UPDATE form_site_bytes SET bytes = bytes + NEW.bytes WHERE site_id = NEW.site_id;
END;
CREATE TRIGGER form_submission_bytes_removed AFTER DELETE ON form_submissions BEGIN
  UPDATE form_site_bytes SET bytes = bytes - OLD.bytes WHERE site_id = OLD.site_id;
END;
