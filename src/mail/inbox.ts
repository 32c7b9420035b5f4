// The inbox tables: storing received mail (raw message and attachments as
// content-addressed blobs held for GC by blob_holds), the webhook's metadata
// rows that are filled in later, listing, one message, attachments, deletion.
import type { Store } from "../db/index.ts";
import { randomId } from "../core/ids.ts";
import { badRequest, notFound } from "../http/errors.ts";
import { domainOwner } from "../sites/index.ts";
import { holdBlob, putContent, releaseHolds } from "../vfs/content.ts";
import { dropUpload } from "../vfs/builder.ts";
import { stageLargeContents, type Staging } from "../vfs/staging.ts";
import { readBlobBytes } from "../vfs/read.ts";
import { parseAddress } from "./address.ts";

export interface ReceivedAttachment {
  filename: string;
  contentType: string;
  content: Uint8Array;
}

interface ReceivedBody {
  text: string | null;
  html: string | null;
  safeHtml: string | null;
  headers: Record<string, string> | null;
  attachments: ReceivedAttachment[];
}

interface ReceivedMessage extends ReceivedBody {
  sender: string;
  recipients: string[];
  subject: string;
  messageId: string | null;
  raw: Uint8Array | null;
}

const holder = (id: string) => `mail:${id}`;

/** The first recipient's site among those a site owns (null when none does). */
export function recipientSite(store: Store, recipients: string[], baseDomain: string | null): number | null {
  for (const r of recipients) {
    const a = parseAddress(r);
    const owner = a && domainOwner(store, a.domain, baseDomain);
    if (owner) return owner.siteId;
  }
  return null;
}

/** Large contents of a message staged for the site that owns it (stageLargeContents); a message no site owns is stored in one go. */
async function staged(store: Store, siteId: number | null, contents: Uint8Array[]): Promise<Staging> {
  return siteId === null ? { uploadId: null, blobs: new Map() } : stageLargeContents(store, siteId, contents);
}

/** Runs `write` in a transaction that also ends the staging upload (its blobs are held by then); the upload goes on failure too. */
function withStaging<T>(store: Store, staging: Staging, write: () => T): T {
  try {
    return store.tx(() => {
      const result = write();
      if (staging.uploadId) dropUpload(store, staging.uploadId);
      return result;
    });
  } catch (err) {
    if (staging.uploadId) dropUpload(store, staging.uploadId);
    throw err;
  }
}

function storeAttachments(store: Store, id: string, attachments: ReceivedAttachment[], staging: Staging): void {
  const insert = store.write.query(
    "INSERT INTO mail_inbox_attachments (inbox_id, seq, filename, content_type, size, blob_id) VALUES (?, ?, ?, ?, ?, ?)",
  );
  attachments.forEach((a, seq) => {
    const blob = staging.blobs.get(a.content) ?? putContent(store, a.content);
    holdBlob(store, holder(id), blob.blobId);
    insert.run(id, seq, a.filename.slice(0, 255), a.contentType.slice(0, 255), a.content.byteLength, blob.blobId);
  });
}

/** A message received whole (SMTP): large contents staged, then one transaction stores the row, raw message and attachments. */
export async function storeReceived(store: Store, m: ReceivedMessage, siteId: number | null): Promise<string> {
  const id = `in_${randomId(16)}`;
  const staging = await staged(store, siteId, [...(m.raw ? [m.raw] : []), ...m.attachments.map((a) => a.content)]);
  withStaging(store, staging, () => {
    const raw = m.raw ? (staging.blobs.get(m.raw) ?? putContent(store, m.raw)) : null;
    if (raw) holdBlob(store, holder(id), raw.blobId);
    store.write
      .query(
        `INSERT INTO mail_inbox (id, site_id, source, sender, recipients, subject, message_id, text, html, safe_html, headers, raw_blob_id,
           bytes, fetch_status, received_at) VALUES (?, ?, 'smtp', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'complete', ?)`,
      )
      .run(
        id,
        siteId,
        m.sender,
        JSON.stringify(m.recipients),
        m.subject,
        m.messageId,
        m.text,
        m.html,
        m.safeHtml,
        m.headers ? JSON.stringify(m.headers) : null,
        raw?.blobId ?? null,
        m.raw?.byteLength ?? 0,
        Date.now(),
      );
    storeAttachments(store, id, m.attachments, staging);
  });
  return id;
}

interface WebhookMetadata {
  emailId: string;
  sender: string;
  recipients: string[];
  subject: string;
  messageId: string | null;
}

/** The webhook's metadata, stored at once with its body to fetch; null when this email is already stored. */
export function storeWebhookMetadata(store: Store, m: WebhookMetadata, siteId: number | null): string | null {
  const id = `in_${randomId(16)}`;
  const now = Date.now();
  const r = store.write
    .query(
      `INSERT OR IGNORE INTO mail_inbox (id, site_id, source, provider_id, sender, recipients, subject, message_id, fetch_status, next_fetch_at,
         received_at) VALUES (?, ?, 'webhook', ?, ?, ?, ?, ?, 'pending', ?, ?)`,
    )
    .run(id, siteId, m.emailId, m.sender, JSON.stringify(m.recipients), m.subject, m.messageId, now, now);
  return r.changes ? id : null;
}

