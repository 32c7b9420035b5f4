// Reading a form body into memory with a byte cap, before any parsing:
// Content-Length over the cap is refused unread; a body without one (or
// lying) stops at the cap. All form bodies together hold at most a fixed
// budget (503 past it), and a body must arrive within a deadline (408).
import { HttpError, limitError } from "../http/errors.ts";

export class BodyBudget {
  private used = 0;

  constructor(readonly max: number) {}

  /** Reserve bytes for one body; false when the budget is spent. */
  reserve(bytes: number): boolean {
    if (this.used + bytes > this.max) return false;
    this.used += bytes;
    return true;
  }

  release(bytes: number): void {
    this.used -= bytes;
  }

  get inUse(): number {
    return this.used;
  }
}

function tooLarge(cap: number, kind: string): HttpError {
  return limitError("body_too_large", `a ${kind} form body may hold at most ${cap} bytes (limit: body size)`);
}

/** What a body may take of the budget: its declared length, else the cap. Throws 413 before anything is read. */
export function bodyReservation(req: Request, cap: number, kind: string): number {
  const header = req.headers.get("content-length");
  if (header === null) return cap;
  const declared = Number(header);
  if (!(Number.isSafeInteger(declared) && declared >= 0)) throw new HttpError(400, "bad_request", "invalid Content-Length");
  if (declared > cap) throw tooLarge(cap, kind);
  return declared;
}

export function busy(): HttpError {
  return new HttpError(503, "busy", "too many form submissions are being received; retry in a few seconds", { "retry-after": "5" });
}

/** The whole body, at most `cap` bytes, within `deadlineMs`. */
export async function readCapped(req: Request, cap: number, kind: string, deadlineMs: number): Promise<Uint8Array> {
  const reader = req.body?.getReader();
  if (!reader) return new Uint8Array(0);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    reader.cancel().catch(() => {});
  }, deadlineMs);
  const parts: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      let chunk: { done: true; value?: undefined } | { done: false; value: Uint8Array };
      try {
        chunk = (await reader.read()) as typeof chunk;
      } catch {
        chunk = { done: true, value: undefined };
        if (!timedOut) throw new HttpError(400, "body_aborted", "the form body ended early");
      }
      if (timedOut) {
        throw new HttpError(408, "body_timeout", `the form body did not arrive within ${deadlineMs / 1000} s (limit: body time)`);
      }
      if (chunk.done) break;
      size += chunk.value.byteLength;
      if (size > cap) throw tooLarge(cap, kind);
      parts.push(chunk.value);
    }
  } finally {
    clearTimeout(timer);
    if (!timedOut) reader.releaseLock();
  }
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
}
