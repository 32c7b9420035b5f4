// Errors of the write side, each with the HTTP status and code the API answers with.
import { HttpError } from "../http/errors.ts";

export class VfsError extends HttpError {}

export function badArchive(message: string): VfsError {
  return new VfsError(400, "invalid_archive", message);
}

export function tooLarge(code: string, message: string): VfsError {
  return new VfsError(413, code, message);
}
