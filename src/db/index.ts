// The database layer: opening fazt.db with the right pragmas, checking it is
// really SQLite, and bringing its schema up to date.
import { Database } from "bun:sqlite";
import { existsSync, openSync, readSync, closeSync, statSync } from "node:fs";
import { migrations as embedded, type Migration } from "./migrations.ts";

export class DatabaseError extends Error {}

// Applied on every connection. mmap matters: Bun's SQLite reads overflow
// pages (our BLOB chunks) with syscalls otherwise, ~3x slower.
// busy_timeout first: switching to WAL (and WAL recovery after a crash) needs
// locks that another process's reader may hold for a moment.
// auto_vacuum before journal_mode: on a new file it only takes effect before
// the header is written (on an existing one it is a no-op; see reclaimableOnce).
export const PRAGMAS: Record<string, string | number> = {
  busy_timeout: 5000,
  auto_vacuum: "INCREMENTAL",
  journal_mode: "WAL",
  synchronous: "NORMAL",
  foreign_keys: "ON",
  cache_size: -16000, // 16 MiB page cache per connection
  mmap_size: 256 * 1024 * 1024,
  wal_autocheckpoint: 1000, // SQLite's default: polite to Litestream
  temp_store: "MEMORY",
  // A WAL grown by a big deploy is cut back to this after a checkpoint.
  journal_size_limit: 64 * 1024 * 1024,
};

const SQLITE_MAGIC = "SQLite format 3\0";

/** Refuse anything that exists, is non-empty and is not an SQLite file. */
export function assertSqliteFile(path: string): void {
  if (path === ":memory:" || !existsSync(path)) return;
  const st = statSync(path);
  if (!st.isFile()) throw new DatabaseError(`${path} is not a regular file`);
  if (st.size === 0) return;
  const fd = openSync(path, "r");
  try {
    const head = Buffer.alloc(16);
    const n = readSync(fd, head, 0, 16, 0);
    if (n < 16 || head.toString("latin1") !== SQLITE_MAGIC) {
      throw new DatabaseError(`${path} is not a Fazt database (not an SQLite file); refusing to touch it`);
    }
  } finally {
    closeSync(fd);
  }
}

export function applyPragmas(db: Database, opts: { readonly?: boolean } = {}): void {
  for (const [name, value] of Object.entries(PRAGMAS)) {
    if (opts.readonly && (name === "journal_mode" || name === "auto_vacuum")) continue;
    db.run(`PRAGMA ${name} = ${value}`);
  }
  if (opts.readonly) db.run("PRAGMA query_only = ON");
}

export function schemaVersion(db: Database): number {
  const t = db.query("SELECT name FROM sqlite_master WHERE type='table' AND name='schema_migrations'").get();
  if (!t) return 0;
  const row = db.query("SELECT MAX(version) AS v FROM schema_migrations").get() as { v: number | null };
  return row.v ?? 0;
}

/**
 * Make a database that predates auto_vacuum give freed pages back: switching
 * an existing file to incremental auto-vacuum takes one VACUUM (a rewrite of
 * the whole file, once). It runs at open, before anything else uses the
 * connection, with its copy on disk (temp_store FILE) rather than in memory.
 * A database another process holds open stays as it is until the next open.
 */
export type AutoVacuumState = "already" | "vacuumed" | "busy";

export function reclaimableOnce(db: Database): AutoVacuumState {
  const { auto_vacuum: mode } = db.query("PRAGMA auto_vacuum").get() as { auto_vacuum: number };
  if (mode === 2) return "already";
  try {
    db.run("PRAGMA auto_vacuum = INCREMENTAL");
    db.run("PRAGMA temp_store = FILE");
    db.run("VACUUM");
    return "vacuumed";
  } catch (err) {
    if ((err as { code?: string }).code?.startsWith("SQLITE_BUSY")) return "busy";
    throw err;
  } finally {
    db.run(`PRAGMA temp_store = ${PRAGMAS.temp_store}`);
  }
}

