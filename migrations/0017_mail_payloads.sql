-- Outgoing payloads apart from their outbox rows (issue 13). A row's status
-- changes on every attempt, and SQLite rewrites a whole row on each update:
-- with the payload inside, a message with attachments was written to the WAL
-- (and replicated) several times per send. The payload of a sent message is
-- dropped (the provider has it); its metadata and attempt log stay.
CREATE TABLE mail_outbox_payloads (
  id      TEXT PRIMARY KEY REFERENCES mail_outbox(id) ON DELETE CASCADE,
  message TEXT NOT NULL                        -- the JSON payload handed to the provider
);
INSERT INTO mail_outbox_payloads (id, message) SELECT id, message FROM mail_outbox WHERE status != 'sent';
ALTER TABLE mail_outbox DROP COLUMN message;
