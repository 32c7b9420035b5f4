// The database layer: opening fazt.db with the right pragmas and file modes,
// checking it is really a Fazt database, and bringing its schema up to date.
import { Database } from "bun:sqlite";
import { existsSync, openSync, readSync, closeSync, statSync } from "node:fs";
import { migrations as embedded, type Migration } from "./migrations.ts";
import { createPrivateFile, tightenModes } from "./files.ts";

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

function inode(path: string): number | null {
  return path === ":memory:" || !existsSync(path) ? null : statSync(path).ino;
}

function applyPragmas(db: Database, opts: { readonly?: boolean } = {}): void {
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

interface AppliedMigration {
  version: number;
  name: string;
}

function appliedMigrations(db: Database): AppliedMigration[] {
  if (schemaVersion(db) === 0) return [];
  return db.query("SELECT version, name FROM schema_migrations ORDER BY version").all() as AppliedMigration[];
}

/**
 * Refuse a database that a newer fazt has migrated: any applied migration this
 * binary does not know (not only a higher maximum, since numbers land out of order).
 */
export function assertKnownMigrations(db: Database, list: readonly Migration[] = embedded, what = "database"): void {
  const known = new Set(list.map((m) => m.version));
  const unknown = appliedMigrations(db).filter((m) => !known.has(m.version));
  if (unknown.length === 0) return;
  const newest = list.reduce((m, x) => Math.max(m, x.version), 0);
  throw new DatabaseError(
    `${what} has migration ${unknown.map((m) => m.name).join(", ")}, newer than this fazt knows ` +
      `(its newest is ${String(newest).padStart(4, "0")}): it was written by a newer fazt; upgrade fazt`,
  );
}

/**
 * What an open SQLite database is: "empty" (no schema yet: Fazt may create
 * its own), "fazt" (Fazt's migrations table with Fazt's first migration), or
 * "foreign" (another application's database, which Fazt must not touch).
 */
export function databaseKind(db: Database, list: readonly Migration[] = embedded): "empty" | "fazt" | "foreign" {
  const objects = db.query("SELECT count(*) AS n FROM sqlite_master").get() as { n: number };
  if (objects.n === 0) return "empty";
  const columns = db.query("SELECT name FROM pragma_table_info('schema_migrations')").all() as { name: string }[];
  const has = (c: string) => columns.some((x) => x.name === c);
  if (!has("version") || !has("name") || !has("applied_at")) return "foreign";
  const first = db.query("SELECT name FROM schema_migrations WHERE version = 1").get() as { name: string } | null;
  return first !== null && first.name === list[0]!.name ? "fazt" : "foreign";
}

/** Refuse another application's database (and a newer Fazt's) before anything is written to it. */
export function assertFaztDatabase(db: Database, path: string, opts: { allowEmpty: boolean }): void {
  const kind = databaseKind(db);
  if (kind === "foreign") {
    throw new DatabaseError(
      `${path} is not a Fazt database: it is another application's SQLite file (no Fazt migrations table); fazt leaves it untouched`,
    );
  }
  if (kind === "empty" && !opts.allowEmpty) throw new DatabaseError(`${path} is an empty SQLite database, not a Fazt database`);
  assertKnownMigrations(db, embedded, path);
}

/**
 * Make a database that predates auto_vacuum give freed pages back: switching
 * an existing file to incremental auto-vacuum takes one VACUUM (a rewrite of
 * the whole file, once). It runs at open, before anything else uses the
 * connection, with its copy on disk (temp_store FILE) rather than in memory.
 * A database another process holds open stays as it is until the next open.
 */
type AutoVacuumState = "already" | "vacuumed" | "busy";

function reclaimableOnce(db: Database): AutoVacuumState {
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
function freePages(db: Database): number {
  return (db.query("PRAGMA freelist_count").get() as { freelist_count: number }).freelist_count;
}

/** Apply pending migrations in one transaction; refuse a newer schema. */
export function migrate(db: Database, list: readonly Migration[] = embedded): { from: number; to: number } {
  assertKnownMigrations(db, list);
  const from = schemaVersion(db);
  // By set, not by max: migration numbers are reserved per area and may land out of order.
  const applied = new Set(appliedMigrations(db).map((r) => r.version));
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

function openReader(path: string): Database {
  const db = new Database(path, { readonly: true });
  try {
    applyPragmas(db, { readonly: true });
  } catch (err) {
    db.close();
    throw new DatabaseError(`cannot open ${path}: ${(err as Error).message}`);
  }
  return db;
}

/** The writer connection, once the file is known to be Fazt's (or empty) and still the one at `path`. */
function openChecked(path: string): Database {
  const inodeBefore = inode(path);
  let db: Database | null = null;
  try {
    // The check reads the schema before the WAL pragma, which would already write to a foreign file.
    db = path === ":memory:" ? new Database(path) : new Database(path, { readwrite: true });
    db.run(`PRAGMA busy_timeout = ${PRAGMAS.busy_timeout}`);
    assertFaztDatabase(db, path, { allowEmpty: true });
    // A restore renames a new file over the path while it holds the old one locked: refuse the stale inode.
    if (inode(path) !== inodeBefore) throw new DatabaseError(`${path} was replaced while it was being opened; start again`);
    applyPragmas(db);
    return db;
  } catch (err) {
    db?.close();
    if (err instanceof DatabaseError) throw err;
    throw new DatabaseError(`cannot open ${path}: ${(err as Error).message}`);
  }
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

  /**
   * Open (or create) a Fazt database. Another application's SQLite file and
   * a newer Fazt's database are refused before anything is written to them.
   * The file and its -wal/-shm are private (0600): created so, and tightened
   * (with a warning) when an older fazt or a copy left them readable by others.
   */
  static open(path: string, opts: { warn?: (message: string) => void } = {}): Store {
    assertSqliteFile(path);
    if (path !== ":memory:" && !existsSync(path)) createPrivateFile(path);
    const write = openChecked(path);
    let autoVacuum: AutoVacuumState = "already";
    try {
      if (path !== ":memory:") {
        for (const file of tightenModes(path)) opts.warn?.(`${file} was readable by other users; its mode is now 0600`);
      }
      migrate(write);
      if (path !== ":memory:") autoVacuum = reclaimableOnce(write);
    } catch (err) {
      write.close();
      throw err;
    }
    const read = path === ":memory:" ? write : openReader(path);
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
