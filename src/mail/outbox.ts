// The outbox table: queueing a message (checked and bounded), listing,
// one message with its attempts, and a manual retry of a failed one.
import * as v from "valibot";
import type { CreateEmailOptions } from "resend";
import type { Store } from "../db/index.ts";
import { randomId } from "../core/ids.ts";
import { HttpError, badRequest, limitError, notFound } from "../http/errors.ts";
import { domainOwner } from "../sites/index.ts";
import { MAX_ADDRESS_LENGTH, parseAddress } from "./address.ts";

const MAX_RECIPIENTS = 50; // Resend's own limit per message
const MAX_ATTACHMENTS = 10;
const MAX_ATTACHMENT_BYTES = 7 * 1024 * 1024; // decoded, all attachments together
const MAX_BODY_CHARS = 1024 * 1024; // text and html each
const MAX_HEADERS = 50;
/** POST /api/mail's body limit: both bodies and base64 attachments, with JSON's overhead. */
export const MAIL_BODY_LIMIT = 2 * MAX_BODY_CHARS + Math.ceil((MAX_ATTACHMENT_BYTES * 4) / 3) + 256 * 1024;
/** Queued and sending messages over all sites: the table cannot grow without bound. */
const MAX_PENDING = 200_000;

const line = (max: number) => v.pipe(v.string(), v.maxLength(max), v.regex(/^[^\r\n]*$/, "must be one line"));
const addressText = v.pipe(
  line(MAX_ADDRESS_LENGTH),
  v.check((s) => parseAddress(s) !== null, "is not a mail address"),
);
const addressList = (min: number) => v.pipe(v.array(addressText), v.minLength(min), v.maxLength(MAX_RECIPIENTS));
const oneOrMany = (min: number) =>
  v.union([
    v.pipe(
      addressText,
      v.transform((s) => [s]),
    ),
    addressList(min),
  ]);

export const MailInput = v.pipe(
  v.object({
    from: addressText,
    to: oneOrMany(1),
    cc: v.optional(oneOrMany(0)),
    bcc: v.optional(oneOrMany(0)),
    reply_to: v.optional(oneOrMany(0)),
    subject: line(998),
    text: v.optional(v.pipe(v.string(), v.maxLength(MAX_BODY_CHARS))),
    html: v.optional(v.pipe(v.string(), v.maxLength(MAX_BODY_CHARS))),
    headers: v.optional(
      v.pipe(
        v.record(v.pipe(v.string(), v.regex(/^[A-Za-z0-9-]{1,100}$/, "is not a header name")), line(1000)),
        v.check((h) => Object.keys(h).length <= MAX_HEADERS, `at most ${MAX_HEADERS} headers`),
      ),
    ),
    attachments: v.optional(
      v.pipe(
        v.array(
          v.object({
            filename: v.pipe(line(255), v.minLength(1)),
            content: v.pipe(v.string(), v.regex(/^[A-Za-z0-9+/]*={0,2}$/, "must be base64")),
            content_type: v.optional(line(255)),
          }),
        ),
        v.maxLength(MAX_ATTACHMENTS),
      ),
    ),
  }),
  v.check((m) => m.text !== undefined || m.html !== undefined, "text or html is required"),
  v.check((m) => m.to.length + (m.cc?.length ?? 0) + (m.bcc?.length ?? 0) <= MAX_RECIPIENTS, `at most ${MAX_RECIPIENTS} recipients in all`),
);
export type MailInput = v.InferOutput<typeof MailInput>;

interface SenderRules {
  baseDomain: string | null;
  allowFrom: string[];
}

/**
 * The site a sender address belongs to: its domain must be one a site owns
 * (custom domain or NAME.DOMAIN), or on the allow-list (no site then). A
 * site-scoped caller may send only from its own site's domains.
 */
export function senderSite(store: Store, from: string, callerSiteId: number | null, rules: SenderRules): number | null {
  const { domain } = parseAddress(from)!;
  const owner = domainOwner(store, domain, rules.baseDomain);
  if (callerSiteId !== null) {
    if (owner?.siteId !== callerSiteId)
      throw new HttpError(403, "sender_not_allowed", `this token may send only from its site's domains, not ${domain}`);
    return callerSiteId;
  }
  if (owner) return owner.siteId;
  if (rules.allowFrom.includes(domain)) return null;
  throw new HttpError(403, "sender_not_allowed", `no site owns ${domain} and it is not in --mail-allow-from`);
}

