// Retry timing shared by the outbox sender and the inbound fetcher, with the
// knobs tests turn down (environment variables, not flags: nobody tunes them).
export interface RetryPolicy {
  /** First back-off; each further failure doubles it, up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Failures (5xx, no answer) before giving up. */
  maxFailures: number;
  /** How long a claimed row is ours; an expired lease means its process died. */
  leaseMs: number;
  /** Timeout of one provider call; below the lease so a live sender never loses its row. */
  timeoutMs: number;
  /** How often due rows are looked for when nothing wakes the worker. */
  pollMs: number;
}

function envMs(name: string, fallback: number): number {
  const n = Number(process.env[name]);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

export function retryPolicy(): RetryPolicy {
  const leaseMs = envMs("FAZT_MAIL_LEASE_MS", 120_000);
  return {
    baseDelayMs: envMs("FAZT_MAIL_RETRY_BASE_MS", 2_000),
    maxDelayMs: envMs("FAZT_MAIL_RETRY_MAX_MS", 15 * 60_000),
    maxFailures: envMs("FAZT_MAIL_MAX_FAILURES", 8),
    leaseMs,
    timeoutMs: Math.min(envMs("FAZT_MAIL_TIMEOUT_MS", 30_000), Math.floor(leaseMs / 2)),
    pollMs: envMs("FAZT_MAIL_POLL_MS", 1_000),
  };
}

/** Exponential back-off with jitter: between half and all of base * 2^(failures-1). */
export function backoffMs(policy: RetryPolicy, failures: number): number {
  const full = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, failures - 1));
  return Math.round(full / 2 + (Math.random() * full) / 2);
}
