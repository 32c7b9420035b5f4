// Copies of the database: an online backup, and a restore that swaps a checked
// copy in only when no process has the database open, keeping the old file.
import { Database } from "bun:sqlite";
import { chmodSync, existsSync, renameSync, rmSync, statSync } from "node:fs";
import { DatabaseError, assertFaztDatabase, assertSqliteFile, migrate, type Store } from "./index.ts";
import { PRIVATE_MODE, createPrivateFile, databaseFiles } from "./files.ts";

/** A consistent copy (one WAL snapshot, so writers go on), private to the owner. */
export function backupDatabase(store: Store, out: string): void {
  createPrivateFile(out); // VACUUM INTO fills an empty file and keeps its mode
  try {
    store.write.run("VACUUM INTO ?", [out]);
  } catch (err) {
    rmSync(out, { force: true });
    throw err;
  }
}

/** Refuse anything but an intact Fazt database this fazt can read. */
function checkBackup(input: string): void {
  if (statSync(input).size === 0) throw new DatabaseError(`${input} is empty (0 bytes), not a Fazt database`);
  assertSqliteFile(input);
  let db: Database;
  try {
    db = new Database(input, { readonly: true });
  } catch (err) {
    throw new DatabaseError(`cannot open ${input}: ${(err as Error).message}`);
  }
  try {
    const check = db.query("PRAGMA integrity_check").get() as { integrity_check: string };
    if (check.integrity_check !== "ok") throw new DatabaseError(`${input} failed integrity_check: ${check.integrity_check}`);
    assertFaztDatabase(db, input, { allowEmpty: false });
  } catch (err) {
    if (err instanceof DatabaseError) throw err;
    throw new DatabaseError(`${input} is not a readable SQLite database: ${(err as Error).message}`);
  } finally {
    db.close();
  }
}

/** The checked input copied (compacted) next to the target and migrated to this fazt's schema. */
function stage(input: string, staged: string): void {
  for (const file of databaseFiles(staged)) rmSync(file, { force: true }); // left by an interrupted restore
  createPrivateFile(staged);
  try {
    const src = new Database(input, { readonly: true });
    try {
      src.run("VACUUM INTO ?", [staged]);
    } finally {
      src.close();
    }
    const db = new Database(staged, { readwrite: true });
    try {
      db.run("PRAGMA journal_mode = WAL");
      migrate(db);
    } finally {
      db.close();
    }
  } catch (err) {
    rmSync(staged, { force: true });
    throw err;
  }
}

/**
 * An exclusive lock on the target, or a refusal when any process has it open.
 * Every open SQLite connection to a WAL database holds a shared lock on the
 * file (the OS drops it when the process dies, so a crash leaves nothing
 * stale); leaving WAL mode needs the exclusive lock, checkpoints the WAL
 * into the file and removes it, so the kept file is complete on its own.
 */
function lockTarget(target: string): Database {
  assertSqliteFile(target);
  const db = new Database(target, { readwrite: true });
  try {
    db.run("PRAGMA busy_timeout = 0");
    const mode = (db.query("PRAGMA journal_mode = DELETE").get() as { journal_mode: string }).journal_mode;
    if (mode !== "delete") throw new Error(`journal mode stayed ${mode}`);
    db.run("PRAGMA locking_mode = EXCLUSIVE");
    db.run("BEGIN EXCLUSIVE"); // held while the files are renamed: a server starting now waits, then sees a new inode
    return db;
  } catch (err) {
    db.close();
    throw new DatabaseError(
      `${target} is in use by another process (a running fazt serve or another fazt command): stop it, then restore ` +
        `(${(err as Error).message})`,
    );
  }
}

/** "fazt.db.replaced-20261130T235912Z", or with "-2", "-3"... when taken. */
function replacedName(target: string, now: Date): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  let name = `${target}.replaced-${stamp}`;
  for (let n = 2; existsSync(name); n++) name = `${target}.replaced-${stamp}-${n}`;
  return name;
}

/**
 * Make `input` the database at `target`: only an intact Fazt database is
 * taken, never while the target is open elsewhere, and the replaced file is
 * kept (0600) under the returned name. Nothing changes when it throws.
 */
export function restoreDatabase(input: string, target: string, now = new Date()): { replaced: string | null } {
  if (existsSync(target) && statSync(input).ino === statSync(target).ino) {
    throw new DatabaseError(`${input} is the database itself; restore from a backup copy`);
  }
  checkBackup(input);
  const staged = `${target}.restore-tmp`;
  stage(input, staged);
  if (!existsSync(target)) {
    renameSync(staged, target);
    return { replaced: null };
  }
  let lock: Database;
  try {
    lock = lockTarget(target);
  } catch (err) {
    rmSync(staged, { force: true });
    throw err;
  }
  const replaced = replacedName(target, now);
  try {
    renameSync(target, replaced);
    chmodSync(replaced, PRIVATE_MODE);
    try {
      renameSync(staged, target);
    } catch (err) {
      renameSync(replaced, target);
      throw err;
    }
    return { replaced };
  } catch (err) {
    rmSync(staged, { force: true });
    throw err;
  } finally {
    lock.run("ROLLBACK");
    lock.close();
  }
}
