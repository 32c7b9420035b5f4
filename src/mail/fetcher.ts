// Webhook messages arrive as metadata; this worker fetches each one's body,
// headers and attachments from the provider, with the outbox's rules: a
// lease per claimed row, back-off with jitter on 429/5xx/no answer up to a
// limit, at once 'failed' on another 4xx.
import type { Store } from "../db/index.ts";
import { Wakeup } from "./wakeup.ts";
import { log } from "../log/index.ts";
import type { ReceivedAttachment } from "./inbox.ts";
import { completeFetch } from "./inbox.ts";
import type { MailProvider, Outcome } from "./provider.ts";
import { backoffMs, type RetryPolicy } from "./retry.ts";
import type { Sanitizer } from "./sanitize.ts";

interface Claimed {
  id: string;
  /** The site its content is staged for (large attachments); null: stored in one go. */
  site_id: number | null;
  provider_id: string;
  fetch_attempts: number;
}

export class InboxFetcher {
  private readonly wakeup = new Wakeup(() => {
    if (!this.running) this.running = this.drain().finally(() => (this.running = null));
  });
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly store: Store,
    private readonly provider: MailProvider | null,
    private readonly policy: RetryPolicy,
    private readonly sanitizer: Sanitizer,
    /** Largest total of attachments fetched for one message. */
    private readonly maxBytes: number,
  ) {}

  start(): void {
    this.wake();
  }

  wake(delayMs = 0): void {
    this.wakeup.at(delayMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeup.stop();
    await this.running;
  }

  private async drain(): Promise<void> {
    try {
      for (let row = this.claim(); row && !this.stopped; row = this.claim()) await this.fetchOne(row);
    } catch (err) {
      log.error("mail fetch failed", { err: err as Error });
    }
    this.wake(this.policy.pollMs);
  }

  private claim(): Claimed | null {
    const now = Date.now();
    return this.store.tx(() => {
      const row = this.store.write
        .query(
          `SELECT id, site_id, provider_id, fetch_attempts FROM mail_inbox WHERE fetch_status = 'pending' AND next_fetch_at <= ?
           ORDER BY next_fetch_at LIMIT 1`,
        )
        .get(now) as Claimed | null;
      if (!row) return null;
      const attempt = row.fetch_attempts + 1;
      // next_fetch_at doubles as the lease: a process dying here leaves the row due again when it runs out.
      this.store.write
        .query("UPDATE mail_inbox SET fetch_attempts = ?, next_fetch_at = ?, lease_until = ? WHERE id = ?")
        .run(attempt, now + this.policy.leaseMs, now + this.policy.leaseMs, row.id);
      return { ...row, fetch_attempts: attempt };
    });
  }

  private async fetchOne(row: Claimed): Promise<void> {
    const outcome = await this.fetchBody(row.provider_id);
    if (outcome.kind === "done") {
      const { text, html, headers, attachments } = outcome.value;
      if (
        !(await completeFetch(this.store, row.id, row.site_id, row.fetch_attempts, {
          text,
          html,
          headers,
          attachments,
          safeHtml: await this.sanitizer.sanitize(html),
        }))
      ) {
        log.info("mail fetched for a message no longer pending", { id: row.id });
      }
      return;
    }
    const giveUp = outcome.kind === "fail" || row.fetch_attempts >= this.policy.maxFailures;
    const wait =
      outcome.kind === "retry" && outcome.retryAfterMs !== null ? outcome.retryAfterMs : backoffMs(this.policy, row.fetch_attempts);
    this.store.write
      .query(
        `UPDATE mail_inbox SET fetch_status = ?, fetch_error = ?, next_fetch_at = ?, lease_until = NULL
         WHERE id = ? AND fetch_status = 'pending' AND fetch_attempts = ?`,
      )
      .run(giveUp ? "failed" : "pending", outcome.error, giveUp ? null : Date.now() + wait, row.id, row.fetch_attempts);
  }

  private async fetchBody(
    emailId: string,
  ): Promise<
    Outcome<{ text: string | null; html: string | null; headers: Record<string, string> | null; attachments: ReceivedAttachment[] }>
  > {
    if (!this.provider) return { kind: "fail", status: null, error: "RESEND_API_KEY is not set: the body cannot be fetched" };
    const email = await this.provider.received(emailId);
    if (email.kind !== "done") return email;
    const total = email.value.attachments.reduce((n, a) => n + a.size, 0);
    if (total > this.maxBytes) return { kind: "fail", status: null, error: `attachments larger than ${this.maxBytes} bytes` };
    const attachments: ReceivedAttachment[] = [];
    for (const a of email.value.attachments) {
      const bytes = await this.provider.download(a.downloadUrl);
      if (bytes.kind !== "done") return bytes;
      attachments.push({ filename: a.filename, contentType: a.contentType, content: bytes.value });
    }
    return { kind: "done", value: { text: email.value.text, html: email.value.html, headers: email.value.headers, attachments } };
  }
}
