// Token buckets per key (a client hash or a site), refilled continuously:
// `perMinute` tokens a minute, at most `perMinute` saved up. Memory is
// bounded: past `maxKeys`, full buckets go first (a full bucket is the same as
// none), then the oldest.
export class RateLimiter {
  private buckets = new Map<string | number, { tokens: number; at: number }>();

  constructor(
    readonly perMinute: number,
    private readonly maxKeys = 10_000,
  ) {}

  /** 0 when the key may go now (and takes a token), else milliseconds until it may. */
  take(key: string | number, now = Date.now()): number {
    const rate = this.perMinute / 60_000;
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= this.maxKeys) this.prune(now);
      b = { tokens: this.perMinute, at: now };
      this.buckets.set(key, b);
    }
    b.tokens = Math.min(this.perMinute, b.tokens + (now - b.at) * rate);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - b.tokens) / rate);
  }

  get size(): number {
    return this.buckets.size;
  }

  private prune(now: number): void {
    const rate = this.perMinute / 60_000;
    for (const [k, b] of this.buckets) if (b.tokens + (now - b.at) * rate >= this.perMinute) this.buckets.delete(k);
    // Still full: drop the oldest tenth at once, so a flood of new keys does not prune on every request.
    let drop = this.buckets.size >= this.maxKeys ? Math.ceil(this.maxKeys / 10) : 0;
    for (const k of this.buckets.keys()) {
      if (drop-- <= 0) break;
      this.buckets.delete(k);
    }
  }
}