function decodedSize(base64: string): number {
  return Math.floor((base64.length * 3) / 4) - (base64.endsWith("==") ? 2 : base64.endsWith("=") ? 1 : 0);
}

/** The provider's payload for an input (the SDK's create-email shape). */
function providerMessage(m: MailInput): CreateEmailOptions {
  const base = {
    from: m.from,
    to: m.to,
    subject: m.subject,
    ...(m.cc?.length ? { cc: m.cc } : {}),
    ...(m.bcc?.length ? { bcc: m.bcc } : {}),
    ...(m.reply_to?.length ? { replyTo: m.reply_to } : {}),
    ...(m.headers ? { headers: m.headers } : {}),
    ...(m.attachments?.length
      ? { attachments: m.attachments.map((a) => ({ filename: a.filename, content: a.content, contentType: a.content_type })) }
      : {}),
  };
  return (m.html !== undefined ? { ...base, html: m.html, text: m.text } : { ...base, text: m.text! }) as CreateEmailOptions;
}

// Counting unsent rows is O(rows): done at most once a second per store, counted up in between,
// so queueing 10,000 messages is not quadratic. The cap may be passed by a second's worth of inserts.
const pending = new WeakMap<Store, { n: number; at: number }>();

function pendingCount(store: Store): number {
  const now = Date.now();
  const cached = pending.get(store);
  if (cached && now - cached.at < 1000) return cached.n;
  const { n } = store.write.query("SELECT count(*) AS n FROM mail_outbox WHERE status IN ('queued', 'sending')").get() as { n: number };
  pending.set(store, { n, at: now });
  return n;
}

export function queueMail(store: Store, m: MailInput, siteId: number | null): string {
  const attachmentBytes = (m.attachments ?? []).reduce((n, a) => n + decodedSize(a.content), 0);
  if (attachmentBytes > MAX_ATTACHMENT_BYTES) {
    throw limitError("attachments_too_large", `attachments may hold at most ${MAX_ATTACHMENT_BYTES} bytes together (decoded)`);
  }
  const message = JSON.stringify(providerMessage(m));
  const recipients = JSON.stringify([...m.to, ...(m.cc ?? []), ...(m.bcc ?? [])]);
  const id = `out_${randomId(16)}`;
  const now = Date.now();
  store.tx(() => {
    if (pendingCount(store) >= MAX_PENDING) {
      throw new HttpError(429, "outbox_full", `the outbox holds ${MAX_PENDING} unsent messages; retry later`, { "retry-after": "60" });
    }
    pending.get(store)!.n++;
    store.write
      .query(
        `INSERT INTO mail_outbox (id, site_id, sender, recipients, subject, bytes, idempotency_key, status, next_attempt_at, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?)`,
      )
      .run(id, siteId, m.from, recipients, m.subject, message.length, `fazt-${id}-${randomId(8)}`, now, now, now);
    store.write.query("INSERT INTO mail_outbox_payloads (id, message) VALUES (?, ?)").run(id, message);
  });
  return id;
}

