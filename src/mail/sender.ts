// The outbox worker: claims due rows with a lease, sends each through the
// provider with the message's own idempotency key, and records the attempt.
// A process that dies mid-send leaves its row 'sending' with a lease that runs
// out; the next claim marks that attempt lost and sends again with the same
// key, so the provider delivers it once.
import { Wakeup } from "./wakeup.ts";
import type { Store } from "../db/index.ts";
import { log } from "../log/index.ts";
import type { MailMetrics } from "./metrics.ts";
import type { MailProvider, Outcome } from "./provider.ts";
import { backoffMs, type RetryPolicy } from "./retry.ts";

/** A due row, before it is claimed (without its message, which may be large). */
interface Due {
  id: string;
  site_id: number | null;
  bytes: number;
  idempotency_key: string;
  attempts: number;
  failures: number;
}

interface Claimed extends Due {
  message: string;
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

/** Most rows claimed in one tick, and most sends in flight (the provider's latency times its rate, within reason). */
const MAX_CLAIM = 50;
const MAX_IN_FLIGHT = 100;
/** Bytes of messages held for sending at once (a message may carry ~10 MiB of attachments; the host may have 1 GB). */
const MAX_IN_FLIGHT_BYTES = 32 * 1024 * 1024;

/** What a claim took, and what it left: nothing due, more due, or more due than the in-flight byte budget holds. */
interface Claims {
  claimed: Claimed[];
  left: "none" | "more" | "budget";
}

interface Finished {
  row: Due;
  outcome: Outcome<{ id: string }>;
  at: number;
}

/**
 * Works in ticks: one transaction records the answers that came in since the
 * last tick and claims as many rows as the provider's pace allows, so a busy
 * outbox costs one short commit per tick (pace.tickMs), not two per message, and
 * sends never run ahead of the provider's limit.
 */
export class OutboxSender {
  private readonly wakeup = new Wakeup(() => this.tick());
  private readonly inFlight = new Set<Promise<void>>();
  private inFlightBytes = 0;
  private finished: Finished[] = [];
  private readonly siteRate: SiteRate;
  private stopped = false;

  constructor(
    private readonly store: Store,
    private readonly provider: MailProvider,
    private readonly policy: RetryPolicy,
    private readonly metrics: MailMetrics,
    sitePerMinute: number,
  ) {
    this.siteRate = new SiteRate(sitePerMinute);
  }

  start(): void {
    this.wake();
  }