/** The fetched body of a webhook message; false when the row is gone (deleted meanwhile) or no longer ours. */
export async function completeFetch(
  store: Store,
  id: string,
  siteId: number | null,
  attempt: number,
  body: ReceivedBody,
): Promise<boolean> {
  const staging = await staged(
    store,
    siteId,
    body.attachments.map((a) => a.content),
  );
  return withStaging(store, staging, () => {
    const r = store.write
      .query(
        `UPDATE mail_inbox SET text = ?, html = ?, safe_html = ?, headers = ?, fetch_status = 'complete', fetch_error = NULL,
           next_fetch_at = NULL, lease_until = NULL WHERE id = ? AND fetch_status = 'pending' AND fetch_attempts = ?`,
      )
      .run(body.text, body.html, body.safeHtml, body.headers ? JSON.stringify(body.headers) : null, id, attempt);
    if (r.changes === 0) return false;
    const bytes = body.attachments.reduce((n, a) => n + a.content.byteLength, (body.text?.length ?? 0) + (body.html?.length ?? 0));
    store.write.query("UPDATE mail_inbox SET bytes = ? WHERE id = ?").run(bytes, id);
    storeAttachments(store, id, body.attachments, staging);
    return true;
  });
}

interface InboxRow {
  id: string;
  site_id: number | null;
  source: string;
  sender: string;
  recipients: string;
  subject: string;
  message_id: string | null;
  bytes: number;
  fetch_status: string;
  fetch_error: string | null;
  received_at: number;
}

const LIST_COLUMNS = "id, site_id, source, sender, recipients, subject, message_id, bytes, fetch_status, fetch_error, received_at";

function summary(r: InboxRow) {
  return {
    id: r.id,
    site_id: r.site_id,
    source: r.source,
    from: r.sender,
    to: JSON.parse(r.recipients) as string[],
    subject: r.subject,
    message_id: r.message_id,
    bytes: r.bytes,
    body: r.fetch_status, // complete, pending (webhook body still being fetched) or failed
    fetch_error: r.fetch_error,
    received_at: new Date(r.received_at).toISOString(),
  };
}

/** Up to `max` of a site's received messages become the admin's (site NULL, what its deletion does); returns how many. */
export function detachSiteInbox(store: Store, siteId: number, max: number): number {
  return store.write
    .query("UPDATE mail_inbox SET site_id = NULL WHERE rowid IN (SELECT rowid FROM mail_inbox WHERE site_id = ?1 LIMIT ?2)")
    .run(siteId, max).changes;
}

export function listInbox(store: Store, opts: { limit: number; before?: string; siteId: number | null; recipient?: string }) {
  const where: string[] = [];
  const args: (string | number)[] = [];
  if (opts.siteId !== null) where.push("site_id = ?"), args.push(opts.siteId);
  if (opts.recipient) {
    where.push("EXISTS (SELECT 1 FROM json_each(recipients) WHERE lower(value) LIKE ? ESCAPE '\\')");
    args.push(`%${opts.recipient.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  }
  if (opts.before) {
    const at = store.read.query("SELECT received_at FROM mail_inbox WHERE id = ?").get(opts.before) as { received_at: number } | null;
    if (!at) throw badRequest(`before: no message ${opts.before}`);
    where.push("(received_at < ? OR (received_at = ? AND id < ?))");
    args.push(at.received_at, at.received_at, opts.before);
  }
  const rows = store.read
    .query(
      `SELECT ${LIST_COLUMNS} FROM mail_inbox ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
       ORDER BY received_at DESC, id DESC LIMIT ${opts.limit + 1}`,
    )
    .all(...args) as InboxRow[];
  const items = rows.slice(0, opts.limit).map(summary);
  return { messages: items, next: rows.length > opts.limit ? items.at(-1)!.id : null };
}

function findRow(
  store: Store,
  id: string,
  siteId: number | null,
): InboxRow & { text: string | null; safe_html: string | null; headers: string | null } {
  const row = store.write.query(`SELECT ${LIST_COLUMNS}, text, safe_html, headers FROM mail_inbox WHERE id = ?`).get(id) as
    | (InboxRow & { text: string | null; safe_html: string | null; headers: string | null })
    | null;
  if (!row || (siteId !== null && row.site_id !== siteId)) throw notFound("message_not_found", `no inbox message ${id}`);
  return row;
}

export function getInboxMessage(store: Store, id: string, siteId: number | null) {
  const row = findRow(store, id, siteId);
  const attachments = store.write
    .query("SELECT seq, filename, content_type, size FROM mail_inbox_attachments WHERE inbox_id = ? ORDER BY seq")
    .all(id) as { seq: number; filename: string; content_type: string; size: number }[];
  return {
    ...summary(row),
    text: row.text,
    html: row.safe_html,
    headers: row.headers ? (JSON.parse(row.headers) as Record<string, string>) : null,
    attachments: attachments.map((a) => ({
      index: a.seq,
      filename: a.filename,
      content_type: a.content_type,
      size: a.size,
      url: `/api/mail/inbox/${id}/attachments/${a.seq}`,
    })),
  };
}

export function inboxAttachment(store: Store, id: string, seq: number, siteId: number | null) {
  findRow(store, id, siteId);
  const a = store.write
    .query("SELECT filename, content_type, blob_id FROM mail_inbox_attachments WHERE inbox_id = ? AND seq = ?")
    .get(id, seq) as { filename: string; content_type: string; blob_id: number } | null;
  if (!a) throw notFound("attachment_not_found", `message ${id} has no attachment ${seq}`);
  return { filename: a.filename, contentType: a.content_type, bytes: readBlobBytes(store.write, a.blob_id) };
}

/** Delete a message; its raw message and attachments become garbage for GC unless other content shares them. */
export function deleteInboxMessage(store: Store, id: string, siteId: number | null): void {
  store.tx(() => {
    findRow(store, id, siteId);
    store.write.query("DELETE FROM mail_inbox WHERE id = ?").run(id);
    releaseHolds(store, holder(id));
  });
}
