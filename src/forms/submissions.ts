// The forms tables (migration 0015): storing a submission with its files
// (blobs held for GC as "form:ID"), the forms of a site with their counts,
// paging, one file, deleting, and the daily salt of client hashes.
import type { Store } from "../db/index.ts";
import { randomId } from "../core/ids.ts";
import { badRequest, notFound } from "../http/errors.ts";
import { holdBlob, putContent } from "../vfs/content.ts";
import { dropUpload } from "../vfs/builder.ts";
import { stageLargeContents } from "../vfs/staging.ts";
import { readBlobBytes } from "../vfs/read.ts";
import type { Upload } from "./parse.ts";

interface NewSubmission {
  siteId: number;
  form: string;
  fields: [string, string][];
  files: Upload[];
  clientHash: string;
  userAgent: string | null;
}

export const SUBMISSION_ID_RE = /^sub_[a-z2-7]{16}$/;

export function newSubmissionId(): string {
  return `sub_${randomId(16)}`;
}

const holder = (id: string) => `form:${id}`;

/**
 * Store a submission and its files: big files are staged first, then one
 * transaction writes the row, small files, the holds (`form:ID`) and runs
 * `alsoInTx` (the notification), and ends the staging upload.
 */
export async function storeSubmission(store: Store, s: NewSubmission, alsoInTx: (id: string) => void = () => {}): Promise<string> {
  const { uploadId, blobs } = await stageLargeContents(
    store,
    s.siteId,
    s.files.map((f) => f.bytes),
  );
  const id = newSubmissionId();
  try {
    store.tx(() => {
      const fields = JSON.stringify(s.fields);
      store.write
        .query(
          "INSERT INTO form_submissions (id, site_id, form, fields, client_hash, user_agent, created_at, bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .run(id, s.siteId, s.form, fields, s.clientHash, s.userAgent, Date.now(), submissionBytes(s.fields, s.userAgent, s.files));
      const addFile = store.write.query(
        "INSERT INTO form_files (submission_id, seq, field, filename, content_type, size, blob_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
      );
      s.files.forEach((f, seq) => {
        const blob = blobs.get(f.bytes) ?? putContent(store, f.bytes);
        holdBlob(store, holder(id), blob.blobId);
        addFile.run(id, seq, f.field, f.filename, f.contentType, f.bytes.length, blob.blobId);
      });
      if (uploadId) dropUpload(store, uploadId); // the holds keep the staged files from now on
      alsoInTx(id);
    });
  } catch (err) {
    if (uploadId) dropUpload(store, uploadId);
    throw err;
  }
  return id;
}

// ---- client hashes ---------------------------------------------------------

const salts = new WeakMap<Store, { day: string; salt: Uint8Array }>();

/** Today's salt (UTC); yesterday's and older are deleted when a new day's is made. */
function todaysSalt(store: Store): Uint8Array {
  const day = new Date().toISOString().slice(0, 10);
  const cached = salts.get(store);
  if (cached?.day === day) return cached.salt;
  const salt = store.tx(() => {
    store.write.query("INSERT OR IGNORE INTO form_salts (day, salt) VALUES (?, ?)").run(day, crypto.getRandomValues(new Uint8Array(32)));
    store.write.query("DELETE FROM form_salts WHERE day < ?").run(day);
    return (store.write.query("SELECT salt FROM form_salts WHERE day = ?").get(day) as { salt: Uint8Array }).salt;
  });
  salts.set(store, { day, salt });
  return salt;
}

/** SHA-256(daily salt, address), 16 hex digits: tells repeated clients apart within a day, never the address. */
export function clientHash(store: Store, address: string): string {
  return new Bun.CryptoHasher("sha256").update(todaysSalt(store)).update(address).digest("hex").slice(0, 16);
}

// ---- reading -----------------------------------------------------------------

interface FormCount {
  form: string;
  submissions: number;
  lastAt: number | null;
}

export function formCounts(store: Store, siteId: number): FormCount[] {
  return store.read
    .query("SELECT form, count(*) AS submissions, max(created_at) AS lastAt FROM form_submissions WHERE site_id = ? GROUP BY form")
    .all(siteId) as FormCount[];
}

interface SubmissionRow {
  id: string;
  fields: string;
  client_hash: string;
  user_agent: string | null;
  created_at: number;
}

export interface FileView {
  seq: number;
  field: string;
  filename: string;
  content_type: string;
  size: number;
}

export interface SubmissionView {
  id: string;
  created_at: string;
  fields: { name: string; value: string }[];
  files: FileView[];
  client_hash: string;
  user_agent: string | null;
}

interface Page {
  limit: number;
  /** Submissions older than this one (keyset paging, newest first). */
  before?: string;
}

function rowsBefore(store: Store, siteId: number, form: string, page: Page): SubmissionRow[] {
  const args: (string | number)[] = [siteId, form];
  let where = "site_id = ? AND form = ?";
  if (page.before) {
    const at = store.read.query("SELECT created_at FROM form_submissions WHERE id = ? AND site_id = ?").get(page.before, siteId) as {
      created_at: number;
    } | null;
    if (!at) throw badRequest(`before: no submission ${page.before}`);
    where += " AND (created_at < ? OR (created_at = ? AND id < ?))";
    args.push(at.created_at, at.created_at, page.before);
  }
  return store.read
    .query(
      `SELECT id, fields, client_hash, user_agent, created_at FROM form_submissions WHERE ${where}
       ORDER BY created_at DESC, id DESC LIMIT ?`,
    )
    .all(...args, page.limit) as SubmissionRow[];
}

function filesOf(store: Store, ids: string[]): Map<string, FileView[]> {
  const byId = new Map<string, FileView[]>();
  if (ids.length === 0) return byId;
  const rows = store.read
    .query(
      `SELECT submission_id AS id, seq, field, filename, content_type, size FROM form_files
       WHERE submission_id IN (${ids.map(() => "?").join(",")}) ORDER BY submission_id, seq`,
    )
    .all(...ids) as (FileView & { id: string })[];
  for (const { id, ...f } of rows) {
    const list = byId.get(id) ?? [];
    list.push(f);
    byId.set(id, list);
  }
  return byId;
}

function view(r: SubmissionRow, files: FileView[]): SubmissionView {
  return {
    id: r.id,
    created_at: new Date(r.created_at).toISOString(),
    fields: (JSON.parse(r.fields) as [string, string][]).map(([name, value]) => ({ name, value })),
    files,
    client_hash: r.client_hash,
    user_agent: r.user_agent,
  };
}

/** One page of a form's submissions, newest first; `next` is the `before` of the following page. */
export function listSubmissions(
  store: Store,
  siteId: number,
  form: string,
  page: Page,
): { submissions: SubmissionView[]; next: string | null } {
  const rows = rowsBefore(store, siteId, form, { ...page, limit: page.limit + 1 });
  const more = rows.length > page.limit;
  const shown = rows.slice(0, page.limit);
  const files = filesOf(
    store,
    shown.map((r) => r.id),
  );
  return { submissions: shown.map((r) => view(r, files.get(r.id) ?? [])), next: more ? shown.at(-1)!.id : null };
}

/** Every submission of a form, newest first, a page at a time (for the CSV export). */
export function* allSubmissions(store: Store, siteId: number, form: string, pageSize = 500): Generator<SubmissionView[]> {
  let before: string | undefined;
  for (;;) {
    const { submissions, next } = listSubmissions(store, siteId, form, { limit: pageSize, before });
    if (submissions.length) yield submissions;
    if (!next) return;
    before = next;
  }
}

export function submissionFile(store: Store, siteId: number, form: string, id: string, seq: number): FileView & { bytes: Uint8Array } {
  const row = store.read
    .query(
      `SELECT f.seq, f.field, f.filename, f.content_type, f.size, f.blob_id AS blobId FROM form_files f
       JOIN form_submissions s ON s.id = f.submission_id WHERE s.id = ? AND s.site_id = ? AND s.form = ? AND f.seq = ?`,
    )
    .get(id, siteId, form, seq) as (FileView & { blobId: number }) | null;
  if (!row) throw notFound("file_not_found", `submission ${id} has no file ${seq}`);
  const { blobId, ...file } = row;
  return { ...file, bytes: readBlobBytes(store.read, blobId) };
}

/** What a submission holds: its fields as stored (JSON), its user agent and its files (the triggers of migration 0019 add it to its site's total). */
export function submissionBytes(fields: readonly [string, string][], userAgent: string | null, files: readonly Upload[]): number {
  return Buffer.byteLength(JSON.stringify(fields)) + Buffer.byteLength(userAgent ?? "") + files.reduce((n, f) => n + f.bytes.length, 0);
}

/** Bytes a site's stored submissions hold (kept by triggers). */
export function siteSubmissionBytes(store: Store, siteId: number): number {
  return (store.write.query("SELECT bytes FROM form_site_bytes WHERE site_id = ?").get(siteId) as { bytes: number } | null)?.bytes ?? 0;
}

/** Delete up to `max` of a site's submissions (before the site goes, a slice at a time); returns how many went. */
export function deleteSiteSubmissions(store: Store, siteId: number, max: number): number {
  return (
    store.write
      // By primary key: with `site_id = ?` outside too, SQLite walks all the site's rows for every slice.
      .query("DELETE FROM form_submissions WHERE id IN (SELECT id FROM form_submissions WHERE site_id = ?1 LIMIT ?2)")
      .run(siteId, max).changes
  );
}

/** Delete one submission; its files' holds go with it (a trigger), so GC can take their blobs. */
export function deleteSubmission(store: Store, siteId: number, form: string, id: string): void {
  const r = store.write.query("DELETE FROM form_submissions WHERE id = ? AND site_id = ? AND form = ?").run(id, siteId, form);
  if (r.changes === 0) throw notFound("submission_not_found", `form ${form} has no submission ${id}`);
}
