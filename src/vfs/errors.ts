// Errors of the write side, each with the HTTP status and code the API answers with.
export class VfsError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function badArchive(message: string): VfsError {
  return new VfsError(400, "invalid_archive", message);
}

export function tooLarge(code: string, message: string): VfsError {
  return new VfsError(413, code, message);
}
