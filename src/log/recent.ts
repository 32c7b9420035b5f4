// The last warnings and errors, kept in memory for the System screen
// (GET /api/system). Bounded by count and by bytes: a flood of long messages
// costs at most MAX_BYTES, the oldest records go first.

interface RecentRecord {
  t: string;
  level: "warn" | "error";
  msg: string;
  /** The record's other fields as JSON, cut to MAX_DETAIL_CHARS. */
  detail: string | null;
}

export const MAX_RECORDS = 100;
export const MAX_BYTES = 64 * 1024;
const MAX_MSG_CHARS = 500;
const MAX_DETAIL_CHARS = 2000;
const RECORD_OVERHEAD = 64; // the object, its timestamp and level

const cut = (s: string, max: number) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

/** Estimated bytes held by a record (UTF-16 strings: two bytes a character). */
const sizeOf = (r: RecentRecord) => RECORD_OVERHEAD + 2 * (r.msg.length + (r.detail?.length ?? 0));

export class RecentLog {
  private records: RecentRecord[] = [];
  private bytes = 0;

  constructor(
    private readonly maxRecords = MAX_RECORDS,
    private readonly maxBytes = MAX_BYTES,
  ) {}

  add(level: RecentRecord["level"], msg: string, fields: Record<string, unknown> | undefined, at = new Date()): void {
    const detail = fields && Object.keys(fields).length ? cut(safeJson(fields), MAX_DETAIL_CHARS) : null;
    const record: RecentRecord = { t: at.toISOString(), level, msg: cut(msg, MAX_MSG_CHARS), detail };
    this.records.push(record);
    this.bytes += sizeOf(record);
    while (this.records.length > this.maxRecords || this.bytes > this.maxBytes) this.bytes -= sizeOf(this.records.shift()!);
  }

  /** Newest first. */
  list(): RecentRecord[] {
    return this.records.toReversed();
  }

  /** Estimated bytes held now. */
  get size(): number {
    return this.bytes;
  }
}

function safeJson(fields: Record<string, unknown>): string {
  try {
    return JSON.stringify(fields, (_k, v: unknown) => (v instanceof Error ? v.message : typeof v === "bigint" ? String(v) : v));
  } catch {
    return "(fields not serialisable)";
  }
}
