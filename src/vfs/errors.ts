// Errors of the write side, each with the HTTP status and code the API answers with.
import { SQLiteError } from "bun:sqlite";
import { HttpError } from "../http/errors.ts";
import { formatLimit } from "../core/bytes.ts";

export class VfsError extends HttpError {}

export function badArchive(message: string): VfsError {
  return new VfsError(400, "invalid_archive", message);
}

function tooLarge(code: string, message: string): VfsError {
  return new VfsError(413, code, message);
}

/** A full disk (SQLITE_FULL) while writing a deploy is 507: nothing was committed, the live deploy stands. */
export function storageError(err: unknown): unknown {
  if (err instanceof SQLiteError && err.code?.startsWith("SQLITE_FULL")) {
    return new VfsError(
      507,
      "insufficient_storage",
      "the disk holding the database is full; nothing was deployed (free space, then retry)",
    );
  }
  return err;
}

/** One file over --max-file-bytes; `what` names it ("/a.js", "the content"). */
export function fileTooLarge(what: string, maxFileBytes: number): VfsError {
  return tooLarge("file_too_large", `${what} is larger than the file size limit (${formatLimit(maxFileBytes)}; --max-file-bytes)`);
}

/** More files than --max-files. */
export function tooManyFiles(maxFiles: number): VfsError {
  return tooLarge("too_many_files", `the deploy has more files than the file count limit (${maxFiles}; --max-files)`);
}

/** The deploy over --max-deploy-bytes; `note` says what was counted beyond the files. */
export function deployTooLarge(maxDeployBytes: number, note = ""): VfsError {
  return tooLarge(
    "deploy_too_large",
    `the deploy is larger than the deploy size limit (${formatLimit(maxDeployBytes)}; --max-deploy-bytes${note})`,
  );
}
