// The hot path's side of analytics: record() only appends to a bounded
// in-memory buffer. A background flusher writes the buffer in batches
// (every interval, or sooner once a batch is full), one transaction per
// batch, yielding to the event loop between batches so serving never waits
// long. When the buffer is full, hits are dropped and counted, never queued.
import { log } from "../log/index.ts";
import type { Hit } from "./writer.ts";

export interface RecorderOptions {
  /** Most hits held in memory; past this, hits are dropped (and counted). */
  capacity: number;
  /** Most hits per write transaction; a full batch triggers a flush. */
  batchSize: number;
  /** Longest a hit waits in memory before it is written (ms). */
  intervalMs: number;
}

export const DEFAULT_RECORDER: RecorderOptions = { capacity: 50_000, batchSize: 500, intervalMs: 1000 };

export type BatchSink = (batch: readonly Hit[]) => void;

export class Recorder {
  private buffer: Hit[] = [];
  /** Hits the running flush took off the buffer; those before inFlightAt are written. */
  private inFlight: Hit[] = [];
  private inFlightAt = 0;
  private timer: ReturnType<typeof setInterval> | null = null;
  private flushing = false;
  private soon = false;
  private closed = false;
  /** Hits dropped because the buffer was full, or lost with a failed write. */
  dropped = 0;
  /** Hits handed to the sink successfully. */
  written = 0;
  /** How long the last batch write took, and the longest so far (ms). */
  lastWriteMs = 0;
  maxWriteMs = 0;
  /** Time spent writing batches since start (ms): the event loop's share of analytics. */
  totalWriteMs = 0;

  constructor(
    private readonly sink: BatchSink,
    readonly options: RecorderOptions = DEFAULT_RECORDER,
  ) {}

  /** Hits in memory, waiting to be written. */
  get buffered(): number {
    return this.buffer.length + this.inFlight.length - this.inFlightAt;
  }

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.options.intervalMs);
    this.timer.unref?.();
  }

  /** The request path: O(1), never blocks, never grows past capacity. */
  record(hit: Hit): void {
    if (this.closed || this.buffered >= this.options.capacity) {
      this.dropped++;
      return;
    }
    this.buffer.push(hit);
    if (this.buffer.length >= this.options.batchSize && !this.soon && !this.flushing) {
      this.soon = true;
      setImmediate(() => void this.flush());
    }
  }

  /** Write everything buffered now, a batch per transaction, yielding between batches. */
  async flush(): Promise<void> {
    this.soon = false;
    if (this.flushing || this.buffer.length === 0) return;
    this.flushing = true;
    this.inFlight = this.buffer;
    this.inFlightAt = 0;
    this.buffer = [];
    try {
      while (this.inFlightAt < this.inFlight.length) {
        if (this.inFlightAt > 0) await new Promise<void>((r) => setImmediate(r));
        if (this.closed) return; // close() wrote the rest
        const batch = this.inFlight.slice(this.inFlightAt, this.inFlightAt + this.options.batchSize);
        if (!this.writeBatch(batch)) return this.requeue(this.inFlight.slice(this.inFlightAt));
        this.inFlightAt += batch.length;
      }
    } finally {
      this.inFlight = [];
      this.inFlightAt = 0;
      this.flushing = false;
    }
  }

  /** Shutdown: stop taking hits and write all that are buffered, synchronously. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    // A flush paused between batches still holds its unwritten rest: write that first, in order.
    const rest = this.inFlight.slice(this.inFlightAt).concat(this.buffer);
    this.inFlight = [];
    this.inFlightAt = 0;
    this.buffer = [];
    for (let i = 0; i < rest.length; i += this.options.batchSize) {
      if (!this.writeBatch(rest.slice(i, i + this.options.batchSize))) {
        this.dropped += rest.length - i;
        log.error("analytics: events lost at shutdown", { events: rest.length - i });
        return;
      }
    }
  }

  private requeue(hits: Hit[]): void {
    const kept = hits.slice(0, Math.max(0, this.options.capacity - this.buffer.length));
    this.dropped += hits.length - kept.length;
    this.buffer = kept.concat(this.buffer);
  }

  private writeBatch(batch: readonly Hit[]): boolean {
    const t0 = performance.now();
    try {
      this.sink(batch);
      this.written += batch.length;
      return true;
    } catch (err) {
      log.warn("analytics: batch write failed; will retry", { err: err as Error, events: batch.length });
      return false;
    } finally {
      this.lastWriteMs = performance.now() - t0;
      this.totalWriteMs += this.lastWriteMs;
      if (this.lastWriteMs > this.maxWriteMs) this.maxWriteMs = this.lastWriteMs;
    }
  }
}
