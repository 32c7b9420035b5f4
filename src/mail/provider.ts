// The mail provider (Resend, through its SDK) and how its answers are read:
// every call ends as done, retry (with how long to wait) or fail. RESEND_API_KEY
// and RESEND_BASE_URL are the SDK's own variables. Sends run in a worker
// thread (send-worker.ts); every API call waits for its turn in the pace.
import { Resend } from "resend";
import type { ProviderPace } from "./pace.ts";
import { WorkerThread, workerEntry } from "./thread.ts";

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

/** One send, as the worker thread receives it: the message is the stored JSON, parsed there. */
export interface SendCall {
  apiKey: string;
  baseUrl: string | undefined;
  message: string;
  idempotencyKey: string;
  /** Its slot in the pace (epoch ms): the worker does not start it earlier. */
  startAt: number;
  timeoutMs: number;
}

/** The SDK's answer, or what it threw (our timeout's abort, a network failure it did not catch). */
export type SendAnswer = SdkResult<{ id: string }> | { thrown: string };

/** The worker answers within the call's own timeout; past this much more, it is taken as stuck. */
const WORKER_GRACE_MS = 5_000;

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
  private readonly sends: WorkerThread<SendCall, SendAnswer>;

  constructor(
    private readonly apiKey: string,
    /** Every API call waits for its turn here (downloads are pre-signed URLs, not API calls). */
    readonly pace: ProviderPace,
    private readonly timeoutMs: number,
    private readonly maxDownloadBytes: number,
  ) {
    this.resend = new Resend(apiKey);
    this.sends = new WorkerThread(workerEntry("send-worker.ts"), "the mail send thread");
  }

  /** Resend reads RESEND_API_KEY itself; null when it is not set (mail then cannot go out). */
  static fromEnv(pace: ProviderPace, timeoutMs: number, maxDownloadBytes: number): MailProvider | null {
    const key = process.env.RESEND_API_KEY;
    return key ? new MailProvider(key, pace, timeoutMs, maxDownloadBytes) : null;
  }

  /**
   * Sends a stored message (its provider JSON) in the worker thread. Its slot
   * in the pace is reserved here and the worker waits for it, so the sends of
   * a tick cross to the worker in one message and the event loop does not
   * wake for each one's turn.
   */
  async send(message: string, idempotencyKey: string): Promise<Outcome<{ id: string }>> {
    const startAt = this.pace.reserve();
    return this.answered(async () => {
      const call: SendCall = {
        apiKey: this.apiKey,
        baseUrl: process.env.RESEND_BASE_URL,
        message,
        idempotencyKey,
        startAt,
        timeoutMs: this.timeoutMs,
      };
      const wait = Math.max(0, startAt - Date.now());
      const answer = await this.sends.call(call, wait + this.timeoutMs + WORKER_GRACE_MS);
      if ("thrown" in answer) throw new Error(answer.thrown);
      return answer;
    });
  }

  /** Ends the send thread (sends still waiting end as "no answer": retried later with the same key). */
  stop(): void {
    this.sends.stop();
  }

  /** A received email's body, headers and attachments (the webhook carries metadata only). */
  async received(emailId: string): Promise<Outcome<ReceivedEmail>> {
    const email = await this.call(() => this.resend.emails.receiving.get(emailId, {}, { signal: AbortSignal.timeout(this.timeoutMs) }));
    if (email.kind !== "done") return email;
    const list = await this.call(() =>
      this.resend.emails.receiving.attachments.list({ emailId }, { signal: AbortSignal.timeout(this.timeoutMs) }),
    );
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

  /** One API call in its turn. */
  private async call<T>(fn: () => Promise<SdkResult<T>>): Promise<Outcome<T>> {
    await this.pace.acquire();
    return this.answered(fn);
  }

  /** A call's answer read: its rate-limit headers (and a 429's Retry-After) pace the calls after it. */
  private async answered<T>(fn: () => Promise<SdkResult<T>>): Promise<Outcome<T>> {
    try {
      const answer = await fn();
      this.pace.observe(answer.headers);
      const outcome = classify(answer);
      if (outcome.kind === "retry" && outcome.status === 429) this.pace.pause(outcome.retryAfterMs ?? 1000);
      return outcome;
    } catch (err) {
      // The SDK rethrows an abort of our own timeout signal.
      return { kind: "retry", status: null, error: `no answer: ${(err as Error).message}`.slice(0, 500), retryAfterMs: null };
    }
  }
}