/** Pages on the free list (space fazt.db holds but does not use). */
export function freePages(db: Database): number {
  return (db.query("PRAGMA freelist_count").get() as { freelist_count: number }).freelist_count;
}

/** Apply pending migrations in one transaction; refuse a newer schema. */
export function migrate(db: Database, list: readonly Migration[] = embedded): { from: number; to: number } {
  const known = list.reduce((m, x) => Math.max(m, x.version), 0);
  const from = schemaVersion(db);
  if (from > known) {
    throw new DatabaseError(
      `database schema version ${from} is newer than this fazt knows (${known}); upgrade fazt`,
    );
  }
  // By set, not by max: migration numbers are reserved per area and may land out of order.
  const applied = new Set(
    from === 0 ? [] : (db.query("SELECT version FROM schema_migrations").all() as { version: number }[]).map((r) => r.version),
  );
  const pending = list.filter((m) => !applied.has(m.version)).sort((a, b) => a.version - b.version);
  if (pending.length === 0) return { from, to: from };
  db.transaction(() => {
    db.run(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
    const record = db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)");
    for (const m of pending) {
      db.run(m.sql);
      record.run(m.version, m.name, Date.now());
    }
  }).immediate();
  return { from, to: Math.max(from, pending.at(-1)!.version) };
}

function openConnection(path: string, readonly: boolean): Database {
  const db = readonly ? new Database(path, { readonly: true }) : new Database(path, { create: true, readwrite: true });
  try {
    applyPragmas(db, { readonly });
  } catch (err) {
    db.close();
    throw new DatabaseError(`cannot open ${path}: ${(err as Error).message}`);
  }
  return db;
}

/**
 * Fazt's two connections: one writer (all changes go through it, so there
 * is one writer) and one reader for the request path. In WAL mode the reader
 * sees the last committed state and never waits for the writer.
 */
export class Store {
  readonly write: Database;
  readonly read: Database;

  private constructor(
    readonly path: string,
    write: Database,
    read: Database,
    /** What opening did about incremental auto-vacuum (see reclaimableOnce), for the caller to report. */
    readonly autoVacuum: AutoVacuumState,
  ) {
    this.write = write;
    this.read = read;
  }

  static open(path: string): Store {
    assertSqliteFile(path);
    let write: Database;
    try {
      write = openConnection(path, false);
      write.query("SELECT count(*) FROM sqlite_master").get(); // forces a header read
    } catch (err) {
      if (err instanceof DatabaseError) throw err;
      throw new DatabaseError(`cannot open ${path}: ${(err as Error).message}`);
    }
    let autoVacuum: AutoVacuumState = "already";
    try {
      migrate(write);
      if (path !== ":memory:") autoVacuum = reclaimableOnce(write);
    } catch (err) {
      write.close();
      throw err;
    }
    const read = path === ":memory:" ? write : openConnection(path, true);
    return new Store(path, write, read, autoVacuum);
  }

  /**
   * Give up to `pages` free pages back to the file system (incremental
   * vacuum: the file shrinks at the next checkpoint). Returns how many are still free.
   */
  reclaim(pages: number): number {
    this.write.run(`PRAGMA incremental_vacuum(${Math.max(1, Math.floor(pages))})`);
    return freePages(this.write);
  }

  /** Free pages and the page size: the space fazt.db holds but does not use. */
  freeSpace(): { pages: number; bytes: number } {
    const pages = freePages(this.write);
    const { page_size } = this.write.query("PRAGMA page_size").get() as { page_size: number };
    return { pages, bytes: pages * page_size };
  }

  /** Copy the WAL into the file without waiting for readers, so the file takes its new size. */
  checkpoint(): void {
    this.write.run("PRAGMA wal_checkpoint(PASSIVE)");
  }

  /** Run fn in one IMMEDIATE write transaction. */
  tx<T>(fn: () => T): T {
    return this.write.transaction(fn).immediate();
  }

  close(): void {
    if (this.read !== this.write) this.read.close();
    this.write.close();
  }
}
