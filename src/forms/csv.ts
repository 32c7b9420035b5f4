// CSV export of a form's submissions (RFC 4180: CRLF line ends, every cell
// quoted, quotes doubled), streamed a page at a time.
//
// Formula injection: spreadsheet programs run a cell that starts with = + - @
// (or a tab or CR, which they strip first) as a formula, so such a cell is
// prefixed with a single quote ('=1+1). The export is for reading, so the
// value is shown as text rather than round-tripped byte for byte.
//
// Hand-written rather than csv-stringify: quoting is the three lines below, and
// the export streams rows as they are read.
import type { SubmissionView } from "./submissions.ts";

/** At most this many distinct field names become columns; the rest go to "other_fields" as JSON. */
const MAX_CSV_FIELD_COLUMNS = 200;

const FORMULA_START = /^[=+\-@\t\r]/;

function csvCell(value: string): string {
  const safe = FORMULA_START.test(value) ? `'${value}` : value;
  return `"${safe.replace(/"/g, '""')}"`;
}

function csvRow(cells: string[]): string {
  return `${cells.map(csvCell).join(",")}\r\n`;
}

/** The field columns of an export: names in first-seen order, at most MAX_CSV_FIELD_COLUMNS. */
export class FieldColumns {
  private readonly names = new Set<string>();

  add(page: SubmissionView[]): void {
    for (const s of page) {
      for (const f of s.fields) if (this.names.size < MAX_CSV_FIELD_COLUMNS) this.names.add(f.name);
    }
  }

  get list(): string[] {
    return [...this.names];
  }
}

export function csvHeader(columns: string[]): string {
  return csvRow(["id", "created_at", ...columns, "other_fields", "files", "client_hash", "user_agent"]);
}

export function submissionRow(s: SubmissionView, columns: string[]): string {
  const values = new Map<string, string[]>();
  const other: [string, string][] = [];
  const known = new Set(columns);
  for (const f of s.fields) {
    if (!known.has(f.name)) other.push([f.name, f.value]);
    else values.set(f.name, [...(values.get(f.name) ?? []), f.value]);
  }
  return csvRow([
    s.id,
    s.created_at,
    // A repeated field (checkboxes) joins its values with a newline, as one cell.
    ...columns.map((c) => (values.get(c) ?? []).join("\n")),
    other.length ? JSON.stringify(other) : "",
    s.files.map((f) => `${f.filename} (${f.size} bytes)`).join("\n"),
    s.client_hash,
    s.user_agent ?? "",
  ]);
}
