// A long job on the event loop (reading a deploy's archive) runs as a chain of
// promise continuations: data that is already there resolves the next await at
// once, so the chain never returns to the event loop by itself and a request
// arriving meanwhile waits for all of it. A Breather gives the loop a turn
// whenever its job has held the thread for a slice.

/** A turn of the event loop: pending I/O runs before this resolves (setImmediate). */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** How long a job may hold the event loop before it lets pending I/O run. */
export const SLICE_MS = 5;

export class Breather {
  private since = performance.now();

  constructor(private readonly sliceMs = SLICE_MS) {}

  /** Resolves at once within the slice; past it, after the event loop has polled I/O (setImmediate). */
  breathe(): Promise<void> | undefined {
    if (performance.now() - this.since < this.sliceMs) return undefined;
    return nextTurn().then(() => {
      this.since = performance.now();
    });
  }
}