  /** Look for due rows soon (a message was queued). */
  wake(delayMs = 0): void {
    this.wakeup.at(delayMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeup.stop();
    await Promise.all(this.inFlight);
    this.commit(Date.now());
  }

  private tick(): void {
    const now = Date.now();
    const pace = this.provider.pace;
    const slots = Math.min(MAX_CLAIM, this.maxInFlight() - this.inFlight.size, pace.turnsAhead());
    const { claimed, left } = this.commit(now, slots);
    for (const row of claimed) this.dispatch(row);
    // Nothing more due: poll. Every slot or the byte budget taken: the next answer wakes us. Otherwise: the next turn.
    if (left === "none") this.wake(this.policy.pollMs);
    else if (left === "more" && this.inFlight.size < this.maxInFlight()) this.wake(Math.max(pace.tickMs, pace.pausedMs()));
  }

  /** Records finished sends and claims up to `slots` rows, in one transaction. */
  private commit(now: number, slots = 0): Claims {
    const finished = this.finished;
    this.finished = [];
    if (finished.length === 0 && slots <= 0) return { claimed: [], left: "more" };
    try {
      return this.store.tx(() => {
        for (const f of finished) this.record(f);
        return slots > 0 ? this.claim(slots, now) : { claimed: [], left: "more" };
      });
    } catch (err) {
      // Unrecorded answers are not lost: their leases run out and they are sent again with the same key.
      log.error("mail outbox update failed", { err: err as Error });
      return { claimed: [], left: "none" };
    }
  }

  private maxInFlight(): number {
    return Math.min(MAX_IN_FLIGHT, Math.max(4, Math.ceil(this.provider.pace.perSecond)));
  }

  private dispatch(row: Claimed): void {
    this.inFlightBytes += row.bytes;
    const p: Promise<void> = this.send(row)
      .then(
        (outcome) => {
          // The message itself is not kept: the answer is all the record needs.
          const { message: _sent, ...due } = row;
          this.finished.push({ row: due, outcome, at: Date.now() });
          if (!this.stopped) this.wake(this.provider.pace.tickMs);
        },
        (err) => log.error("mail send failed", { err: err as Error }),
      )
      .finally(() => {
        this.inFlightBytes -= row.bytes;
        this.inFlight.delete(p);
      });
    this.inFlight.add(p);
  }

  /**
   * Due rows: expired leases first (their process died), then queued ones, as
   * many as `max` and the in-flight byte budget allow; each gets a lease and an
   * attempt row.
   */
  private claim(max: number, now: number): Claims {
    const db = this.store.write;
    const pick = (status: string, n: number) =>
      db
        .query(
          `SELECT id, site_id, bytes, idempotency_key, attempts, failures FROM mail_outbox
           WHERE status = ? AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?`,
        )
        .all(status, now, n) as Due[];
    const expired = pick("sending", max);
    const rows = [...expired, ...(expired.length < max ? pick("queued", max - expired.length) : [])];
    const claimed: Claimed[] = [];
    let bytes = this.inFlightBytes;
    for (const r of rows) {
      // Messages carry their attachments: what is held in memory for sending stays bounded (one always goes).
      if (bytes + r.bytes > MAX_IN_FLIGHT_BYTES && bytes > 0) return { claimed, left: "budget" };
      if (expired.includes(r)) {
        db.query("UPDATE mail_attempts SET outcome = 'lost', finished_at = ?, error = ? WHERE message_id = ? AND outcome IS NULL").run(
          now,
          "the lease ran out: the process sending it stopped",
          r.id,
        );
      }
      const wait = r.site_id === null ? 0 : this.siteRate.take(r.site_id, now);
      if (wait > 0) {
        db.query("UPDATE mail_outbox SET status = 'queued', next_attempt_at = ? WHERE id = ?").run(now + wait, r.id);
        continue;
      }
      const attempt = r.attempts + 1;
      const payload = db.query("SELECT message FROM mail_outbox_payloads WHERE id = ?").get(r.id) as { message: string } | null;
      if (!payload) {
        db.query(
          "UPDATE mail_outbox SET status = 'failed', last_error = 'the message content is missing', updated_at = ? WHERE id = ?",
        ).run(now, r.id);
        continue;
      }
      db.query(
        "UPDATE mail_outbox SET status = 'sending', attempts = ?, next_attempt_at = ?, lease_until = ?, updated_at = ? WHERE id = ?",
      ).run(attempt, now + this.policy.leaseMs, now + this.policy.leaseMs, now, r.id);
      db.query("INSERT INTO mail_attempts (message_id, attempt, started_at) VALUES (?, ?, ?)").run(r.id, attempt, now);
      bytes += r.bytes;
      claimed.push({ ...r, message: payload.message, attempts: attempt });
    }
    return { claimed, left: rows.length === max ? "more" : "none" };
  }

  private async send(row: Claimed): Promise<Outcome<{ id: string }>> {
    const started = performance.now();
    const outcome = await this.provider.send(row.message, row.idempotency_key);
    this.metrics.sendFinished(outcome.kind, (performance.now() - started) / 1000);
    return outcome;
  }

  /** One answer, inside the tick's transaction, only while the row is still ours (same attempt, still sending). */
  private record({ row, outcome, at: now }: Finished): void {
    const db = this.store.write;
    // Each update is guarded by "still ours": a lease taken over (this process was presumed dead) is the new owner's.
    const OURS = "WHERE id = ? AND status = 'sending' AND attempts = ?";
    const attempt = (kind: string, status: number | null, error: string | null) =>
      db
        .query("UPDATE mail_attempts SET outcome = ?, finished_at = ?, status_code = ?, error = ? WHERE message_id = ? AND attempt = ?")
        .run(kind, now, status, error, row.id, row.attempts);
    if (outcome.kind === "done") {
      const sent = db
        .query(
          `UPDATE mail_outbox SET status = 'sent', provider_id = ?, last_error = NULL, lease_until = NULL, sent_at = ?, updated_at = ? ${OURS}`,
        )
        .run(outcome.value.id, now, now, row.id, row.attempts);
      if (sent.changes === 0) return;
      attempt("sent", 200, null);
      db.query("DELETE FROM mail_outbox_payloads WHERE id = ?").run(row.id);
      return;
    }
    // A 429 is the provider's limit, not this message's fault: the pace waits it out and it does not count.
    const limited = outcome.kind === "retry" && outcome.status === 429;
    const failures = limited ? row.failures : row.failures + 1;
    const giveUp = outcome.kind === "fail" || failures >= this.policy.maxFailures;
    if (giveUp) {
      const reason = outcome.kind === "fail" ? outcome.error : `gave up after ${failures} failures; last: ${outcome.error}`;
      const failed = db
        .query(`UPDATE mail_outbox SET status = 'failed', failures = ?, last_error = ?, lease_until = NULL, updated_at = ? ${OURS}`)
        .run(failures, reason, now, row.id, row.attempts);
      if (failed.changes === 0) return;
      attempt("failed", outcome.status, outcome.error);
      log.warn("mail: a message failed", { id: row.id, error: reason });
      return;
    }
    const delay = limited ? (outcome.retryAfterMs ?? 1000) : backoffMs(this.policy, failures);
    const queued = db
      .query(
        `UPDATE mail_outbox SET status = 'queued', failures = ?, last_error = ?, next_attempt_at = ?, lease_until = NULL, updated_at = ? ${OURS}`,
      )
      .run(failures, outcome.error, now + delay, now, row.id, row.attempts);
    if (queued.changes > 0) attempt("retry", outcome.status, outcome.error);
  }
}