interface OutboxRow {
  id: string;
  site_id: number | null;
  sender: string;
  recipients: string;
  subject: string;
  bytes: number;
  status: string;
  attempts: number;
  last_error: string | null;
  provider_id: string | null;
  next_attempt_at: number;
  created_at: number;
  updated_at: number;
  sent_at: number | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function view(r: OutboxRow) {
  return {
    id: r.id,
    site_id: r.site_id,
    from: r.sender,
    to: JSON.parse(r.recipients) as string[],
    subject: r.subject,
    bytes: r.bytes,
    status: r.status,
    attempts: r.attempts,
    last_error: r.last_error,
    provider_id: r.provider_id,
    next_attempt_at: r.status === "queued" ? iso(r.next_attempt_at) : null,
    created_at: iso(r.created_at),
    sent_at: iso(r.sent_at),
  };
}

export const OUTBOX_STATUSES = ["queued", "sending", "sent", "failed"] as const;
const COLUMNS =
  "id, site_id, sender, recipients, subject, bytes, status, attempts, last_error, provider_id, next_attempt_at, created_at, updated_at, sent_at";

interface Page {
  limit: number;
  /** Items older than this id's (keyset paging, newest first). */
  before?: string;
}

/** Up to `max` of a site's messages become the admin's (site NULL, what its deletion does); returns how many. */
export function detachSiteOutbox(store: Store, siteId: number, max: number): number {
  return store.write
    .query("UPDATE mail_outbox SET site_id = NULL WHERE rowid IN (SELECT rowid FROM mail_outbox WHERE site_id = ?1 LIMIT ?2)")
    .run(siteId, max).changes;
}

/** Newest first; `siteId` set: only that site's messages. */
export function listOutbox(store: Store, opts: Page & { siteId: number | null; status?: string }) {
  const where: string[] = [];
  const args: (string | number)[] = [];
  if (opts.siteId !== null) where.push("site_id = ?"), args.push(opts.siteId);
  if (opts.status) where.push("status = ?"), args.push(opts.status);
  if (opts.before) {
    const at = store.read.query("SELECT created_at FROM mail_outbox WHERE id = ?").get(opts.before) as { created_at: number } | null;
    if (!at) throw badRequest(`before: no message ${opts.before}`);
    where.push("(created_at < ? OR (created_at = ? AND id < ?))");
    args.push(at.created_at, at.created_at, opts.before);
  }
  const sql = `SELECT ${COLUMNS} FROM mail_outbox ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
    ORDER BY created_at DESC, id DESC LIMIT ${opts.limit + 1}`;
  const rows = store.read.query(sql).all(...args) as OutboxRow[];
  const more = rows.length > opts.limit;
  const items = rows.slice(0, opts.limit).map(view);
  return { messages: items, next: more ? items.at(-1)!.id : null };
}

function findRow(store: Store, id: string, siteId: number | null): OutboxRow {
  const row = store.write.query(`SELECT ${COLUMNS} FROM mail_outbox WHERE id = ?`).get(id) as OutboxRow | null;
  // A site's token learns nothing about other sites' mail.
  if (!row || (siteId !== null && row.site_id !== siteId)) throw notFound("message_not_found", `no outbox message ${id}`);
  return row;
}

export function getOutboxMessage(store: Store, id: string, siteId: number | null) {
  const row = findRow(store, id, siteId);
  const attempts = store.write
    .query("SELECT attempt, started_at, finished_at, outcome, status_code, error FROM mail_attempts WHERE message_id = ? ORDER BY attempt")
    .all(id) as {
    attempt: number;
    started_at: number;
    finished_at: number | null;
    outcome: string | null;
    status_code: number | null;
    error: string | null;
  }[];
  return {
    ...view(row),
    attempt_log: attempts.map((a) => ({
      attempt: a.attempt,
      started_at: iso(a.started_at),
      finished_at: iso(a.finished_at),
      outcome: a.outcome ?? "in_flight",
      status_code: a.status_code,
      error: a.error,
    })),
  };
}

/** Queue a failed message again, with the same idempotency key (so nothing already accepted goes twice). */
export function retryMessage(store: Store, id: string, siteId: number | null) {
  return store.tx(() => {
    const row = findRow(store, id, siteId);
    if (row.status !== "failed") throw new HttpError(409, "not_failed", `message ${id} is ${row.status}; only failed messages are retried`);
    const now = Date.now();
    store.write
      .query("UPDATE mail_outbox SET status = 'queued', failures = 0, next_attempt_at = ?, updated_at = ? WHERE id = ?")
      .run(now, now, id);
    return view({ ...row, status: "queued", next_attempt_at: now });
  });
}

export function outboxDepth(store: Store): Record<string, number> {
  const rows = store.read.query("SELECT status, count(*) AS n FROM mail_outbox GROUP BY status").all() as { status: string; n: number }[];
  const out: Record<string, number> = Object.fromEntries(OUTBOX_STATUSES.map((s) => [s, 0]));
  for (const r of rows) out[r.status] = r.n;
  return out;
}
