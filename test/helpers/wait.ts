// The one way tests wait for something another process or a background task
// does: poll a condition with a bound, and fail naming what was awaited.
// Never a fixed sleep: a loaded machine only makes the wait longer, not flaky.

export interface WaitOptions {
  /** What is awaited, for the failure message ("the br variant of /"); a function is asked only on failure (to show state). */
  what: string | (() => string);
  /** Give up after this long (ms). */
  timeoutMs: number;
  /** Pause between polls (ms); 20 unless told. */
  everyMs?: number;
}

/**
 * Resolve with cond's first truthy value; reject after timeoutMs with a message
 * naming `what` and the last value seen. An exception from cond ends the wait at once.
 */
export async function waitFor<T>(cond: () => T | Promise<T>, opts: WaitOptions): Promise<NonNullable<T>> {
  const started = Date.now();
  let last: T;
  for (;;) {
    last = await cond();
    if (last) return last as NonNullable<T>;
    if (Date.now() - started >= opts.timeoutMs) break;
    await Bun.sleep(opts.everyMs ?? 20);
  }
  const what = typeof opts.what === "function" ? opts.what() : opts.what;
  throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${what}; last seen: ${show(last)}`);
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}
