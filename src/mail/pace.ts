// How fast the provider may be called. Resend limits API calls per team (2 a
// second unless raised) and answers 429 past it; a 429 costs a Retry-After
// pause, so the workers pace themselves at the limit instead of learning it
// from refusals. The rate is --mail-provider-rate when given, otherwise what
// the provider announces in its `ratelimit-limit` header (2 until it does).
// A 429 pauses every call for its Retry-After. (`ratelimit-remaining: 0` is
// not a pause: at the pace it is normal at the end of each window, and its
// `ratelimit-reset` is in whole seconds.) One ProviderPace is shared by
// everything that calls the API.

/** Resend's documented default, used until the provider says otherwise. */
export const DEFAULT_PROVIDER_RATE = 2;
/**
 * The outbox claims a tick's worth of sends in one transaction (batched
 * commits), and the sends then go out evenly spaced at the rate: no bursts at
 * the provider, and the work they cause is spread thinly over the tick.
 */
const ROWS_PER_TICK = 10;
const MIN_TICK_MS = 5;
const MAX_TICK_MS = 100;
/** Most calls a second, whatever a header claims (a hostile or broken answer cannot make us flood). */
const MAX_RATE = 10_000;
/** Longest pause: claimed sends wait it out holding their leases (2 minutes), so a huge Retry-After is not obeyed whole. */
const MAX_PAUSE_MS = 60_000;

export class ProviderPace {
  /** The earliest time the next call may start: each call reserves the slot after the previous one. */
  private nextAt = 0;
  private pausedUntil = 0;
  private perSecondNow: number;

  constructor(
    /** --mail-provider-rate: fixed by the operator; null to follow the provider's header. */
    private readonly configured: number | null,
    private readonly now: () => number = Date.now,
    private readonly onLearned: (perSecond: number) => void = () => {},
  ) {
    this.perSecondNow = configured ?? DEFAULT_PROVIDER_RATE;
  }

  get perSecond(): number {
    return this.perSecondNow;
  }

  /** How often the outbox claims its next sends at this rate. */
  get tickMs(): number {
    return Math.min(MAX_TICK_MS, Math.max(MIN_TICK_MS, (1000 * ROWS_PER_TICK) / this.perSecondNow));
  }

  /**
   * Calls that can start within the next two ticks, beyond those already
   * waiting for their slot (0 while paused): slots are reserved a tick ahead,
   * so a tick that fires late loses none of the rate.
   */
  turnsAhead(): number {
    const now = this.now();
    if (now < this.pausedUntil) return 0;
    const free = now + 2 * this.tickMs - Math.max(now, this.nextAt);
    return Math.max(0, Math.ceil((free * this.perSecondNow) / 1000));
  }

  /** Ms until calls may start again (0: not paused). */
  pausedMs(): number {
    return Math.max(0, this.pausedUntil - this.now());
  }

  /** Reserves the next slot: the time (epoch ms) a call may start. */
  reserve(): number {
    const at = Math.max(this.now(), this.nextAt, this.pausedUntil);
    this.nextAt = at + 1000 / this.perSecondNow;
    return at;
  }

  /** Waits for this call's slot (after a pause, if one began meanwhile). */
  async acquire(): Promise<void> {
    for (;;) {
      const wait = this.reserve() - this.now();
      if (wait > 0) await Bun.sleep(wait);
      if (this.now() >= this.pausedUntil) return;
    }
  }

  /** No call before `ms` from now (a 429's Retry-After). */
  pause(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, this.now() + Math.min(ms, MAX_PAUSE_MS));
  }

  /** The limit an answer announces: the rate to pace to, unless the operator set one. */
  observe(headers: Record<string, string> | null): void {
    if (!headers || this.configured !== null) return;
    const limit = perSecondFrom(headers["ratelimit-limit"], headers["ratelimit-policy"]);
    if (limit !== null && limit !== this.perSecondNow) {
      this.perSecondNow = limit;
      this.onLearned(limit);
    }
  }
}

/** `ratelimit-limit: 10` with an optional `ratelimit-policy: 10;w=1` (IETF draft): calls per second, or null. */
function perSecondFrom(limit: string | undefined, policy: string | undefined): number | null {
  const n = Number.parseInt(limit ?? "", 10);
  if (!Number.isFinite(n) || n <= 0) return null;
  const w = /;\s*w=(\d+)/.exec(policy ?? "");
  const window = w ? Number(w[1]) : 1;
  if (window <= 0) return null;
  return Math.min(MAX_RATE, n / window);
}
