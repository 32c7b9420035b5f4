// Named locks in the `locks` table, shared by every process on the database:
// a row names its owner and an expiry; the holder extends the expiry while it
// holds the lock, so a crashed holder's lock goes stale and is taken over.
import type { Store } from "../db/index.ts";
import { randomId } from "../core/ids.ts";
import { systemClock, type Clock } from "../core/clock.ts";

export const DEFAULT_LOCK_TTL_MS = 60_000;

export class Locks {
  /** Unique per process and Locks instance. */
  readonly owner = `${process.pid}-${randomId(8)}`;
  private held = new Set<string>();
  private keepAlive: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly db: Store,
    readonly ttlMs = DEFAULT_LOCK_TTL_MS,
    /** The time expiries are written and judged by; how long acquire() waits is real time. */
    private readonly clock: Clock = systemClock,
  ) {}

  /** Take the lock if free, stale (expired) or already ours. */
  tryAcquire(name: string): boolean {
    const now = this.clock();
    const taken = this.db.tx(() => {
      const row = this.db.write.query("SELECT owner, expires_at FROM locks WHERE name = ?").get(name) as {
        owner: string;
        expires_at: number;
      } | null;
      if (row && row.owner !== this.owner && row.expires_at > now) return false;
      this.db.write
        .query(
          "INSERT INTO locks (name, owner, expires_at) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at",
        )
        .run(name, this.owner, now + this.ttlMs);
      return true;
    });
    if (taken) this.hold(name);
    return taken;
  }

  /** Wait for the lock (polling), or give up after timeoutMs. */
  async acquire(name: string, timeoutMs = this.ttlMs * 3): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let wait = 100;
    while (!this.tryAcquire(name)) {
      if (Date.now() >= deadline) throw new Error(`lock ${name} is busy`);
      await Bun.sleep(wait);
      wait = Math.min(wait * 2, Math.max(250, this.ttlMs / 4));
    }
  }

  release(name: string): void {
    this.held.delete(name);
    if (this.held.size === 0) this.stopKeepAlive();
    this.db.write.query("DELETE FROM locks WHERE name = ? AND owner = ?").run(name, this.owner);
  }

  async withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    await this.acquire(name);
    try {
      return await fn();
    } finally {
      this.release(name);
    }
  }

  /** Release every lock this instance holds. */
  releaseAll(): void {
    for (const name of [...this.held]) this.release(name);
  }

  private hold(name: string): void {
    this.held.add(name);
    if (this.keepAlive) return;
    this.keepAlive = setInterval(() => this.extend(), Math.max(50, this.ttlMs / 3));
    this.keepAlive.unref(); // a held lock never keeps the process alive
  }

  private extend(): void {
    const expires = this.clock() + this.ttlMs;
    const q = this.db.write.query("UPDATE locks SET expires_at = ? WHERE name = ? AND owner = ?");
    for (const name of this.held) {
      // Lost it (taken over after we stalled past the expiry): stop claiming it.
      if (q.run(expires, name, this.owner).changes === 0) this.held.delete(name);
    }
    if (this.held.size === 0) this.stopKeepAlive();
  }

  private stopKeepAlive(): void {
    if (this.keepAlive) clearInterval(this.keepAlive);
    this.keepAlive = null;
  }
}
