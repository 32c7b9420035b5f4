// The outbox worker: claims due rows with a lease, sends each through the
// provider with the message's own idempotency key, and records the attempt.
// A process that dies mid-send leaves its row 'sending' with a lease that runs
// out; the next claim marks that attempt lost and sends again with the same
// key, so the provider delivers it once.
import type { CreateEmailOptions } from "resend";
import { Wakeup } from "./wakeup.ts";
import type { Store } from "../db/index.ts";
import { log } from "../log/index.ts";
import type { MailMetrics } from "./metrics.ts";
import type { MailProvider, Outcome } from "./provider.ts";
import { backoffMs, type RetryPolicy } from "./retry.ts";

interface Claimed {
  id: string;
  site_id: number | null;
  message: string;
  idempotency_key: string;
  attempts: number;
  failures: number;
}

/** Sends per site per minute, as a token bucket that refills continuously. */
class SiteRate {
  private buckets = new Map<number, { tokens: number; at: number }>();
  constructor(private readonly perMinute: number) {}

  /** 0 when a send may go now (and takes its token), else ms until one is free. */
  take(siteId: number, now: number): number {
    const rate = this.perMinute / 60_000;
    const b = this.buckets.get(siteId) ?? { tokens: this.perMinute, at: now };
    b.tokens = Math.min(this.perMinute, b.tokens + (now - b.at) * rate);
    b.at = now;
    this.buckets.set(siteId, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - b.tokens) / rate);
  }
}

export class OutboxSender {
  private readonly wakeup = new Wakeup(() => this.fill());
  private inFlight = new Set<Promise<void>>();
  /** The provider said 429: nothing is sent before this time. */
  private pausedUntil = 0;
  private readonly siteRate: SiteRate;

  constructor(
    private readonly store: Store,
    private readonly provider: MailProvider,
    private readonly policy: RetryPolicy,
    private readonly metrics: MailMetrics,
    sitePerMinute: number,
    private readonly concurrency = 4,
  ) {
    this.siteRate = new SiteRate(sitePerMinute);
  }

  start(): void {
    this.wake();
  }

  /** Look for due rows now (after a message is queued). */
  wake(delayMs = 0): void {
    this.wakeup.at(delayMs);
  }

  async stop(): Promise<void> {
    this.wakeup.stop();
    await Promise.all(this.inFlight);
  }

  private fill(): void {
    const now = Date.now();
    if (now < this.pausedUntil) {
      this.wake(this.pausedUntil - now);
      return;
    }
    try {
      const free = this.concurrency - this.inFlight.size;
      for (const row of free > 0 ? this.claim(free, now) : []) {
        const p: Promise<void> = this.send(row).finally(() => {
          this.inFlight.delete(p);
          this.wake();
        });
        this.inFlight.add(p);
      }
    } catch (err) {
      log.error("mail outbox claim failed", { err: err as Error });
    }
    if (this.inFlight.size < this.concurrency) this.wake(this.policy.pollMs);
    else this.wakeup.cancel();
  }

  /** Due rows: expired leases first (their process died), then queued ones; each gets a lease and an attempt row. */
  private claim(max: number, now: number): Claimed[] {
    const db = this.store.write;
    return this.store.tx(() => {
      const pick = (status: string, n: number) =>
        db
          .query(
            `SELECT id, site_id, message, idempotency_key, attempts, failures FROM mail_outbox
             WHERE status = ? AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?`,
          )
          .all(status, now, n) as Claimed[];
      const expired = pick("sending", max);
      for (const r of expired) {
        db.query("UPDATE mail_attempts SET outcome = 'lost', finished_at = ?, error = ? WHERE message_id = ? AND outcome IS NULL").run(
          now,
          "the lease ran out: the process sending it stopped",
          r.id,
        );
      }
      const rows = [...expired, ...(expired.length < max ? pick("queued", max - expired.length) : [])];
      const claimed: Claimed[] = [];
      for (const r of rows) {
        const wait = r.site_id === null ? 0 : this.siteRate.take(r.site_id, now);
        if (wait > 0) {
          db.query("UPDATE mail_outbox SET status = 'queued', next_attempt_at = ? WHERE id = ?").run(now + wait, r.id);
          continue;
        }
        const attempt = r.attempts + 1;
        db.query(
          "UPDATE mail_outbox SET status = 'sending', attempts = ?, next_attempt_at = ?, lease_until = ?, updated_at = ? WHERE id = ?",
        ).run(attempt, now + this.policy.leaseMs, now + this.policy.leaseMs, now, r.id);
        db.query("INSERT INTO mail_attempts (message_id, attempt, started_at) VALUES (?, ?, ?)").run(r.id, attempt, now);
        claimed.push({ ...r, attempts: attempt });
      }
      return claimed;
    });
  }

  private async send(row: Claimed): Promise<void> {
    const started = performance.now();
    const outcome = await this.provider.send(JSON.parse(row.message) as CreateEmailOptions, row.idempotency_key);
    this.metrics.sendFinished(outcome.kind, (performance.now() - started) / 1000);
    this.record(row, outcome);
  }

  private record(row: Claimed, outcome: Outcome<{ id: string }>): void {
    const db = this.store.write;
    const now = Date.now();
    this.store.tx(() => {
      // Only while the row is still ours (same attempt, still sending): a lease taken over is the new owner's.
      const ours = db.query("SELECT 1 FROM mail_outbox WHERE id = ? AND status = 'sending' AND attempts = ?").get(row.id, row.attempts);
      if (!ours) return;
      const attempt = (kind: string, status: number | null, error: string | null) =>
        db
          .query("UPDATE mail_attempts SET outcome = ?, finished_at = ?, status_code = ?, error = ? WHERE message_id = ? AND attempt = ?")
          .run(kind, now, status, error, row.id, row.attempts);
      if (outcome.kind === "done") {
        attempt("sent", 200, null);
        db.query(
          "UPDATE mail_outbox SET status = 'sent', provider_id = ?, last_error = NULL, lease_until = NULL, sent_at = ?, updated_at = ? WHERE id = ?",
        ).run(outcome.value.id, now, now, row.id);
        return;
      }
      const failures = outcome.kind === "retry" && outcome.status === 429 ? row.failures : row.failures + 1;
      const giveUp = outcome.kind === "fail" || failures >= this.policy.maxFailures;
      attempt(giveUp ? "failed" : "retry", outcome.status, outcome.error);
      if (giveUp) {
        const reason = outcome.kind === "fail" ? outcome.error : `gave up after ${failures} failures; last: ${outcome.error}`;
        db.query(
          "UPDATE mail_outbox SET status = 'failed', failures = ?, last_error = ?, lease_until = NULL, updated_at = ? WHERE id = ?",
        ).run(failures, reason, now, row.id);
        log.warn("mail: a message failed", { id: row.id, error: reason });
        return;
      }
      let delay = backoffMs(this.policy, failures);
      if (outcome.kind === "retry" && outcome.status === 429) {
        // A provider-wide limit: every send waits, not only this one.
        delay = outcome.retryAfterMs ?? backoffMs(this.policy, 1);
        this.pausedUntil = Math.max(this.pausedUntil, now + delay);
      }
      db.query(
        "UPDATE mail_outbox SET status = 'queued', failures = ?, last_error = ?, next_attempt_at = ?, lease_until = NULL, updated_at = ? WHERE id = ?",
      ).run(failures, outcome.error, now + delay, now, row.id);
    });
  }
}
