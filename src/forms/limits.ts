// What one form submission may hold. Every limit is checked on bytes the
// server already holds (the body is read with a cap first), and a refusal
// names the limit (413, or 400 for a malformed body).
export const FORM_LIMITS = {
  /** A urlencoded body (text fields only). */
  urlencodedBytes: 256 * 1024,
  /** A multipart body, files included. */
  multipartBytes: 8 * 1024 * 1024,
  /** Text fields per submission. */
  fields: 100,
  /** Bytes of one field's name. */
  nameBytes: 200,
  /** Bytes of one field's value. */
  valueBytes: 64 * 1024,
  /** Files per submission. */
  files: 5,
  /** Bytes of one file. */
  fileBytes: 5 * 1024 * 1024,
  /** Bytes of one multipart part's header block. */
  partHeaderBytes: 8 * 1024,
} as const;

export type FormLimits = typeof FORM_LIMITS;

/** Body bytes all form requests may hold in memory at once; past it, 503 and Retry-After. */
export const IN_FLIGHT_BODY_BYTES = 64 * 1024 * 1024;
/** A body must arrive within this time (a slow sender holds memory and a slot). */
export const BODY_DEADLINE_MS = 30_000;
