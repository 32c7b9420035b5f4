// fazt.db holds private keys and token hashes: the database, its -wal/-shm
// and every copy Fazt writes (backups, restores) are private to the owner.
import { chmodSync, closeSync, existsSync, openSync, statSync } from "node:fs";

export const PRIVATE_MODE = 0o600;

/** The files SQLite keeps for a database in WAL mode. */
export function databaseFiles(path: string): string[] {
  return [path, `${path}-wal`, `${path}-shm`];
}

/** Create an empty file only the owner can read (fails when it exists). SQLite gives -wal/-shm the same mode. */
export function createPrivateFile(path: string): void {
  closeSync(openSync(path, "wx", PRIVATE_MODE));
}

/** chmod 0600 each existing database file that group or others can access; returns the ones changed. */
export function tightenModes(path: string): string[] {
  const changed: string[] = [];
  for (const file of databaseFiles(path)) {
    if (!existsSync(file) || (statSync(file).mode & 0o077) === 0) continue;
    chmodSync(file, PRIVATE_MODE);
    changed.push(file);
  }
  return changed;
}
