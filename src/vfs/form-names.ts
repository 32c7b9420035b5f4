// Forms a deploy declares in its HTML (`<form data-fazt-form="contact" ...>`),
// found at deploy time and kept in the deploy's config, so a submission to
// POST /.fazt/forms/NAME is accepted only for a form the site really has.
// The scan is bounded: the first bytes of each HTML file, a total byte budget
// and a name count.
import type { Database } from "bun:sqlite";
import type { Breather } from "../core/breather.ts";
import { FORM_NAME_RE, MAX_FORMS } from "../sites/settings.ts";

/** Bytes read from the start of each HTML file (a form is rarely further in). */
const SCAN_FILE_BYTES = 512 * 1024;
/** Bytes scanned per deploy over all HTML files; files past it are not scanned (declare their forms in settings). */
export const SCAN_TOTAL_BYTES = 16 * 1024 * 1024;

const ATTRIBUTE = Buffer.from("data-fazt-form");
// After the attribute name: = and a quoted or bare value (HTML attribute syntax).
const VALUE_RE = /^\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+))/;

interface ScannedEntry {
  path: string;
  blobId: number;
  mime: string;
}

/** Names of valid forms declared in the deploy's HTML files, sorted; invalid names are ignored. */
export function declaredForms(db: Database, entries: readonly ScannedEntry[]): string[] {
  const names = new Set<string>();
  for (const _ of scanFiles(db, entries, names));
  return sorted(names);
}

/**
 * The same, letting the event loop run between files once a slice is used up:
 * the budget allows 16 MiB of HTML read back from the database, tens to
 * hundreds of ms in a big deploy, which a server must not spend in one go.
 */
export async function declaredFormsInSlices(db: Database, entries: readonly ScannedEntry[], breather: Breather): Promise<string[]> {
  const names = new Set<string>();
  for (const _ of scanFiles(db, entries, names)) await breather.breathe();
  return sorted(names);
}

/** Scans the HTML files within the budget, one step per file. */
function* scanFiles(db: Database, entries: readonly ScannedEntry[], names: Set<string>): Generator<void> {
  const firstChunks = db.query("SELECT data FROM chunks WHERE blob_id = ? ORDER BY seq LIMIT ?");
  let budget = SCAN_TOTAL_BYTES;
  for (const e of entries) {
    if (!e.mime.startsWith("text/html")) continue;
    if (budget <= 0 || names.size >= MAX_FORMS) return;
    const limit = Math.min(SCAN_FILE_BYTES, budget);
    const rows = firstChunks.all(e.blobId, Math.ceil(limit / (256 * 1024))) as { data: Uint8Array }[];
    const bytes = Buffer.concat(rows.map((r) => r.data)).subarray(0, limit);
    budget -= bytes.length;
    scan(bytes, names);
    yield;
  }
}

function sorted(names: Set<string>): string[] {
  return [...names].sort().slice(0, MAX_FORMS);
}

function scan(bytes: Buffer, names: Set<string>): void {
  // Buffer.indexOf is a native search: no decoding of the whole file.
  for (let at = bytes.indexOf(ATTRIBUTE); at !== -1; at = bytes.indexOf(ATTRIBUTE, at + ATTRIBUTE.length)) {
    const rest = bytes.toString("latin1", at + ATTRIBUTE.length, at + ATTRIBUTE.length + 64);
    const m = VALUE_RE.exec(rest);
    const name = m ? (m[1] ?? m[2] ?? m[3])! : "";
    if (FORM_NAME_RE.test(name)) names.add(name);
  }
}

/** The forms a stored deploy's HTML declared (from its config; none for deploys made before forms existed). */
export function deployFormNames(db: Database, deployId: string): string[] {
  const row = db.query("SELECT json_extract(config, '$.forms') AS forms FROM deploys WHERE id = ?").get(deployId) as {
    forms: string | null;
  } | null;
  return row?.forms ? (JSON.parse(row.forms) as string[]) : [];
}
