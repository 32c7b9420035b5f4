// Errors of the write side, each with the HTTP status and code the API answers with.
import { SQLiteError } from "bun:sqlite";
import { HttpError } from "../http/errors.ts";

export class VfsError extends HttpError {}

export function badArchive(message: string): VfsError {
  return new VfsError(400, "invalid_archive", message);
}

export function tooLarge(code: string, message: string): VfsError {
  return new VfsError(413, code, message);
}

/** A full disk (SQLITE_FULL) while writing a deploy is 507: nothing was committed, the live deploy stands. */
export function storageError(err: unknown): unknown {
  if (err instanceof SQLiteError && err.code?.startsWith("SQLITE_FULL")) {
    return new VfsError(507, "insufficient_storage", "the disk holding the database is full; nothing was deployed (free space, then retry)");
  }
  return err;
}

export const MiB = 1024 * 1024;

export function formatBytes(n: number): string {
  if (n >= 1024 * MiB && n % (1024 * MiB) === 0) return `${n / (1024 * MiB)} GiB`;
  if (n >= MiB && n % MiB === 0) return `${n / MiB} MiB`;
  return `${n} bytes`;
}
