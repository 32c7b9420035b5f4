// The mail provider (Resend, through its SDK) and how its answers are read:
// every call ends as done, retry (with how long to wait) or fail. RESEND_API_KEY
// and RESEND_BASE_URL are the SDK's own variables.
import { Resend, type CreateEmailOptions } from "resend";

export type Outcome<T> =
  | { kind: "done"; value: T }
  | { kind: "retry"; status: number | null; error: string; retryAfterMs: number | null }
  | { kind: "fail"; status: number | null; error: string };

interface ReceivedEmail {
  text: string | null;
  html: string | null;
  headers: Record<string, string> | null;
  attachments: { id: string; filename: string; contentType: string; size: number; downloadUrl: string }[];
}

interface SdkResult<T> {
  data: T | null;
  error: { statusCode?: number | null; name?: string; message?: string } | null;
  headers: Record<string, string> | null;
}

/** Resend's Retry-After is in seconds; an HTTP date is accepted too. */
function retryAfterMs(value: string | undefined | null, now = Date.now()): number | null {
  if (!value) return null;
  const secs = Number(value);
  if (Number.isFinite(secs) && secs >= 0) return secs * 1000;
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - now) : null;
}

/** 429, 5xx and no answer are worth retrying; 409 only while the same key is still being processed. */
function classify<T>(r: SdkResult<T>): Outcome<T> {
  if (!r.error && r.data) return { kind: "done", value: r.data };
  const status = r.error?.statusCode ?? null;
  const error = `${r.error?.name ?? "error"}: ${r.error?.message ?? "no answer"}`.slice(0, 500);
  const retryable = status === null || status === 429 || status >= 500 || r.error?.name === "concurrent_idempotent_requests";
  if (!retryable) return { kind: "fail", status, error };
  return { kind: "retry", status, error, retryAfterMs: status === 429 ? retryAfterMs(r.headers?.["retry-after"]) : null };
}

export class MailProvider {
  private readonly resend: Resend;

  constructor(
    apiKey: string,
    private readonly timeoutMs: number,
    private readonly maxDownloadBytes: number,
  ) {
    this.resend = new Resend(apiKey);
  }

  /** Resend reads RESEND_API_KEY itself; null when it is not set (mail then cannot go out). */
  static fromEnv(timeoutMs: number, maxDownloadBytes: number): MailProvider | null {
    const key = process.env.RESEND_API_KEY;
    return key ? new MailProvider(key, timeoutMs, maxDownloadBytes) : null;
  }

  async send(message: CreateEmailOptions, idempotencyKey: string): Promise<Outcome<{ id: string }>> {
    return this.call(() => this.resend.emails.send(message, { idempotencyKey, signal: AbortSignal.timeout(this.timeoutMs) }));
  }

  /** A received email's body, headers and attachments (the webhook carries metadata only). */
  async received(emailId: string): Promise<Outcome<ReceivedEmail>> {
    const signal = AbortSignal.timeout(this.timeoutMs);
    const email = await this.call(() => this.resend.emails.receiving.get(emailId, {}, { signal }));
    if (email.kind !== "done") return email;
    const list = await this.call(() => this.resend.emails.receiving.attachments.list({ emailId }, { signal }));
    if (list.kind !== "done") return list;
    const e = email.value;
    return {
      kind: "done",
      value: {
        text: e.text,
        html: e.html,
        headers: e.headers,
        attachments: list.value.data.map((a) => ({
          id: a.id,
          filename: a.filename ?? "attachment",
          contentType: a.content_type,
          size: a.size,
          downloadUrl: a.download_url,
        })),
      },
    };
  }

  /** An attachment's bytes from its download URL, at most maxDownloadBytes. */
  async download(url: string): Promise<Outcome<Uint8Array>> {
    let res: Response;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      return { kind: "retry", status: null, error: `download: ${(err as Error).message}`, retryAfterMs: null };
    }
    if (!res.ok) {
      await res.body?.cancel();
      return classify<Uint8Array>({
        data: null,
        error: { statusCode: res.status, name: "download", message: res.statusText },
        headers: Object.fromEntries(res.headers),
      });
    }
    const parts: Uint8Array[] = [];
    let size = 0;
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        size += chunk.byteLength;
        if (size > this.maxDownloadBytes) {
          await res.body?.cancel();
          return { kind: "fail", status: null, error: `attachment larger than ${this.maxDownloadBytes} bytes` };
        }
        parts.push(chunk);
      }
    } catch (err) {
      return { kind: "retry", status: null, error: `download: ${(err as Error).message}`, retryAfterMs: null };
    }
    return { kind: "done", value: Buffer.concat(parts, size) };
  }

  private async call<T>(fn: () => Promise<SdkResult<T>>): Promise<Outcome<T>> {
    try {
      return classify(await fn());
    } catch (err) {
      // The SDK rethrows an abort of our own timeout signal.
      return { kind: "retry", status: null, error: `no answer: ${(err as Error).message}`.slice(0, 500), retryAfterMs: null };
    }
  }
}
